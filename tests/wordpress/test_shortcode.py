"""[autowebinar] on a real page: visitors get an honest prompt, users get the player iframe."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest

from tests.wordpress.harness import WordPressSite, iframes

pytestmark = pytest.mark.wordpress


def embed_token(site: WordPressSite, src: str) -> dict[str, object]:
    parts = urlsplit(src)
    assert f"{parts.scheme}://{parts.netloc}" == site.sidecar_url
    assert parts.path == "/embed"
    (token,) = parse_qs(parts.query)["token"]
    claims: dict[str, object] = jwt.decode(
        token, site.secret, algorithms=["HS256"], audience="autowebinar"
    )
    return claims


def test_visitor_gets_login_and_signup_links_and_no_iframe(wp_site: WordPressSite) -> None:
    page_url = wp_site.page_url("webinar")
    response = wp_site.client().get(page_url)
    assert response.status_code == 200
    html = response.text

    assert iframes(html) == []
    assert "/embed?token=" not in html
    prompt = re.search(r'<div class="autowebinar-login-prompt">(.*?)</div>', html, re.DOTALL)
    assert prompt, html[-3000:]
    text = prompt.group(1)
    assert "recording" in text  # honest: it says what it is
    login = re.search(r'<a class="autowebinar-login" href="([^"]+)"', text)
    signup = re.search(r'<a class="autowebinar-signup" href="([^"]+)"', text)
    assert login and signup
    login_url = urlsplit(login.group(1).replace("&amp;", "&"))
    assert login_url.path == "/wp-login.php"
    assert parse_qs(login_url.query)["redirect_to"] == [page_url]
    assert signup.group(1) == f"{wp_site.url}/signup/"
    # A link only: nothing requested /signup/ on the site while rendering.
    assert "/signup" not in wp_site.server_log.read_text()


def test_subscriber_gets_the_player_iframe_with_a_viewer_token(
    wp_site: WordPressSite, viewer_http: httpx.Client
) -> None:
    response = viewer_http.get(wp_site.page_url("webinar"))
    assert response.status_code == 200
    assert "no-cache" in response.headers["cache-control"]  # the page holds a personal token
    assert "autowebinar-login-prompt" not in response.text
    (frame,) = iframes(response.text)

    claims = embed_token(wp_site, frame["src"])
    assert claims["sub"] == str(wp_site.users["viewer"].id)
    assert claims["role"] == "viewer"
    assert frame["allow"] == "autoplay; fullscreen"
    assert "allowfullscreen" in frame
    assert frame["title"] == "Webinar recording"
    # Responsive 16:9 box around the iframe.
    assert re.search(
        r'<div class="autowebinar-embed" style="[^"]*padding-top:56\.25%[^"]*"><iframe ',
        response.text,
    )


def test_height_and_class_attributes(wp_site: WordPressSite, viewer_http: httpx.Client) -> None:
    html = viewer_http.get(wp_site.page_url("fixed")).text
    box = re.search(r'<div class="autowebinar-embed my-webinar extra" style="([^"]*)"><iframe',
                    html)
    assert box, html[-3000:]
    assert "height:360px" in box.group(1)
    assert "padding-top" not in box.group(1)
    assert len(iframes(html)) == 1


def test_output_is_escaped(wp_site: WordPressSite) -> None:
    """Hostile attributes (an author's typo or worse) cannot break out of the markup."""
    html = wp_site.php(
        f"""
        wp_set_current_user( {wp_site.users["viewer"].id} );
        return Autowebinar_Shortcode::render( array(
            'class'  => 'good-class "><script>alert(1)</script> x"y',
            'title'  => '"><img src=x onerror=alert(1)>',
            'height' => '100"><script>alert(2)</script>',
        ) );
        """
    )
    assert "<script" not in html and "<img" not in html
    assert 'class="autowebinar-embed good-class scriptalert1script xy"' in html
    assert 'title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"' in html
    assert "height:100px" in html
    (frame,) = iframes(html)
    assert frame["title"] == '"><img src=x onerror=alert(1)>'


def test_visitor_prompt_is_escaped_too(wp_site: WordPressSite) -> None:
    html = wp_site.php(
        "wp_set_current_user( 0 ); "
        "return Autowebinar_Shortcode::render( array( 'class' => '\"><b>x</b>' ) );"
    )
    assert "<b>" not in html
    assert html.startswith('<div class="autowebinar-login-prompt bxb">')


@pytest.mark.parametrize(
    ("who", "expected", "absent"),
    [
        ("awadmin", "AutoWebinar is not configured.", "not available at the moment"),
        ("viewer", "The webinar is not available at the moment.", "not configured"),
        (None, "The webinar is not available at the moment.", "not configured"),
    ],
)
def test_missing_constants(wp_site: WordPressSite, who: str | None, expected: str,
                           absent: str) -> None:
    user_id = wp_site.users[who].id if who else 0
    html = wp_site.php(
        f"wp_set_current_user( {user_id} ); return do_shortcode( '[autowebinar]' );",
        env={"AUTOWEBINAR_TEST_UNCONFIGURED": "1"},
    )
    assert expected in html
    assert absent not in html
    assert "<iframe" not in html
    if who == "awadmin":
        assert "AUTOWEBINAR_SIDECAR_URL is not defined in wp-config.php." in html
        assert "AUTOWEBINAR_EMBED_SECRET is not defined in wp-config.php." in html
