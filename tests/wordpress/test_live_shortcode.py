"""[autowebinar_live] on a real WordPress page, with the real sidecar on the site's database.

Visitors get an honest prompt and no iframe; a subscriber gets the schedule (or the room)
with a viewer token; the registration made through that token is in wp_usermeta as
WordPress's own get_user_meta() reads it, and nothing else in the database changed.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from tests.wordpress.harness import WordPressSite, iframes

pytestmark = pytest.mark.wordpress
LIVE_KEYS = ("livewebinar_slot_id", "livewebinar_slot_starts_at", "livewebinar_registered_at",
             "livewebinar_joined_at")


def frame_of(site: WordPressSite, html: str, path: str) -> tuple[dict[str, str], str]:
    (frame,) = iframes(html)
    parts = urlsplit(frame["src"])
    assert f"{parts.scheme}://{parts.netloc}" == site.sidecar_url
    assert parts.path == path
    (token,) = parse_qs(parts.query)["token"]
    return frame, token


def test_visitor_gets_an_honest_prompt_and_no_iframe(wp_site: WordPressSite) -> None:
    html = wp_site.client().get(wp_site.page_url("live")).text
    assert iframes(html) == []
    prompt = re.search(r'<div class="autowebinar-login-prompt autowebinar-live-prompt">(.*?)</div>',
                       html, re.DOTALL)
    assert prompt, html[-3000:]
    assert "schedule" in prompt.group(1) and "recording" not in prompt.group(1)
    assert f'href="{wp_site.url}/signup/"' in prompt.group(1)
    assert "/live?token=" not in html


def test_subscriber_gets_the_schedule_and_registers_through_it(
    wp_site: WordPressSite, sidecar, sidecar_http: httpx.Client
) -> None:
    user = wp_site.users["live"]
    browser = wp_site.login("live")
    response = browser.get(wp_site.page_url("live"))
    assert response.status_code == 200
    assert "no-cache" in response.headers["cache-control"]  # the page holds a personal token
    frame, token = frame_of(wp_site, response.text, "/live")
    claims = jwt.decode(token, wp_site.secret, algorithms=["HS256"], audience="autowebinar")
    assert claims["sub"] == str(user.id) and claims["role"] == "viewer"
    assert frame["title"] == "Webinar schedule"
    assert re.search(r'<div class="autowebinar-live autowebinar-live-list" '
                     r'style="position:relative;width:100%;height:760px;"><iframe ',
                     response.text)

    before = wp_site.snapshot()
    page = sidecar_http.get(frame["src"])
    assert page.status_code == 200 and 'id="lw-config"' in page.text
    assert f"frame-ancestors 'self' {wp_site.url}" in page.headers["content-security-policy"]
    auth = {"Authorization": f"Bearer {token}"}
    slots = sidecar_http.get("/api/v1/live/slots", headers=auth).json()["slots"]
    chosen = next(s for s in slots if s["status"] == "upcoming")
    registered = sidecar_http.post("/api/v1/live/register", json={"slot_id": chosen["id"]},
                                   headers=auth)
    assert registered.status_code == 200, registered.text
    assert wp_site.snapshot() == before  # only livewebinar_* rows were written

    values = wp_site.php(
        f"return array_map( function ( $k ) {{ return get_user_meta( {user.id}, $k, true ); }}, "
        f"array( {', '.join(repr(k) for k in LIVE_KEYS)} ) );")
    slot_id, starts_at, registered_at, joined_at = values
    assert slot_id == chosen["id"]
    assert starts_at == chosen["starts_at"].replace("T", " ").rstrip("Z")
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}", registered_at)
    assert joined_at == ""  # not in the room yet: WordPress reads "no row" as ''
    rows = wp_site.php(f"return count( get_user_meta( {user.id}, 'livewebinar_slot_id' ) );")
    assert rows == 1


def test_the_room_view(wp_site: WordPressSite, sidecar, sidecar_http: httpx.Client) -> None:
    browser = wp_site.login("live")
    response = browser.get(wp_site.page_url("live-room"))
    frame, _token = frame_of(wp_site, response.text, "/live/room")
    assert 'class="autowebinar-live autowebinar-live-room my-room"' in response.text
    assert "padding-top:calc(56.25% + 180px)" in response.text
    assert "fullscreen" in frame["allow"]
    assert sidecar_http.get(frame["src"]).status_code == 200


def test_attributes_are_escaped_and_views_are_whitelisted(wp_site: WordPressSite) -> None:
    html = wp_site.php(
        f"""
        wp_set_current_user( {wp_site.users["live"].id} );
        return Autowebinar_Live_Shortcode::render( array(
            'view'   => '../../admin"><script>alert(1)</script>',
            'class'  => '"><script>alert(2)</script>',
            'title'  => '"><img src=x onerror=alert(3)>',
            'height' => '99"><b>',
        ) );
        """
    )
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    (frame,) = iframes(html)
    assert urlsplit(frame["src"]).path == "/live"  # an unknown view falls back to the list
    assert "height:99px" in html


@pytest.mark.parametrize(("who", "expected"), [
    ("awadmin", "AutoWebinar is not configured."),
    (None, "The webinar is not available at the moment."),
])
def test_missing_constants(wp_site: WordPressSite, who: str | None, expected: str) -> None:
    user_id = wp_site.users[who].id if who else 0
    html = wp_site.php(
        f"wp_set_current_user( {user_id} ); return do_shortcode( '[autowebinar_live]' );",
        env={"AUTOWEBINAR_TEST_UNCONFIGURED": "1"},
    )
    assert expected in html and "<iframe" not in html
