"""Browser suite: Debian's Chromium driven by Playwright against a real server on MariaDB.

The player page is served from 127.0.0.1 and embedded by a page on `localhost`, so the
iframe is cross-site, as on a real WordPress site with a separate sidecar origin.
"""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import send_from_directory
from werkzeug.serving import BaseWSGIServer, make_server

from autowebinar_wp import create_app, tokens
from autowebinar_wp.services import services
from tests.support import SECRET, Backend

CHROMIUM = "/usr/bin/chromium"
MEDIA = Path(__file__).parent / "media"
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(app: Any, host: str = "127.0.0.1") -> tuple[BaseWSGIServer, threading.Thread]:
    server = make_server(host, free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


@dataclass
class Site:
    """The sidecar at `base` and a stand-in WordPress page at `wp_base` (another site)."""

    base: str
    wp_base: str
    backend: Backend
    app: Any

    def token(self, user_id: int, ttl: int = 600) -> str:
        return tokens.mint(SECRET, user_id, "viewer", ttl)

    def embed_url(self, user_id: int) -> str:
        return f"{self.base}/embed?token={self.token(user_id)}"

    def page_url(self, user_id: int) -> str:
        return f"{self.wp_base}/page?user={user_id}"


def wordpress_stand_in(sidecar: str, secret: str) -> Any:
    """A page on another origin embedding the player, as the [autowebinar] shortcode does
    (a 16:9 box, the shortcode's default)."""

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        from urllib.parse import parse_qs

        user = int(parse_qs(environ.get("QUERY_STRING", "")).get("user", ["1"])[0])
        token = tokens.mint(secret, user, "viewer", 600)
        html = (
            "<!doctype html><html><head><meta charset=utf-8><title>WordPress page</title>"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            "<style>body{margin:0;font-family:sans-serif}.w{position:relative;width:100%;"
            "aspect-ratio:16/9}iframe{position:absolute;inset:0;width:100%;height:100%;"
            "border:0}</style></head><body><h1>Site page</h1><div class=w>"
            f'<iframe id="aw" src="{sidecar}/embed?token={token}" '
            'allow="autoplay; fullscreen" allowfullscreen></iframe></div></body></html>'
        )
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [html.encode()]

    return app


def launch_browser(playwright: Any, autoplay_policy: str = "no-user-gesture-required",
                   extra_args: tuple[str, ...] = ()) -> Any:
    """Chromium; `autoplay_policy="document-user-activation-required"` is a phone's policy."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    return playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              f"--autoplay-policy={autoplay_policy}",
              "--disable-features=ThirdPartyStoragePartitioning",
              "--test-third-party-cookie-phaseout", *extra_args],
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        yield browser
        browser.close()


def make_site(backend: Backend, instance: Path, *, media: Path = MEDIA,
              **overrides: Any) -> Iterator[Site]:
    wp_port = free_port()
    wp_base = f"http://localhost:{wp_port}"
    config = {
        "DATABASE_URL": backend.url if backend.name == "mysql" else None,
        "EMBED_SECRET": SECRET,
        "VIDEO_URL": "/media/short.webm",
        "VIDEO_DURATION_SEC": 8,
        "CTA_AT_SEC": 4,
        "HEARTBEAT_SEC": 1,
        "POSITION_SLACK_SEC": 2,
        "HEARTBEAT_RATE_LIMIT": "600 per minute",
        "FRAME_ANCESTORS": wp_base,
        "LOCALE": "en",
        "TITLE": "Sales masterclass (recording)",
        "CTA_URL": "https://partner.example/offer?ref={ref_id}&user={user_id}",
        "LIVE_WEBINARS_URL": "https://site.example/webinars/",
        "SITE_URL": "https://site.example",
        **overrides,
    }
    app = create_app(config, instance_path=str(instance))
    # The test clip, served with HTTP Range support (a video host must have it: without
    # ranges, browsers cannot seek, and so cannot resume at a position).
    app.add_url_rule("/media/<path:name>", "media",
                     lambda name: send_from_directory(media, name, conditional=True))
    server, thread = serve(app)
    base = f"http://127.0.0.1:{server.server_port}"
    wp_server = make_server("localhost", wp_port, wordpress_stand_in(base, SECRET), threaded=True)
    wp_thread = threading.Thread(target=wp_server.serve_forever, daemon=True)
    wp_thread.start()
    try:
        yield Site(base, wp_base, backend, app)
    finally:
        server.shutdown()
        wp_server.shutdown()
        server.server_close()
        wp_server.server_close()
        thread.join(5)
        wp_thread.join(5)
        services(app).engine.dispose()


@pytest.fixture
def site(mysql_backend: Backend, tmp_path: Path) -> Iterator[Site]:
    yield from make_site(mysql_backend, tmp_path / "instance")


@pytest.fixture
def waiting_site(mysql_backend: Backend, tmp_path: Path) -> Iterator[Site]:
    yield from make_site(mysql_backend, tmp_path / "instance-waiting", START_DELAY_SEC=185)


def shoot(target: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    target.screenshot(path=str(SCREENSHOTS / name))
