"""The plugin writes nothing to the database: no options, no transients, no user meta.

The one exception is the privacy eraser (WordPress's Erase Personal Data tool), which deletes
the user's autowebinar_* and livewebinar_* keys on an administrator's explicit request.
"""

from __future__ import annotations

import re

import httpx
import pytest

from tests.wordpress.harness import PLUGIN_DIR, WordPressSite

pytestmark = pytest.mark.wordpress

# Options WordPress itself fills with plugin names: the harness activating the plugin
# (active_plugins) and core's update bookkeeping on admin screens. None is the plugin's.
CORE_BOOKKEEPING = {
    "active_plugins",
    "recently_activated",
    "_site_transient_update_plugins",
    "_transient_plugin_slugs",
}

WRITE_QUERY = r"^\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|ALTER|DROP|TRUNCATE|RENAME)\b"


def test_no_option_rows_and_no_foreign_user_meta(
    wp_site: WordPressSite, admin_http: httpx.Client, viewer_http: httpx.Client, sidecar
) -> None:
    # Every screen the plugin draws, as every kind of user.
    wp_site.client().get(wp_site.page_url("webinar"))
    for page in ("webinar", "fixed"):
        assert viewer_http.get(wp_site.page_url(page)).status_code == 200
        assert admin_http.get(wp_site.page_url(page)).status_code == 200
    for path, params in [
        ("/wp-admin/admin.php", {"page": "autowebinar"}),
        ("/wp-admin/admin.php", {"page": "autowebinar-status"}),
        ("/wp-admin/users.php", {}),
        ("/wp-admin/profile.php", {}),
        ("/wp-admin/user-edit.php", {"user_id": wp_site.users["nowrite"].id}),
    ]:
        assert admin_http.get(path, params=params).status_code == 200
    assert viewer_http.get("/wp-admin/profile.php").status_code == 200

    options = wp_site.sql(
        "SELECT option_name FROM wp_options "
        "WHERE option_name LIKE '%autowebinar%' OR option_value LIKE '%autowebinar%'"
    )
    assert {name for (name,) in options} - CORE_BOOKKEEPING == set()

    # Only the sidecar's seven keys may exist, and only for users the tests gave a session.
    keys = wp_site.sql(
        "SELECT DISTINCT meta_key FROM wp_usermeta WHERE meta_key LIKE '%autowebinar%'"
    )
    assert {k for (k,) in keys} <= {
        "autowebinar_session_id", "autowebinar_started_at", "autowebinar_last_position_sec",
        "autowebinar_progress_percent", "autowebinar_completed", "autowebinar_cta_clicked_at",
        "autowebinar_last_seen_at",
    }
    untouched = [wp_site.users[name].id for name in ("nowrite", "fresh", "awadmin")]
    rows = wp_site.sql(
        "SELECT user_id, meta_key FROM wp_usermeta WHERE meta_key LIKE '%autowebinar%' "
        f"AND user_id IN ({', '.join(map(str, untouched))})"
    )
    assert rows == []
    assert not any("autowebinar" in name for (name,) in wp_site.sql("SHOW TABLES"))


def test_render_paths_issue_no_write_queries(wp_site: WordPressSite, sidecar) -> None:
    """Every plugin entry point, run inside WordPress with every SQL statement recorded."""
    viewer, admin, nowrite = (wp_site.users[n].id for n in ("viewer", "awadmin", "nowrite"))
    result = wp_site.php(
        f"""
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        require_once ABSPATH . 'wp-admin/includes/class-wp-list-table.php';
        require_once ABSPATH . 'wp-admin/includes/class-wp-users-list-table.php';
        $writes = array();
        $hooks  = array();
        add_filter( 'query', function ( $sql ) use ( &$writes ) {{
            if ( preg_match( '/{WRITE_QUERY}/i', $sql ) ) {{
                $writes[] = $sql;
            }}
            return $sql;
        }} );
        foreach ( array( 'add_option', 'update_option', 'delete_option', 'setted_transient',
                         'add_user_meta', 'update_user_meta', 'delete_user_meta' ) as $hook ) {{
            add_action( $hook, function () use ( &$hooks, $hook ) {{ $hooks[] = $hook; }} );
        }}

        $html = array();
        foreach ( array( 0, {viewer}, {admin} ) as $user ) {{
            wp_set_current_user( $user );
            $html[] = do_shortcode( '[autowebinar]' );
            $html[] = do_shortcode( '[autowebinar height="300" class="a b"]' );
        }}
        wp_set_current_user( {admin} );
        ob_start();
        Autowebinar_Admin::add_menu();
        Autowebinar_Admin::render_dashboard();
        Autowebinar_Admin::render_status();
        Autowebinar_Users::render_profile( get_userdata( {nowrite} ) );
        Autowebinar_Users::render_profile( get_userdata( {viewer} ) );
        $html[] = ob_get_clean();
        $html[] = implode( ',', array_keys( Autowebinar_Users::add_column( array() ) ) );
        foreach ( array( {nowrite}, {viewer}, {admin} ) as $user ) {{
            $html[] = Autowebinar_Users::render_column( '', 'autowebinar', $user );
        }}
        Autowebinar_Progress::refresh( array( {nowrite}, {viewer}, {admin} ) );
        $html[] = autowebinar_mint_token( {viewer} );
        return array( 'writes' => $writes, 'hooks' => $hooks, 'html' => implode( '', $html ) );
        """,
        admin=True,
    )
    assert result["writes"] == []
    assert result["hooks"] == []
    assert result["html"].count("<iframe") == 5  # 2 shortcodes x 2 users + the dashboard


def test_source_has_no_write_api_calls() -> None:
    """Belt and braces: no WordPress write API appears anywhere in the plugin's PHP."""
    forbidden = re.compile(
        r"\b(add|update|delete)_(option|site_option|user_meta|post_meta|metadata|user_option)\s*\("
        r"|\b(set|delete)_(site_)?transient\s*\("
        r"|\$wpdb\s*->\s*(query|insert|update|replace|delete)\b"
        r"|\bwp_(insert|update|delete)_\w+\s*\("
        r"|\bregister_(setting|activation_hook|uninstall_hook)\s*\("
    )
    offenders = [
        f"{path.relative_to(PLUGIN_DIR)}:{number}: {line.strip()}"
        for path in PLUGIN_DIR.rglob("*.php")
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if forbidden.search(line)
    ]
    # The one allowed write: the privacy eraser deletes our own keys on an administrator's
    # explicit erasure request (tests/wordpress/test_privacy.py checks what it deletes).
    eraser = "includes/class-autowebinar-privacy.php"
    allowed = [o for o in offenders
               if o.startswith(eraser + ":") and "delete_user_meta( $user->ID, $key )" in o]
    assert len(allowed) == 1
    assert [o for o in offenders if o not in allowed] == []
