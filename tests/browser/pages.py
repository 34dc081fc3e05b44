"""Helpers for the browser suite's player tests: waiting, opening the player, axe-core, logs.

A plain module (not a conftest), so each test module imports what it uses.
"""

from __future__ import annotations

import logging
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from autowebinar_wp.state import META_KEYS

ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "tests" / ".vendor" / "axe-core" / "axe.min.js"
DEMO_MP4 = ROOT / "static" / "demo" / "demo.mp4"
VIDEO = "document.getElementById('aw-video')"
K = META_KEYS


def wait_until(check: Callable[[], Any], timeout: float = 10.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        time.sleep(0.1)


def position(site: Any, uid: int) -> int:
    return int(site.backend.meta(uid).get(K["last_position_sec"]) or 0)


def console_errors(page: Any) -> list[str]:
    """Collects the page's console errors (CSP refusals among them) as they happen."""
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    return errors


def csp_refusals(errors: list[str]) -> list[str]:
    return [e for e in errors if "Content Security Policy" in e or "Refused" in e]


def open_embedded(context: Any, site: Any, uid: int) -> tuple[Any, Any, list[str]]:
    """The stand-in WordPress page with the player iframe: (page, frame, console errors)."""
    page = context.new_page()
    errors = console_errors(page)
    page.goto(site.page_url(uid))
    frame = page.wait_for_selector("#aw").content_frame()
    return page, frame, errors


def complete_session(site: Any, uid: int, duration: int) -> None:
    """The usermeta of a viewer who watched to the end earlier (as WordPress holds it)."""
    import uuid

    stamp = "2026-11-20 10:00:00"
    for key, value in (("session_id", str(uuid.uuid4())), ("started_at", stamp),
                       ("last_position_sec", str(duration)), ("progress_percent", "100"),
                       ("completed", "1"), ("last_seen_at", stamp)):
        site.backend.insert_raw(uid, K[key], value)


# ---- axe-core ------------------------------------------------------------------------------

def with_axe(context: Any) -> Any:
    """Give every frame of the context axe-core (an init script, so CSP does not apply)."""
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make vendor-axe` (.ci/test does)")
    context.add_init_script(path=str(AXE))
    return context


def axe_violations(target: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[str]:
    """axe-core's violations of these impacts in a page or frame, one readable line each."""
    found = target.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.map(n => n.target.join(" ") + ": " + n.failureSummary)}));
    }""")
    return [f"{v['id']} ({v['impact']}): {v['help']} -> {v['nodes']}"
            for v in found if v["impact"] in impacts]


# ---- server log lines ----------------------------------------------------------------------

class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def server_log(name: str = "autowebinar_wp") -> Iterator[list[logging.LogRecord]]:
    """The log records the in-process test server writes while the block runs."""
    handler = _Records()
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)


# ---- media ---------------------------------------------------------------------------------

def make_hls(dest: Path, seconds: int = 8) -> Path:
    """An HLS rendition (H.264/AAC in MPEG-TS, 2 s segments) of the demo video's start.

    Made with Debian's ffmpeg at test time (well under a second), from the committed demo
    video, so no generated media is committed. MPEG-TS, the most common HLS packaging, also
    makes hls.js transmux in its worker, which the page's CSP must allow.
    """
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["ffmpeg", "-nostdin", "-y", "-loglevel", "error", "-i", str(DEMO_MP4),
         "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-g", "10",
         "-keyint_min", "10", "-sc_threshold", "0", "-c:a", "aac", "-b:a", "32k",
         "-f", "hls", "-hls_time", "2", "-hls_playlist_type", "vod",
         "-hls_segment_filename", str(dest / "seg%d.ts"), str(dest / "index.m3u8")],
        check=True, timeout=60,
    )
    return dest / "index.m3u8"
