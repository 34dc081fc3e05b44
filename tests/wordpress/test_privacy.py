"""The plugin's privacy tools: exporter, eraser (its only write), policy text; and its access
rules: who may get an admin token, the filterable capability, the no-cache guarantees."""

from __future__ import annotations

import re

import jwt
import pytest

from tests.wordpress.harness import WordPressSite

pytestmark = pytest.mark.wordpress

STORED = {
    "autowebinar_session_id": "5b7c9a3e-0c1f-4e0e-9d55-1d2b1a3c4e5f",
    "autowebinar_started_at": "2026-11-26 12:00:00",
    "autowebinar_last_position_sec": "42",
    "autowebinar_progress_percent": "25",
    "autowebinar_completed": "0",
    "autowebinar_last_seen_at": "2026-11-26 12:01:00",
    "livewebinar_slot_id": "2026-12-10T1900",
    "livewebinar_registered_at": "2026-11-26 12:02:00",
}


def through_wordpress(site: WordPressSite, kind: str, email: str) -> dict:
    """Run our callback the way WordPress's privacy tools find it: through their filter."""
    filt = f"wp_privacy_personal_data_{kind}s"
    return site.php(
        f"""
        $tools = apply_filters( '{filt}', array() );
        $tool  = $tools['autowebinar'];
        $writes = array();
        add_filter( 'query', function ( $sql ) use ( &$writes ) {{
            if ( preg_match( '/^\\s*(INSERT|UPDATE|DELETE|REPLACE)\\b/i', $sql ) ) {{
                $writes[] = $sql;
            }}
            return $sql;
        }} );
        $out = call_user_func( $tool['callback'], '{email}', 1 );
        return array( 'name' => reset( $tool ), 'out' => $out, 'writes' => $writes );
        """,
        admin=True,
    )


def test_export_lists_every_stored_key_and_writes_nothing(wp_site: WordPressSite) -> None:
    user = wp_site.users["privacy"]
    wp_site.write_meta_as_sidecar(user.id, STORED)
    result = through_wordpress(wp_site, "exporter", f"{user.login}@example.org")
    assert result["writes"] == []
    (group,) = result["out"]["data"]
    assert group["group_id"] == "autowebinar" and result["out"]["done"] is True
    assert {item["name"]: item["value"] for item in group["data"]} == STORED
    nobody = through_wordpress(wp_site, "exporter", "nobody@example.org")
    assert nobody["out"] == {"data": [], "done": True}


def test_erase_deletes_exactly_our_keys_of_that_user(wp_site: WordPressSite) -> None:
    user, other = wp_site.users["privacy"], wp_site.users["nowrite"]
    wp_site.write_meta_as_sidecar(user.id, STORED)
    theirs = wp_site.sql("SELECT umeta_id, meta_key, meta_value FROM wp_usermeta "
                         "WHERE user_id <> :u ORDER BY umeta_id", {"u": user.id})
    own_other = wp_site.sql("SELECT umeta_id, meta_key, meta_value FROM wp_usermeta WHERE "
                            "user_id = :u AND meta_key NOT LIKE 'autowebinar!_%' ESCAPE '!' "
                            "AND meta_key NOT LIKE 'livewebinar!_%' ESCAPE '!' "
                            "ORDER BY umeta_id", {"u": user.id})
    ours = [i for (i,) in wp_site.sql(
        "SELECT umeta_id FROM wp_usermeta WHERE user_id = :u AND (meta_key LIKE "
        "'autowebinar!_%' ESCAPE '!' OR meta_key LIKE 'livewebinar!_%' ESCAPE '!')",
        {"u": user.id})]
    assert len(ours) == len(STORED)
    result = through_wordpress(wp_site, "eraser", f"{user.login}@example.org")
    out = result["out"]
    assert out["items_removed"] is True and out["items_retained"] is False and out["done"]
    assert any("CRM" in message for message in out["messages"])
    # every write was a DELETE of the rows of our keys for this user (delete_metadata()
    # selects their umeta_ids, then deletes by id)
    ids = {int(i) for sql in result["writes"]
           for i in re.fullmatch(r"DELETE FROM wp_usermeta WHERE umeta_id IN\( ([\d, ]+) \)",
                                 sql.strip()).group(1).split(",")}
    assert ids == set(ours)
    assert wp_site.sql("SELECT meta_key FROM wp_usermeta WHERE user_id = :u AND "
                       "(meta_key LIKE 'autowebinar!_%' ESCAPE '!' OR "
                       "meta_key LIKE 'livewebinar!_%' ESCAPE '!')", {"u": user.id}) == []
    assert wp_site.sql("SELECT umeta_id, meta_key, meta_value FROM wp_usermeta "
                       "WHERE user_id <> :u ORDER BY umeta_id", {"u": user.id}) == theirs
    assert wp_site.sql("SELECT umeta_id, meta_key, meta_value FROM wp_usermeta WHERE "
                       "user_id = :u AND meta_key NOT LIKE 'autowebinar!_%' ESCAPE '!' "
                       "AND meta_key NOT LIKE 'livewebinar!_%' ESCAPE '!' "
                       "ORDER BY umeta_id", {"u": user.id}) == own_other
    again = through_wordpress(wp_site, "eraser", f"{user.login}@example.org")
    assert again["out"]["items_removed"] is False and again["writes"] == []
    assert other.id != user.id


def test_privacy_policy_text_names_the_receivers_and_the_partner(wp_site: WordPressSite) -> None:
    text = wp_site.php(
        """
        require_once ABSPATH . 'wp-admin/includes/admin.php'; // as wp-admin/admin.php does
        do_action( 'admin_init' ); // where WordPress collects the suggested texts
        // What wp_add_privacy_policy_content() registered (the Policy Guide's source; its
        // public getter also merges what earlier admin visits cached on the policy page).
        $registered = new ReflectionProperty( 'WP_Privacy_Policy_Content', 'policy_content' );
        $registered->setAccessible( true );
        $found = '';
        foreach ( $registered->getValue() as $item ) {
            if ( 'AutoWebinar' === $item['plugin_name'] ) { $found = $item['policy_text']; }
        }
        return $found;
        """,
        admin=True,
    )
    for words in ("CRM", "partner", "user ID", "referral", "erasure"):
        assert words in text


# ---- who may get an admin token --------------------------------------------------------------


def mint(site: WordPressSite, user_id: int, role: str, capability: str | None = None) -> object:
    extra = (f"add_filter( 'autowebinar_admin_capability', function () {{ "
             f"return '{capability}'; }} );") if capability else ""
    return site.php(
        f"""{extra}
        $token = autowebinar_mint_token( {user_id}, '{role}' );
        return is_wp_error( $token ) ? array( 'error' => $token->get_error_code() ) : $token;
        """
    )


def test_the_mint_helper_refuses_admin_tokens_to_users_without_the_capability(
    wp_site: WordPressSite,
) -> None:
    viewer, admin = wp_site.users["viewer"].id, wp_site.admin.id
    assert mint(wp_site, viewer, "admin") == {"error": "autowebinar_forbidden"}
    assert mint(wp_site, 999_999, "viewer") == {"error": "autowebinar_no_user"}
    assert mint(wp_site, viewer, "root") == {"error": "autowebinar_bad_role"}
    token = mint(wp_site, admin, "admin")
    claims = jwt.decode(token, wp_site.secret, algorithms=["HS256"], audience="autowebinar")
    assert claims["role"] == "admin" and claims["exp"] - claims["iat"] <= 3600
    assert claims["auth_time"] == claims["iat"]
    # the capability is filterable: 'read' lets a subscriber in, 'manage_network' nobody here
    assert isinstance(mint(wp_site, viewer, "admin", capability="read"), str)
    assert mint(wp_site, admin, "admin", capability="manage_network") == {
        "error": "autowebinar_forbidden"}


def test_default_capability_on_a_single_site_and_the_menu_follows_the_filter(
    wp_site: WordPressSite,
) -> None:
    result = wp_site.php(
        """
        $default = Autowebinar_Config::admin_capability();
        add_filter( 'autowebinar_admin_capability', function () { return 'manage_network'; } );
        wp_set_current_user( get_user_by( 'login', 'awadmin' )->ID );
        return array( 'default' => $default, 'multisite' => is_multisite(),
                      'column' => Autowebinar_Users::add_column( array() ) );
        """,
        admin=True,
    )
    assert result == {"default": "list_users", "multisite": False, "column": []}


# ---- no page cache may keep a page with a player --------------------------------------------


def test_a_player_rendered_outside_the_post_body_disables_page_caching(
    wp_site: WordPressSite,
) -> None:
    viewer = wp_site.users["viewer"].id
    result = wp_site.php(
        f"""
        wp_set_current_user( {viewer} );
        ob_start();
        the_widget( 'WP_Widget_Text', array( 'text' => '[autowebinar]', 'filter' => true ) );
        $widget = ob_get_clean();
        return array( 'iframe' => false !== strpos( $widget, '<iframe' ),
                      'donotcache' => defined( 'DONOTCACHEPAGE' ) && DONOTCACHEPAGE );
        """
    )
    assert result == {"iframe": True, "donotcache": True}
    visitor = wp_site.php(
        """
        wp_set_current_user( 0 );
        $html = do_shortcode( '[autowebinar]' );
        return defined( 'DONOTCACHEPAGE' );
        """
    )
    assert visitor is False  # the visitor's prompt holds no token: caching it is fine


def test_the_plugin_header_opts_out_of_wordpress_org_updates(wp_site: WordPressSite) -> None:
    data = wp_site.php(
        """
        require_once ABSPATH . 'wp-admin/includes/plugin.php';
        return get_plugin_data( WP_PLUGIN_DIR . '/autowebinar/autowebinar.php', false, false );
        """
    )
    assert data["UpdateURI"] == "false"
