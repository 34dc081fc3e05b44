"""A page cache in front of WordPress (WP Super Cache, a CDN's "cache everything") may serve
an old copy of the page with the shortcode: its iframe carries an old token. The player must
say so plainly and write nothing; its own page is never stored by a cache."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from autowebinar_wp import tokens
from tests.browser.conftest import make_site
from tests.support import SECRET, free_port

pytestmark = [pytest.mark.browser, pytest.mark.mysql]


def page_cache(html: str) -> tuple[str, Any]:
    """A stand-in page cache on localhost answering every path with one stored copy."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"),
                                  ("Cache-Control", "public, max-age=3600"), ("Age", "3600")])
        return [html.encode()]

    server = make_server("localhost", free_port(), app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://localhost:{server.server_port}", server


@pytest.fixture
def cached_site(mysql_backend, tmp_path) -> Iterator[Any]:
    yield from make_site(mysql_backend, tmp_path / "instance", FRAME_ANCESTORS="http://localhost:*")


def test_a_cached_copy_of_the_wordpress_page_is_an_honest_expired_message(
        browser, cached_site) -> None:
    site = cached_site
    uid = site.backend.new_user()
    minted_an_hour_ago = tokens.mint(SECRET, uid, "viewer", 600, now=time.time() - 3600)
    cache_url, cache = page_cache(
        "<!doctype html><html><head><meta charset=utf-8><title>Cached page</title></head><body>"
        f'<iframe id="aw" title="Webinar" src="{site.base}/embed?token={minted_an_hour_ago}" '
        'allow="autoplay; fullscreen" allowfullscreen style="width:800px;height:450px"></iframe>'
        "</body></html>")
    try:
        context = browser.new_context()
        page = context.new_page()
        with page.expect_response(lambda r: "/embed?token=" in r.url) as embed:
            page.goto(f"{cache_url}/webinar/")
        frame = page.wait_for_selector("#aw").content_frame()
        frame.wait_for_selector("[data-testid=error]")
        assert "This link has expired. Reload the page on the site" in frame.inner_text("body")
        assert embed.value.status == 401
        assert embed.value.headers["cache-control"] == "no-store"
        assert site.backend.meta(uid) == {}, "an old token writes nothing"

        # WordPress itself (no cache) mints a fresh token, and the player page it frames is
        # not cacheable either
        with page.expect_response(lambda r: "/embed?token=" in r.url) as embed:
            page.goto(site.page_url(uid))
        frame = page.wait_for_selector("#aw").content_frame()
        frame.wait_for_selector("#aw-stage", state="visible")
        assert embed.value.headers["cache-control"] == "no-store"
        context.close()
    finally:
        cache.shutdown()
        cache.server_close()
