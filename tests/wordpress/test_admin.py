"""wp-admin: the AutoWebinar page, the status page, the Users column and the profile box."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from tests.wordpress.conftest import META_DONE, META_IN_PROGRESS, column_cell, user_row
from tests.wordpress.harness import WordPressSite, free_port, iframes, wp_datetime

pytestmark = pytest.mark.wordpress

FORBIDDEN = "Sorry, you are not allowed to access this page."


@pytest.mark.parametrize("page", ["autowebinar", "autowebinar-status"])
def test_subscriber_gets_403(viewer_http: httpx.Client, page: str) -> None:
    response = viewer_http.get("/wp-admin/admin.php", params={"page": page})
    assert response.status_code == 403
    assert FORBIDDEN in response.text
    assert "<iframe" not in response.text


def test_visitor_is_sent_to_login(wp_site: WordPressSite) -> None:
    response = wp_site.client().get("/wp-admin/admin.php", params={"page": "autowebinar"})
    assert response.status_code == 302
    assert "/wp-login.php" in response.headers["location"]


def test_admin_page_embeds_the_dashboard_with_an_admin_token(
    wp_site: WordPressSite, admin_http: httpx.Client
) -> None:
    response = admin_http.get("/wp-admin/admin.php", params={"page": "autowebinar"})
    assert response.status_code == 200
    # The menu entry and its Status submenu are there.
    links = set(re.findall(r"href=[\'\"](admin\.php\?page=autowebinar[^\'\"]*)", response.text))
    assert links == {"admin.php?page=autowebinar", "admin.php?page=autowebinar-status"}
    frames = [f for f in iframes(response.text) if "autowebinar-admin-frame" in f.get("class", "")]
    assert len(frames) == 1
    src = urlsplit(frames[0]["src"])
    assert f"{src.scheme}://{src.netloc}{src.path}" == f"{wp_site.sidecar_url}/admin"
    # The token travels in the fragment, which the browser never sends to a server.
    assert src.query == ""
    (token,) = parse_qs(src.fragment)["token"]
    claims = jwt.decode(token, wp_site.secret, algorithms=["HS256"], audience="autowebinar")
    assert claims["role"] == "admin"
    assert claims["sub"] == str(wp_site.admin.id)


def test_status_page_reports_constants_and_health(
    wp_site: WordPressSite, admin_http: httpx.Client, sidecar
) -> None:
    response = admin_http.get("/wp-admin/admin.php", params={"page": "autowebinar-status"})
    assert response.status_code == 200
    html = response.text
    assert wp_site.secret not in html  # only its length is shown
    assert wp_site.sidecar_url in html
    assert "600 seconds" in html
    health = re.search(r'<tr class="autowebinar-health">(.*?)</tr>', html, re.DOTALL)
    assert health, html[-3000:]
    assert "Answering" in health.group(1)
    assert "Problem" not in health.group(1)


def test_health_check_of_a_dead_sidecar(wp_site: WordPressSite) -> None:
    result = wp_site.php(
        f"return Autowebinar_Admin::check_sidecar( 'http://127.0.0.1:{free_port()}' );",
        admin=True,
    )
    assert result["ok"] is False
    assert result["message"].startswith("Not reachable:")


def test_users_column(wp_site: WordPressSite, admin_http: httpx.Client,
                      meta_users: dict[str, int]) -> None:
    response = admin_http.get("/wp-admin/users.php")
    assert response.status_code == 200
    html = response.text
    assert re.search(r"<th scope=\"col\" id='autowebinar' class='manage-column column-autowebinar'",
                     html)

    in_progress = column_cell(user_row(html, meta_users["meta"]))
    assert "<strong class=\"autowebinar-progress\">75%</strong>" in in_progress
    assert "Completed: No" in in_progress
    assert "CTA clicked: —" in in_progress
    last_seen = wp_datetime(META_IN_PROGRESS["autowebinar_last_seen_at"])
    assert last_seen == "May 2, 2024 12:30 am"  # 21:30 UTC is past midnight in Moscow
    assert f"Last seen: {last_seen}" in in_progress

    done = column_cell(user_row(html, meta_users["done"]))
    assert "100%" in done and "Completed: Yes" in done
    assert f"CTA clicked: {wp_datetime(META_DONE['autowebinar_cta_clicked_at'])}" in done
    assert "CTA clicked: April 30, 2024 12:01 pm" in done

    fresh = column_cell(user_row(html, wp_site.users["fresh"].id))
    assert '<span aria-hidden="true">—</span>' in fresh
    assert "No webinar session" in fresh
    assert "%" not in fresh


def test_profile_box_on_user_edit(wp_site: WordPressSite, admin_http: httpx.Client,
                                  meta_users: dict[str, int]) -> None:
    response = admin_http.get("/wp-admin/user-edit.php", params={"user_id": meta_users["meta"]})
    assert response.status_code == 200
    box = re.search(r'<h2 id="autowebinar">AutoWebinar</h2>(.*?</table>)', response.text,
                    re.DOTALL)
    assert box, response.text[-3000:]
    rows = dict(re.findall(r'<tr><th scope="row">(.*?)</th><td>(.*?)</td></tr>', box.group(1)))
    assert rows == {
        "Session": f"<code>{META_IN_PROGRESS['autowebinar_session_id']}</code>",
        "Started": wp_datetime(META_IN_PROGRESS["autowebinar_started_at"]),
        "Position": "12:34",
        "Progress": "75%",
        "Completed": "No",
        "CTA clicked": "—",
        "Last seen": "May 2, 2024 12:30 am",
    }
    assert "Times are in the site timezone (Europe/Moscow)" in response.text
    # Read-only: the box adds no form field.
    assert not re.search(r'<(input|select|textarea)[^>]*autowebinar', response.text)


def test_profile_box_without_a_session(admin_http: httpx.Client) -> None:
    html = admin_http.get("/wp-admin/profile.php").text
    box = re.search(r'<h2 id="autowebinar">AutoWebinar</h2>(.*?</table>)', html, re.DOTALL)
    assert box
    assert "No webinar session yet" in box.group(1)


def test_subscriber_profile_has_no_box(viewer_http: httpx.Client) -> None:
    response = viewer_http.get("/wp-admin/profile.php")
    assert response.status_code == 200
    assert 'id="autowebinar"' not in response.text


def test_reads_bypass_a_stale_object_cache(wp_site: WordPressSite) -> None:
    """A direct DB write (the sidecar's) is seen although WordPress cached the old value."""
    user_id = wp_site.users["cache"].id
    wp_site.write_meta_as_sidecar(
        user_id,
        {"autowebinar_session_id": "0d6f3c1e-58a2-4b8e-9f1a-2c3d4e5f6a7b",
         "autowebinar_progress_percent": "25"},
    )
    result = wp_site.php(
        f"""
        global $wpdb;
        $id = {user_id};
        $before = get_user_meta( $id, 'autowebinar_progress_percent', true ); // now cached
        $wpdb->query( $wpdb->prepare(
            "UPDATE {{$wpdb->usermeta}} SET meta_value = '50'
             WHERE user_id = %d AND meta_key = 'autowebinar_progress_percent'", $id ) );
        $stale = get_user_meta( $id, 'autowebinar_progress_percent', true );
        $state = Autowebinar_Progress::read( $id );

        // The batched refresh used on users.php: one query for all listed users.
        $wpdb->query( $wpdb->prepare(
            "UPDATE {{$wpdb->usermeta}} SET meta_value = '75'
             WHERE user_id = %d AND meta_key = 'autowebinar_progress_percent'", $id ) );
        $ids = array( $id, {wp_site.users["fresh"].id}, {wp_site.admin.id} );
        foreach ( $ids as $other ) {{ get_user_meta( $other, 'nickname', true ); }}
        $queries = $wpdb->num_queries;
        Autowebinar_Progress::refresh( $ids );
        $refresh_queries = $wpdb->num_queries - $queries;
        $queries = $wpdb->num_queries;
        $batched = Autowebinar_Progress::read( $id, false );
        foreach ( $ids as $other ) {{ Autowebinar_Progress::read( $other, false ); }}
        return array( $before, $stale, $state['progress_percent'], $refresh_queries,
                      $batched['progress_percent'], $wpdb->num_queries - $queries );
        """
    )
    assert result == ["25", "25", 50, 1, 75, 0]


def test_users_list_reads_all_rows_with_one_query(wp_site: WordPressSite,
                                                  meta_users: dict[str, int]) -> None:
    """users.php: one fresh meta query for the whole page, however many users are listed."""
    result = wp_site.php(
        f"""
        global $wpdb, $wp_list_table;
        require_once ABSPATH . 'wp-admin/includes/admin.php';
        wp_set_current_user( {wp_site.admin.id} );
        set_current_screen( 'users' );
        $wp_list_table = _get_list_table( 'WP_Users_List_Table', array( 'screen' => 'users' ) );
        $wp_list_table->prepare_items();
        $queries = $wpdb->num_queries;
        $cells   = array();
        foreach ( array_keys( $wp_list_table->items ) as $id ) {{
            $cells[ $id ] = apply_filters( 'manage_users_custom_column', '', 'autowebinar', $id );
        }}
        return array( count( $cells ), $wpdb->num_queries - $queries,
                      $cells[ {meta_users["meta"]} ] );
        """,
        admin=True,
    )
    listed, queries, cell = result
    assert listed == len(wp_site.users)
    assert queries == 1
    assert "75%" in cell
