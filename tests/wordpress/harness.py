"""A real, private WordPress site for the plugin tests: Debian's WordPress, our plugin, MariaDB.

Nothing global is touched. The site lives in a temporary directory:

* ``docroot/`` - ``wp-admin`` and ``wp-includes`` hard-linked from ``/usr/share/wordpress``
  (copied when hard links are impossible), the top-level PHP files copied, and our own
  ``wp-config.php``. It cannot be a symlink farm: PHP resolves symlinks in ``__FILE__``, so
  ``wp-load.php`` would find Debian's ``wp-config.php`` (which reads ``/etc/wordpress``).
* ``docroot/wp-content/`` - the theme symlinked from Debian's package, the plugin symlinked
  from this repository, and a must-use plugin that stubs ``wp_mail``.
* the database ``autowebinar_wp_site`` (``AUTOWEBINAR_TEST_WP_DB``) on the server of
  ``AUTOWEBINAR_TEST_MYSQL_URL``, dropped and recreated for every session.

WordPress is installed with ``wp_install()`` from php-cli and served by ``php -S`` on a free
port; it never reaches the internet (``WP_HTTP_BLOCK_EXTERNAL``, no cron, no updater).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from tests.wordpress_fixtures import foreign_checksum

REPO = Path(__file__).resolve().parents[2]
PLUGIN_DIR = REPO / "wordpress-plugin" / "autowebinar"
PLUGIN_FILE = "autowebinar/autowebinar.php"
WP_SOURCE = Path(os.environ.get("AUTOWEBINAR_WP_SOURCE", "/usr/share/wordpress"))
THEME = "twentytwentythree"
SITE_DB = os.environ.get("AUTOWEBINAR_TEST_WP_DB", "autowebinar_wp_site")
PREFIX = "wp_"
# Europe/Moscow has been UTC+3 all year since 2014: displayed times are stored UTC + 3 h.
TIMEZONE = "Europe/Moscow"
TIMEZONE_OFFSET_HOURS = 3
TOKEN_TTL = 600
MARKER = "@@AUTOWEBINAR-HARNESS-RESULT@@"
PHP_TIMEOUT = 60

# The subscribers the tests use; each test family gets its own so that tests stay independent.
SUBSCRIBERS = (
    "viewer", "fresh", "meta", "done", "cache", "e2e", "nowrite", "privacy", "live", "bench",
)
ADMIN = "awadmin"


class HarnessUnavailable(Exception):
    """A prerequisite (PHP, WordPress, MariaDB) is missing on this machine."""


class PHPError(Exception):
    """A PHP snippet failed; carries its output."""


@dataclass(frozen=True)
class User:
    login: str
    password: str
    id: int
    role: str


@dataclass
class WordPressSite:
    root: Path
    url: str
    port: int
    db_url: str
    engine: Engine
    secret: str
    sidecar_port: int
    users: dict[str, User]
    pages: dict[str, int]
    debug_log: Path
    server_log: Path
    server: subprocess.Popen[bytes] | None = None
    clients: list[httpx.Client] = field(default_factory=list)

    @property
    def docroot(self) -> Path:
        return self.root / "docroot"

    @property
    def sidecar_url(self) -> str:
        return f"http://127.0.0.1:{self.sidecar_port}"

    @property
    def admin(self) -> User:
        return self.users[ADMIN]

    def page_url(self, name: str) -> str:
        return f"{self.url}/?page_id={self.pages[name]}"

    # --- PHP inside WordPress -------------------------------------------------------------

    def php(self, body: str, *, admin: bool = False, env: Mapping[str, str] | None = None) -> Any:
        """Run `body` (the body of a PHP function) inside WordPress; return its JSON result.

        `admin=True` defines WP_ADMIN first, so is_admin() is true and the plugin loads its
        admin classes, as it does under wp-admin.
        """
        script = self.root / "php" / f"snippet-{uuid.uuid4().hex}.php"
        script.parent.mkdir(exist_ok=True)
        script.write_text(
            "<?php\n"
            + ("define( 'WP_ADMIN', true );\n" if admin else "")
            + _server_globals(self.port)
            + f"require {php_str(str(self.docroot / 'wp-load.php'))};\n"
            + "$__result = ( function () {\n"
            + body
            + "\n} )();\n"
            + f"echo \"\\n{MARKER}\" . wp_json_encode( $__result );\n"
        )
        try:
            return run_php(script, env=env)
        finally:
            script.unlink()

    # --- HTTP -----------------------------------------------------------------------------

    def client(self) -> httpx.Client:
        """A cookie-keeping HTTP client for the site (closed at the end of the session)."""
        client = httpx.Client(base_url=self.url, follow_redirects=False, timeout=30)
        self.clients.append(client)
        return client

    def login(self, login: str) -> httpx.Client:
        """Log in through wp-login.php, as a browser does; return the client with the cookies."""
        user = self.users[login]
        client = self.client()
        client.get("/wp-login.php")  # sets wordpress_test_cookie, which the POST must carry
        response = client.post(
            "/wp-login.php",
            data={
                "log": user.login,
                "pwd": user.password,
                "wp-submit": "Log In",
                "redirect_to": f"{self.url}/wp-admin/",
                "testcookie": "1",
            },
        )
        if response.status_code != 302 or not any(
            name.startswith("wordpress_logged_in_") for name in client.cookies
        ):
            raise AssertionError(
                f"login as {login} failed: HTTP {response.status_code}\n{response.text[:2000]}"
            )
        return client

    # --- The database ---------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """Checksums of every table, where wp_usermeta counts only non-autowebinar_ rows."""
        with self.engine.connect() as conn:
            tables = sorted(row[0] for row in conn.execute(text("SHOW TABLES")))
            others = [t for t in tables if t != f"{PREFIX}usermeta"]
            listed = ", ".join(f"`{t}`" for t in others)
            sums = {name: value for name, value in conn.execute(text(f"CHECKSUM TABLE {listed}"))}
            usermeta = foreign_checksum(conn, f"{PREFIX}usermeta")
        return {"tables": tables, "checksums": sums, "usermeta": usermeta}

    def sql(self, statement: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        with self.engine.begin() as conn:
            result = conn.execute(text(statement), dict(params or {}))
            return list(result) if result.returns_rows else []

    def write_meta_as_sidecar(self, user_id: int, values: Mapping[str, str]) -> None:
        """INSERT autowebinar_* or livewebinar_* rows into wp_usermeta, as the service does."""
        with self.engine.begin() as conn:
            for key, value in values.items():
                assert key.startswith(("autowebinar_", "livewebinar_"))
                conn.execute(
                    text(f"DELETE FROM {PREFIX}usermeta WHERE user_id = :u AND meta_key = :k"),
                    {"u": user_id, "k": key},
                )
                conn.execute(
                    text(
                        f"INSERT INTO {PREFIX}usermeta (user_id, meta_key, meta_value) "
                        "VALUES (:u, :k, :v)"
                    ),
                    {"u": user_id, "k": key, "v": value},
                )

    def new_debug_log(self, offset: int) -> str:
        if not self.debug_log.exists():
            return ""
        with self.debug_log.open("rb") as fh:
            fh.seek(offset)
            return fh.read().decode("utf-8", "replace")

    def debug_log_size(self) -> int:
        return self.debug_log.stat().st_size if self.debug_log.exists() else 0

    # --- Teardown -------------------------------------------------------------------------

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.clients.clear()
        stop_process_group(self.server)
        self.server = None
        self.engine.dispose()


# --- Building the site -------------------------------------------------------------------


def check_prerequisites() -> None:
    """Raise HarnessUnavailable unless php-cli with mysqli and WordPress are installed."""
    if shutil.which("php") is None:
        raise HarnessUnavailable("php-cli is not installed (apt-get install php-cli php-mysql)")
    probe = subprocess.run(
        ["php", "-r", "echo extension_loaded('mysqli') ? 'yes' : 'no';"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if probe.stdout.strip() != "yes":
        raise HarnessUnavailable("PHP's mysqli extension is missing (apt-get install php-mysql)")
    for part in ("wp-load.php", "wp-settings.php", "wp-admin", "wp-includes"):
        if not (WP_SOURCE / part).exists():
            raise HarnessUnavailable(f"WordPress is not installed in {WP_SOURCE} (no {part})")
    if not (WP_SOURCE / "wp-content" / "themes" / THEME).is_dir():
        raise HarnessUnavailable(f"the {THEME} theme is missing from {WP_SOURCE}")


def site_database_url(base_url: str) -> str:
    return make_url(base_url).set(database=SITE_DB).render_as_string(hide_password=False)


def recreate_database(base_url: str) -> None:
    """DROP and CREATE the site's database on the test server (raises HarnessUnavailable)."""
    server = make_url(base_url).set(database=None, query={"charset": "utf8mb4"})
    engine = create_engine(server)
    try:
        with engine.begin() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS `{SITE_DB}`"))
            conn.execute(
                text(
                    f"CREATE DATABASE `{SITE_DB}` "
                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci"
                )
            )
    except Exception as exc:
        raise HarnessUnavailable(f"MariaDB at {server.host}:{server.port}: {exc}") from exc
    finally:
        engine.dispose()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def link_tree(source: Path, target: Path) -> None:
    """Recreate `source` under `target` with hard links (copies across file systems).

    Symlinks inside Debian's tree (e.g. wp-includes/ID3 -> /usr/share/php/getid3) are
    resolved, so relative links keep working in the new place.
    """
    for directory, _dirs, files in os.walk(source, followlinks=True):
        relative = Path(directory).relative_to(source)
        (target / relative).mkdir(parents=True, exist_ok=True)
        for name in files:
            real = os.path.realpath(Path(directory) / name)
            destination = target / relative / name
            try:
                os.link(real, destination)
            except OSError:
                shutil.copy2(real, destination)


def build_docroot(root: Path) -> Path:
    docroot = root / "docroot"
    for part in ("wp-admin", "wp-includes"):
        link_tree(WP_SOURCE / part, docroot / part)
    for entry in WP_SOURCE.glob("*.php"):
        if entry.name != "wp-config.php":
            shutil.copy2(entry, docroot / entry.name)
    content = docroot / "wp-content"
    for sub in ("plugins", "themes", "mu-plugins", "uploads"):
        (content / sub).mkdir(parents=True, exist_ok=True)
    (content / "themes" / THEME).symlink_to(WP_SOURCE / "wp-content" / "themes" / THEME)
    (content / "plugins" / "autowebinar").symlink_to(PLUGIN_DIR)
    (content / "mu-plugins" / "autowebinar-test-harness.php").write_text(
        "<?php\n"
        "// Test harness only: this throwaway site must never send mail.\n"
        "function wp_mail() { return true; }\n"
    )
    return docroot


def php_str(value: str) -> str:
    """A PHP single-quoted string literal."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def wp_config(
    *, db_url: str, site_url: str, secret: str, sidecar_url: str, debug_log: Path | None
) -> str:
    """The site's wp-config.php; `debug_log=None` leaves WP_DEBUG off (bench/wordpress.py)."""
    url = make_url(db_url)
    host = f"{url.host or '127.0.0.1'}:{url.port or 3306}"
    defines: list[tuple[str, str]] = [
        ("DB_NAME", php_str(url.database or "")),
        ("DB_USER", php_str(url.username or "root")),
        ("DB_PASSWORD", php_str(url.password or "")),
        ("DB_HOST", php_str(host)),
        ("DB_CHARSET", "'utf8mb4'"),
        ("DB_COLLATE", "''"),
    ]
    for salt in ("AUTH_KEY", "SECURE_AUTH_KEY", "LOGGED_IN_KEY", "NONCE_KEY", "AUTH_SALT",
                 "SECURE_AUTH_SALT", "LOGGED_IN_SALT", "NONCE_SALT"):
        defines.append((salt, php_str(secrets.token_hex(32))))
    defines += [
        ("WP_HOME", php_str(site_url)),
        ("WP_SITEURL", php_str(site_url)),
        ("WP_ENVIRONMENT_TYPE", "'local'" if debug_log is not None else "'production'"),
    ]
    if debug_log is not None:
        defines += [
            ("WP_DEBUG", "true"),
            ("WP_DEBUG_LOG", php_str(str(debug_log))),
            ("WP_DEBUG_DISPLAY", "false"),
        ]
    defines += [
        # Offline: no calls to wordpress.org, no cron, no updates, no file changes.
        ("WP_HTTP_BLOCK_EXTERNAL", "true"),
        ("WP_ACCESSIBLE_HOSTS", "'127.0.0.1,localhost'"),
        ("DISABLE_WP_CRON", "true"),
        ("AUTOMATIC_UPDATER_DISABLED", "true"),
        ("WP_AUTO_UPDATE_CORE", "false"),
        ("DISALLOW_FILE_MODS", "true"),
    ]
    lines = ["<?php", "// Generated by tests/wordpress/harness.py for a throwaway test site."]
    lines += [f"define( '{name}', {value} );" for name, value in defines]
    lines += [
        f"$table_prefix = '{PREFIX}';",
        "",
        "// The plugin's configuration, as a site owner writes it. Tests may run php-cli with",
        "// AUTOWEBINAR_TEST_UNCONFIGURED=1 to see the plugin without it.",
        "if ( ! getenv( 'AUTOWEBINAR_TEST_UNCONFIGURED' ) ) {",
        f"\tdefine( 'AUTOWEBINAR_SIDECAR_URL', {php_str(sidecar_url)} );",
        f"\tdefine( 'AUTOWEBINAR_EMBED_SECRET', {php_str(secret)} );",
        f"\tdefine( 'AUTOWEBINAR_TOKEN_TTL', {TOKEN_TTL} );",
        "}",
        "",
        "if ( ! defined( 'ABSPATH' ) ) {",
        "\tdefine( 'ABSPATH', __DIR__ . '/' );",
        "}",
        "require_once ABSPATH . 'wp-settings.php';",
        "",
    ]
    return "\n".join(lines)


def _server_globals(port: int) -> str:
    """$_SERVER entries WordPress reads that php-cli does not set."""
    return (
        f"$_SERVER['HTTP_HOST'] = '127.0.0.1:{port}';\n"
        "$_SERVER['SERVER_NAME'] = '127.0.0.1';\n"
        f"$_SERVER['SERVER_PORT'] = '{port}';\n"
        "$_SERVER['REQUEST_URI'] = '/';\n"
        "$_SERVER['REQUEST_METHOD'] = 'GET';\n"
    )


def run_php(
    script: Path, *args: str, env: Mapping[str, str] | None = None, timeout: float = PHP_TIMEOUT
) -> Any:
    proc = subprocess.run(
        ["php", "-d", "display_errors=stderr", str(script), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
        check=False,
    )
    head, sep, tail = proc.stdout.rpartition(MARKER)
    if proc.returncode != 0 or not sep:
        raise PHPError(
            f"php {script.name} exited {proc.returncode}\n--- stdout\n{proc.stdout[-4000:]}"
            f"\n--- stderr\n{proc.stderr[-4000:]}"
        )
    return json.loads(tail)


INSTALL_PHP = r"""<?php
// Installs the test site. Argument: a JSON file with the site, the users and the pages.
define( 'WP_INSTALLING', true );
%(server_globals)s
require %(wp_load)s;
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

$spec   = json_decode( file_get_contents( $argv[1] ), true );
$admin  = $spec['admin'];
$result = wp_install(
	'Plugin test site', $admin['login'], $admin['email'], false, '', wp_slash( $admin['password'] )
);
update_option( 'timezone_string', $spec['timezone'] );
update_option( 'show_avatars', '0' ); // Gravatar is on the internet, which this site cannot reach.
update_option( 'gmt_offset', '' );
update_option( 'blogdescription', 'A throwaway site for the plugin tests' );
switch_theme( $spec['theme'] );

$activated = activate_plugin( $spec['plugin'] );
if ( is_wp_error( $activated ) ) {
	fwrite( STDERR, $activated->get_error_message() );
	exit( 1 );
}

$users = array( $admin['login'] => (int) $result['user_id'] );
foreach ( $spec['subscribers'] as $user ) {
	$id = wp_insert_user(
		array(
			'user_login'   => $user['login'],
			'user_pass'    => $user['password'],
			'user_email'   => $user['email'],
			'display_name' => $user['display_name'],
			'role'         => 'subscriber',
		)
	);
	if ( is_wp_error( $id ) ) {
		fwrite( STDERR, $id->get_error_message() );
		exit( 1 );
	}
	$users[ $user['login'] ] = (int) $id;
	foreach ( $user['meta'] as $key => $value ) {
		update_user_meta( $id, $key, $value ); // Core's referral context, as Core stores it.
	}
}

// As the administrator, so that kses leaves the shortcodes alone.
wp_set_current_user( $users[ $admin['login'] ] );
$pages = array();
foreach ( $spec['pages'] as $name => $page ) {
	$pages[ $name ] = (int) wp_insert_post(
		array(
			'post_type'    => 'page',
			'post_status'  => 'publish',
			'post_title'   => $page['title'],
			'post_content' => $page['content'],
		),
		true
	);
}
echo "\n%(marker)s" . wp_json_encode( array( 'users' => $users, 'pages' => $pages ) );
"""

PAGES = {
    "webinar": {"title": "Webinar", "content": "[autowebinar]"},
    "fixed": {"title": "Webinar (fixed height)",
              "content": '[autowebinar height="360" class="my-webinar extra"]'},
    "live": {"title": "Live webinars", "content": "[autowebinar_live]"},
    "live-room": {"title": "Live webinar room",
                  "content": '[autowebinar_live view="room" class="my-room"]'},
}


def install(root: Path, docroot: Path, port: int) -> tuple[dict[str, User], dict[str, int]]:
    passwords = {name: secrets.token_urlsafe(18) for name in (ADMIN, *SUBSCRIBERS)}
    spec = {
        "admin": {"login": ADMIN, "email": "admin@example.org", "password": passwords[ADMIN]},
        "subscribers": [
            {
                "login": name,
                "password": passwords[name],
                "email": f"{name}@example.org",
                "display_name": f"Subscriber {name}",
                # Core's referral context for the end-to-end user; read-only for us.
                "meta": {"ref": "partner-7"} if name == "e2e" else {},
            }
            for name in SUBSCRIBERS
        ],
        "pages": PAGES,
        "timezone": TIMEZONE,
        "theme": THEME,
        "plugin": PLUGIN_FILE,
    }
    spec_file = root / "install.json"
    spec_file.write_text(json.dumps(spec))
    script = root / "install.php"
    script.write_text(
        INSTALL_PHP
        % {
            "server_globals": _server_globals(port),
            "wp_load": php_str(str(docroot / "wp-load.php")),
            "marker": MARKER,
        }
    )
    result = run_php(script, str(spec_file))
    users = {
        name: User(name, passwords[name], int(uid), "administrator" if name == ADMIN
                   else "subscriber")
        for name, uid in result["users"].items()
    }
    return users, {name: int(pid) for name, pid in result["pages"].items()}


def start_server(docroot: Path, port: int, log: Path) -> subprocess.Popen[bytes]:
    """`php -S` with a few workers, in its own process group so that it can be stopped whole."""
    with log.open("ab") as log_fh:
        proc = subprocess.Popen(
            ["php", "-d", "opcache.enable_cli=1", "-S", f"127.0.0.1:{port}", "-t", str(docroot)],
            cwd=docroot,
            stdout=log_fh,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PHP_CLI_SERVER_WORKERS": "4"},
            start_new_session=True,
        )
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"php -S exited with {proc.returncode}; see {log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc
        except OSError:
            time.sleep(0.05)
    stop_process_group(proc)
    raise RuntimeError(f"php -S did not listen on port {port}; see {log}")


def stop_process_group(proc: subprocess.Popen[bytes] | None) -> None:
    """Stop a server we started (and its forked workers) by its own process-group id."""
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def build_site(root: Path, mysql_url: str) -> WordPressSite:
    check_prerequisites()
    recreate_database(mysql_url)
    db_url = site_database_url(mysql_url)
    port, sidecar_port = free_port(), free_port()
    site_url = f"http://127.0.0.1:{port}"
    secret = secrets.token_urlsafe(48)
    debug_log = root / "debug.log"
    docroot = build_docroot(root)
    (docroot / "wp-config.php").write_text(
        wp_config(
            db_url=db_url,
            site_url=site_url,
            secret=secret,
            sidecar_url=f"http://127.0.0.1:{sidecar_port}",
            debug_log=debug_log,
        )
    )
    users, pages = install(root, docroot, port)
    engine = create_engine(make_url(db_url).update_query_dict({"charset": "utf8mb4"}))
    site = WordPressSite(
        root=root,
        url=site_url,
        port=port,
        db_url=db_url,
        engine=engine,
        secret=secret,
        sidecar_port=sidecar_port,
        users=users,
        pages=pages,
        debug_log=debug_log,
        server_log=root / "php-server.log",
    )
    site.server = start_server(docroot, port, site.server_log)
    return site


# --- Small helpers for the tests ----------------------------------------------------------

IFRAME_RE = re.compile(r"<iframe\b[^>]*>", re.IGNORECASE)
ATTR_RE = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)(?:\s*=\s*"([^"]*)")?')


def iframes(html_text: str) -> list[dict[str, str]]:
    """The attributes of every <iframe> tag (values HTML-unescaped)."""
    import html

    found = []
    for tag in IFRAME_RE.findall(html_text):
        attrs = {name.lower(): html.unescape(value or "")
                 for name, value in ATTR_RE.findall(tag[len("<iframe"):-1])}
        found.append(attrs)
    return found


def wp_datetime(stored_utc: str) -> str:
    """How WordPress shows a stored UTC datetime here: site timezone, 'F j, Y g:i a'."""
    from datetime import datetime, timedelta

    moment = datetime.strptime(stored_utc, "%Y-%m-%d %H:%M:%S") + timedelta(
        hours=TIMEZONE_OFFSET_HOURS
    )
    hour = moment.hour % 12 or 12
    ampm = "am" if moment.hour < 12 else "pm"
    return f"{moment:%B} {moment.day}, {moment.year} {hour}:{moment:%M} {ampm}"
