"""Demo mode: the stand-in site page and the stand-in CRM receiver."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from standardwebhooks import Webhook

from autowebinar_wp import create_app
from tests.support import clear_config_env


def demo_app(tmp_path, monkeypatch):
    clear_config_env(monkeypatch)
    monkeypatch.setenv("AUTOWEBINAR_DEMO", "1")
    return create_app({"LOCALE": "en", "LOG_LEVEL": "WARNING"},
                      instance_path=str(tmp_path / "instance"))


def test_demo_page_frames_the_player_with_a_fresh_token(tmp_path, monkeypatch) -> None:
    app = demo_app(tmp_path, monkeypatch)
    client = app.test_client()
    page = client.get("/demo?user=7")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/embed?token=" in html and "user #7" in html
    assert "frame-src 'self'" in page.headers["Content-Security-Policy"]
    token = html.split("/embed?token=")[1].split('"')[0]
    embed = client.get(f"/embed?token={token}")
    assert embed.status_code == 200
    assert "frame-ancestors 'self'" in embed.headers["Content-Security-Policy"]
    # the admin link carries its token in the fragment, which no server or proxy log sees
    admin_link = html.split('href="/admin')[1].split('"')[0]
    assert admin_link.startswith("#token=eyJ") and "?" not in admin_link


def test_demo_receiver_verifies_signatures(tmp_path, monkeypatch) -> None:
    app = demo_app(tmp_path, monkeypatch)
    client = app.test_client()
    body = '{"event":"autowebinar_join","event_id":"e1","user_id":1,"ref_id":null,' \
           '"timestamp":"2026-11-26T12:00:00Z"}'
    stamp = datetime.fromtimestamp(int(time.time()), UTC)
    headers = {"webhook-id": "e1", "webhook-timestamp": str(int(stamp.timestamp())),
               "webhook-signature": Webhook(app.config["WEBHOOK_SECRET"]).sign("e1", stamp, body),
               "content-type": "application/json"}
    assert client.post("/demo/webhooks", data=body, headers=headers).status_code == 204
    forged = {**headers, "webhook-signature": "v1,AAAA"}
    assert client.post("/demo/webhooks", data=body, headers=forged).status_code == 401
    events = client.get("/demo/events").get_json()["events"]
    assert [e["event_id"] for e in events] == ["e1"]


def test_demo_routes_do_not_exist_outside_demo_mode(harness) -> None:
    for path in ("/demo", "/demo/events"):
        assert harness.client.get(path).status_code == 404
    assert harness.client.post("/demo/webhooks").status_code == 404
