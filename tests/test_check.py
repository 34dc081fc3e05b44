import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from autowebinar_wp import create_app
from autowebinar_wp.cli import main
from autowebinar_wp.db import make_engine
from tests.support import clear_config_env

SECRET = "c" * 40


def run_check(monkeypatch, tmp_path, url: str | None, **env):
    clear_config_env(monkeypatch)
    monkeypatch.setenv("AUTOWEBINAR_EMBED_SECRET", SECRET)
    monkeypatch.setenv("AUTOWEBINAR_INSTANCE_PATH", str(tmp_path / "instance"))
    if url:
        monkeypatch.setenv("AUTOWEBINAR_DATABASE_URL", url)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return CliRunner().invoke(main, ["check"])


def other_database(mysql_url: str, suffix: str) -> str:
    url = make_url(mysql_url)
    name = f"{url.database}_{suffix}"
    engine = make_engine(mysql_url)
    with engine.begin() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))
        conn.execute(text(f"CREATE DATABASE `{name}`"))
    engine.dispose()
    return url.set(database=name).render_as_string(hide_password=False)


@pytest.mark.mysql
def test_check_on_a_good_database(mysql_backend, monkeypatch, tmp_path) -> None:
    result = run_check(monkeypatch, tmp_path, mysql_backend.url)
    assert result.exit_code == 0, result.output
    for line in ("[ ok ] connected", "[ ok ] table wp_usermeta", "[ ok ] indexes on wp_usermeta",
                 "[ ok ] SELECT privilege",
                 "[ ok ] INSERT privilege", "[ ok ] UPDATE privilege", "All checks passed"):
        assert line in result.output


@pytest.mark.mysql
def test_check_without_the_table(mysql_backend, monkeypatch, tmp_path) -> None:
    url = other_database(mysql_backend.url, "empty")
    result = run_check(monkeypatch, tmp_path, url)
    assert result.exit_code == 1
    assert "[FAIL] table wp_usermeta: not found" in result.output
    # and nothing was created there by check, nor by starting the app
    create_app({"DATABASE_URL": url, "EMBED_SECRET": SECRET},
               instance_path=str(tmp_path / "i2"))
    engine = make_engine(url)
    with engine.connect() as conn:
        assert inspect(conn).get_table_names() == []
    engine.dispose()


@pytest.mark.mysql
def test_check_with_a_wrong_prefix(mysql_backend, monkeypatch, tmp_path) -> None:
    result = run_check(monkeypatch, tmp_path, mysql_backend.url, AUTOWEBINAR_TABLE_PREFIX="wp2_")
    assert result.exit_code == 1
    assert "table wp2_usermeta: not found" in result.output


@pytest.mark.mysql
def test_check_with_a_user_without_privileges(mysql_backend, monkeypatch, tmp_path) -> None:
    url = make_url(mysql_backend.url)
    with mysql_backend.engine.begin() as conn:
        conn.execute(text("DROP USER IF EXISTS 'aw_readonly'@'%'"))
        conn.execute(text("CREATE USER 'aw_readonly'@'%' IDENTIFIED BY 'ro-pass'"))
        conn.execute(text(f"GRANT SELECT ON `{url.database}`.`wp_usermeta` TO 'aw_readonly'@'%'"))
    try:
        limited = url.set(username="aw_readonly", password="ro-pass")
        result = run_check(monkeypatch, tmp_path, limited.render_as_string(hide_password=False))
    finally:
        with mysql_backend.engine.begin() as conn:
            conn.execute(text("DROP USER IF EXISTS 'aw_readonly'@'%'"))
    assert result.exit_code == 1
    assert "[ ok ] SELECT privilege" in result.output
    assert "[FAIL] INSERT privilege on wp_usermeta" in result.output
    assert "[FAIL] UPDATE privilege on wp_usermeta" in result.output
    assert "ro-pass" not in result.output


def test_check_unreachable_database(monkeypatch, tmp_path) -> None:
    result = run_check(monkeypatch, tmp_path, "mysql+pymysql://nobody:secret@127.0.0.1:1/none")
    assert result.exit_code == 1
    assert "[FAIL] connect to the database" in result.output
    assert "secret" not in result.output
    assert "Traceback" not in result.output


def test_check_reports_config_problems(monkeypatch, tmp_path) -> None:
    result = run_check(monkeypatch, tmp_path, None, AUTOWEBINAR_EMBED_SECRET="")
    assert result.exit_code == 1
    assert "[FAIL] configuration: EMBED_SECRET is not set" in result.output


def test_check_embedded_sqlite(monkeypatch, tmp_path) -> None:
    create_app({"EMBED_SECRET": SECRET}, instance_path=str(tmp_path / "instance"))
    result = run_check(monkeypatch, tmp_path, None)
    assert result.exit_code == 0, result.output
    assert "embedded mode" in result.output
    assert "[ ok ] autowebinar rows: 0 rows, 0 users with a session" in result.output


@pytest.mark.mysql
@pytest.mark.parametrize(("change", "named"), [
    ("DROP INDEX meta_key", "meta_key"),
    ("RENAME INDEX user_id TO by_user", "user_id"),  # the admin's FORCE INDEX names it
])
def test_check_reports_a_missing_wordpress_index(mysql_backend, monkeypatch, tmp_path, change,
                                                 named) -> None:
    from tests.wordpress_fixtures import WP_USERMETA_DDL

    url = other_database(mysql_backend.url, "noindex")
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS wp_usermeta"))
        conn.execute(text(WP_USERMETA_DDL.format(prefix="wp_")))
        conn.execute(text(f"ALTER TABLE wp_usermeta {change}"))
    engine.dispose()
    result = run_check(monkeypatch, tmp_path, url)
    assert result.exit_code == 1
    assert "[FAIL] indexes on wp_usermeta" in result.output and named in result.output


def test_check_describes_the_live_schedule_and_rows(monkeypatch, tmp_path) -> None:
    """The live module: its schedule, its link secret, and its rows beside AutoWebinar's."""
    from datetime import UTC, datetime

    from tests.live.support import live_table

    instance = tmp_path / "instance"
    app = create_app({"EMBED_SECRET": SECRET}, instance_path=str(instance))
    engine = make_engine(app.config["DATABASE_URL"] or f"sqlite:///{instance}/autowebinar.sqlite3")
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO wp_usermeta (user_id, meta_key, meta_value) VALUES "
                          "(5, 'livewebinar_slot_id', 'soon'), (5, 'livewebinar_slot_id', 'x'),"
                          " (6, 'livewebinar_slot_id', 'soon'), (6, 'livewebinar_future', '1')"))
    engine.dispose()
    config = tmp_path / "live.toml"
    table = live_table(datetime.now(UTC))
    config.write_text("[live]\n" + "\n".join(
        f"{k} = {v!r}".replace("True", "true") for k, v in table.items()
        if k not in ("slots", "schedules")) + '\n[[live.slots]]\nid = "a"\n'
        'starts_at = "2099-01-01T10:00:00"\n')
    result = run_check(monkeypatch, tmp_path, None, AUTOWEBINAR_CONFIG=str(config))
    assert result.exit_code == 0, result.output
    assert ("[ ok ] live webinars: 1 one-off slot(s), 0 recurring rule(s) in Europe/Berlin; "
            "next: a at 2099-01-01 09:00 UTC") in result.output
    assert "[warn] live tracking links: LIVE_LINK_SECRET is not set" in result.output
    assert "[ ok ] livewebinar rows: 4 rows, 2 users registered for a live slot" in result.output
    assert "[warn] duplicate livewebinar rows: 1 (user, key) pairs" in result.output
    assert "[warn] unknown livewebinar_* keys: 1 rows" in result.output
    off = run_check(monkeypatch, tmp_path, None)
    assert "[ ok ] live webinars: off: no [live] slots or schedules configured" in off.output
