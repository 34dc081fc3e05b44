"""A subscriber watches the webinar through WordPress and the sidecar, end to end.

WordPress renders the page with the plugin's iframe; the iframe's URL and token are then used
against the real sidecar (viewer API, DESIGN §5) on the same database. Afterwards WordPress's
own get_user_meta() must read the exact strings of DESIGN §3, and nothing in the WordPress
database other than autowebinar_* usermeta rows may have changed.
"""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.wordpress.conftest import CTA_AT_SEC, VIDEO_DURATION_SEC, column_cell, user_row
from tests.wordpress.harness import WordPressSite, iframes

pytestmark = pytest.mark.wordpress

KEYS = (
    "autowebinar_session_id",
    "autowebinar_started_at",
    "autowebinar_last_position_sec",
    "autowebinar_progress_percent",
    "autowebinar_completed",
    "autowebinar_cta_clicked_at",
    "autowebinar_last_seen_at",
)
DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$")
JOIN_FIELDS = {"session_id", "position_sec", "duration_sec", "progress_percent", "completed",
               "cta_visible", "cta_clicked", "starts_in_sec", "server_time"}
HEARTBEAT_FIELDS = {"position_sec", "progress_percent", "completed", "cta_visible"}


def test_subscriber_watches_to_the_end_and_clicks_the_cta(
    wp_site: WordPressSite, sidecar, sidecar_http: httpx.Client, admin_http: httpx.Client
) -> None:
    sidecar.require(
        ("GET", "/embed"),
        ("POST", "/api/v1/session/join"),
        ("POST", "/api/v1/session/heartbeat"),
        ("POST", "/api/v1/session/leave"),
        ("POST", "/api/v1/cta"),
    )
    user = wp_site.users["e2e"]

    # --- WordPress's side: log in, open the page, take the iframe's URL.
    browser = wp_site.login("e2e")
    page = browser.get(wp_site.page_url("webinar"))
    assert page.status_code == 200
    (frame,) = iframes(page.text)
    src = frame["src"]
    (token,) = parse_qs(urlsplit(src).query)["token"]
    auth = {"Authorization": f"Bearer {token}"}

    before = wp_site.snapshot()

    # --- The sidecar's side: the player page and the viewer API, as the player's JS calls it.
    embed = sidecar_http.get(src)
    assert embed.status_code == 200
    assert "text/html" in embed.headers["content-type"]
    assert "recording" in embed.text.lower()  # labelled as a recording

    joined = sidecar_http.post("/api/v1/session/join", headers=auth, json={})
    assert joined.status_code == 200, joined.text
    state = joined.json()
    assert set(state) >= JOIN_FIELDS
    assert uuid.UUID(state["session_id"]).version == 4
    assert state["duration_sec"] == VIDEO_DURATION_SEC
    assert state["position_sec"] == 0
    assert state["completed"] is False and state["cta_visible"] is False
    assert state["starts_in_sec"] == 0

    early = sidecar_http.post("/api/v1/cta", headers=auth, json={})
    assert early.status_code == 409, early.text  # the CTA is not visible yet

    # Seeking ahead is clamped to what real time allows. Like the player, every heartbeat
    # and the leave echo the viewing's latest anchor (the honest clock, DESIGN §4).
    anchor = state["anchor"]
    cheat = sidecar_http.post(
        "/api/v1/session/heartbeat", headers=auth,
        json={"position_sec": VIDEO_DURATION_SEC, "anchor": anchor}
    )
    assert cheat.status_code == 200, cheat.text
    assert cheat.json()["position_sec"] < 5
    assert cheat.json()["completed"] is False
    anchor = cheat.json()["anchor"]

    seen: list[dict[str, object]] = []
    for position in (15, 30, 45, VIDEO_DURATION_SEC):
        sidecar.clock.advance(15)
        beat = sidecar_http.post(
            "/api/v1/session/heartbeat", headers=auth,
            json={"position_sec": position, "anchor": anchor}
        )
        assert beat.status_code == 200, beat.text
        anchor = beat.json()["anchor"]
        assert set(beat.json()) >= HEARTBEAT_FIELDS
        seen.append(beat.json())
    assert [b["position_sec"] for b in seen] == [15, 30, 45, VIDEO_DURATION_SEC]
    assert [b["progress_percent"] for b in seen] == [25, 50, 75, 100]
    assert [b["cta_visible"] for b in seen] == [p >= CTA_AT_SEC for p in (15, 30, 45, 60)]
    assert seen[-1]["completed"] is True

    clicked = sidecar_http.post("/api/v1/cta", headers=auth, json={})
    assert clicked.status_code == 200, clicked.text
    redirect = urlsplit(clicked.json()["redirect_url"])
    assert (redirect.scheme, redirect.netloc, redirect.path) == ("https", "partner.example",
                                                                 "/offer")
    assert parse_qs(redirect.query) == {"ref": ["partner-7"], "user": [str(user.id)]}

    left = sidecar_http.post(
        "/api/v1/session/leave", headers=auth,
        json={"position_sec": VIDEO_DURATION_SEC, "anchor": anchor}
    )
    assert left.status_code == 204

    # --- Nothing but autowebinar_* usermeta rows changed in the WordPress database.
    assert wp_site.snapshot() == before

    # --- WordPress reads back exactly the documented strings (DESIGN §3).
    read = wp_site.php(
        f"""
        $out = array();
        foreach ( {_php_list(KEYS)} as $key ) {{
            $value = get_user_meta( {user.id}, $key, true );
            $out[ $key ] = array( gettype( $value ), $value );
        }}
        return $out;
        """
    )
    assert {key: kind for key, (kind, _value) in read.items()} == dict.fromkeys(KEYS, "string")
    meta = {key: value for key, (_kind, value) in read.items()}
    assert meta["autowebinar_session_id"] == state["session_id"]
    assert len(meta["autowebinar_session_id"]) == 36
    assert meta["autowebinar_last_position_sec"] == str(VIDEO_DURATION_SEC)
    assert meta["autowebinar_progress_percent"] == "100"
    assert meta["autowebinar_completed"] == "1"
    now = datetime.now(UTC).replace(tzinfo=None)
    for key in ("autowebinar_started_at", "autowebinar_cta_clicked_at",
                "autowebinar_last_seen_at"):
        assert DATETIME.match(meta[key]), (key, meta[key])
        moment = datetime.strptime(meta[key], "%Y-%m-%d %H:%M:%S")
        # UTC, not the site's UTC+3; the sidecar's clock runs at most ~2 minutes ahead.
        assert now - timedelta(minutes=5) <= moment <= now + timedelta(minutes=5), key
    assert meta["autowebinar_started_at"] <= meta["autowebinar_cta_clicked_at"]

    # Exactly one row per key, and Core's referral context untouched.
    counts = wp_site.sql(
        "SELECT meta_key, COUNT(*) FROM wp_usermeta WHERE user_id = :u "
        "AND meta_key LIKE 'autowebinar!_%' ESCAPE '!' GROUP BY meta_key",
        {"u": user.id},
    )
    assert dict(counts) == dict.fromkeys(KEYS, 1)
    assert wp_site.php(f"return get_user_meta( {user.id}, 'ref', true );") == "partner-7"

    # --- And the admin sees it on the Users screen.
    cell = column_cell(user_row(admin_http.get("/wp-admin/users.php").text, user.id))
    assert "100%" in cell and "Completed: Yes" in cell
    assert "CTA clicked: —" not in cell


def _php_list(values: tuple[str, ...]) -> str:
    return "array( " + ", ".join(f"'{v}'" for v in values) + " )"
