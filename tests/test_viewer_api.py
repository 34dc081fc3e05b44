"""The viewer API on MariaDB and SQLite, travelling in time with an injected clock."""

import base64
import json

import jwt
import pytest

from autowebinar_wp.state import META_KEYS
from tests.support import SECRET

K = META_KEYS
JOIN, HB, LEAVE, CTA = ("/api/v1/session/join", "/api/v1/session/heartbeat",
                        "/api/v1/session/leave", "/api/v1/cta")


def test_join_creates_the_session_once(harness) -> None:
    uid = harness.backend.new_user()
    first = harness.post(JOIN, uid)
    assert first.status_code == 200
    body = first.get_json()
    assert body["position_sec"] == 0 and body["duration_sec"] == 100
    assert body["starts_in_sec"] == 0 and body["completed"] is False
    assert body["cta_visible"] is False and body["cta_clicked"] is False
    meta = harness.backend.meta(uid)
    assert meta[K["session_id"]] == body["session_id"]
    assert meta[K["started_at"]] == "2026-11-26 12:00:00"
    harness.clock.advance(5)
    again = harness.post(JOIN, uid).get_json()
    assert again["session_id"] == body["session_id"]
    assert [e[1] for e in harness.events] == ["autowebinar_session_created", "autowebinar_join"]


def test_a_whole_viewing_with_time_travel(harness) -> None:
    # seeded with invited_by (uid % 5 == 0), which comes first in REF_META_KEYS
    uid = harness.backend.new_user(where=lambda u: u % 10 == 0)
    harness.post(JOIN, uid)
    for t in range(10, 101, 10):
        harness.clock.advance(10)
        hb = harness.post(HB, uid, json={"position_sec": t}).get_json()
        assert hb["position_sec"] == t and hb["clamped"] is False
        assert hb["cta_visible"] is (t >= 60)
        if t < 60:
            assert harness.post(CTA, uid).status_code == 409
    assert hb["completed"] is True and hb["progress_percent"] == 100
    cta = harness.post(CTA, uid)
    assert cta.status_code == 200
    assert cta.get_json() == {
        "redirect_url": f"https://partner.example/go?ref={uid // 5}&u={uid}"
    }
    meta = harness.backend.meta(uid)
    assert meta[K["last_position_sec"]] == "100"
    assert meta[K["progress_percent"]] == "100"
    assert meta[K["completed"]] == "1"
    assert meta[K["cta_clicked_at"]] == "2026-11-26 12:01:40"
    assert [e[1:] for e in harness.events if e[0] == uid] == [
        ("autowebinar_session_created", None), ("autowebinar_join", None),
        ("autowebinar_progress", 25), ("autowebinar_progress", 50),
        ("autowebinar_progress", 75), ("autowebinar_progress", 100),
        ("autowebinar_completed", None), ("autowebinar_cta_click", None),
    ]
    # re-entering after completion: completed, not a replay
    harness.clock.advance(3600)
    rejoin = harness.post(JOIN, uid).get_json()
    assert rejoin["completed"] is True and rejoin["position_sec"] == 100
    assert rejoin["cta_clicked"] is True


def test_late_first_entry_joins_in_progress_and_reentry_resumes(harness) -> None:
    uid = harness.backend.new_user()
    # Core created the session at registration, 30 s ago
    harness.post(JOIN, uid)  # creates; offset 0
    harness.backend.engine.dispose()
    uid2 = harness.backend.new_user()
    with harness.app.app_context():
        from autowebinar_wp.session import Create, decide

        store = harness.services.store
        with store.transaction(uid2) as conn:
            loaded = store.load(conn, uid2)
            out = decide(loaded.state, Create("22222222-2222-4222-8222-222222222222"),
                         harness.clock(), harness.services.session)
            store.save(conn, loaded, out.state)
    harness.clock.advance(30)
    joined = harness.post(JOIN, uid2).get_json()
    assert joined["position_sec"] == 30 and joined["resumed"] is False
    harness.clock.advance(10)
    harness.post(LEAVE, uid2, json={"position_sec": 40})
    harness.clock.advance(86400)
    back = harness.post(JOIN, uid2).get_json()
    assert back["position_sec"] == 40 and back["resumed"] is True
    assert back["progress_percent"] == 25


def test_waiting_room(make_harness) -> None:
    harness = make_harness(START_DELAY_SEC=300)
    uid = harness.backend.new_user()
    first = harness.post(JOIN, uid).get_json()
    assert first["starts_in_sec"] == 300 and first["position_sec"] == 0
    assert harness.post(HB, uid, json={"position_sec": 1}).status_code == 409
    harness.clock.advance(299)
    assert harness.post(JOIN, uid).get_json()["starts_in_sec"] == 1
    harness.clock.advance(1)
    started = harness.post(JOIN, uid).get_json()
    assert started["starts_in_sec"] == 0
    assert [e[1] for e in harness.events] == ["autowebinar_session_created", "autowebinar_join"]


def test_cheating_is_clamped_and_the_db_stays_honest(harness) -> None:
    uid = harness.backend.new_user()
    harness.post(JOIN, uid)
    harness.clock.advance(10)
    hb = harness.post(HB, uid, json={"position_sec": 95}).get_json()
    # wall-clock time only: the slack spares an honest player a snap-back, it is not credit
    assert hb["clamped"] is True and hb["position_sec"] == 10
    assert harness.backend.meta(uid)[K["last_position_sec"]] == "10"
    assert hb["progress_percent"] == 0
    assert harness.post(CTA, uid).status_code == 409


@pytest.mark.parametrize("how", ["json", "form"])
def test_leave_takes_the_token_from_the_body_for_sendbeacon(harness, how) -> None:
    uid = harness.backend.new_user()
    anchor = harness.post(JOIN, uid).get_json()["anchor"]
    harness.clock.advance(8)
    token = harness.token(uid)
    if how == "json":
        response = harness.client.post(
            LEAVE, data=json.dumps({"token": token, "anchor": anchor, "position_sec": 8}),
            content_type="application/json")
    else:
        response = harness.client.post(
            LEAVE, data={"token": token, "anchor": anchor, "position_sec": "8.4"})
    assert response.status_code == 204
    assert harness.backend.meta(uid)[K["last_position_sec"]] == "8"


# ---- bad tokens ---------------------------------------------------------------------------------


def _forge(claims: dict, key: str = SECRET, alg: str = "HS256") -> str:
    return jwt.encode(claims, key, algorithm=alg)


def _alg_none(claims: dict) -> str:
    def seg(obj):
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{seg({'alg': 'none', 'typ': 'JWT'})}.{seg(claims)}."


def bad_tokens(harness, uid: int) -> dict[str, str | None]:
    now = int(harness.clock().timestamp())
    good = {"sub": str(uid), "iat": now, "exp": now + 600, "aud": "autowebinar",
            "role": "viewer"}
    valid = harness.token(uid)
    head, body, sig = valid.split(".")
    other = harness.token(uid + 1).split(".")[1]
    return {
        "missing": None,
        "garbage": "not-a-token",
        "expired": _forge({**good, "iat": now - 1200, "exp": now - 600}),
        "tampered": f"{head}.{other}.{sig}",
        "wrong_secret": _forge(good, "another-secret-of-sufficient-length-123456"),
        "wrong_audience": _forge({**good, "aud": "wordpress"}),
        "no_audience": _forge({k: v for k, v in good.items() if k != "aud"}),
        "alg_none": _alg_none(good),
        "alg_hs512": _forge(good, SECRET * 2, alg="HS512"),
        "sub_not_numeric": _forge({**good, "sub": "admin"}),
        "sub_int": _forge({**good, "sub": uid}),
        "bad_role": _forge({**good, "role": "root"}),
        "too_long_lived": _forge({**good, "exp": now + 90 * 86400}),
        "issued_in_future": _forge({**good, "iat": now + 3600, "exp": now + 4000}),
    }


@pytest.mark.parametrize("path", [JOIN, HB, LEAVE, CTA])
def test_bad_tokens_are_401_json_and_change_nothing(harness, path) -> None:
    uid = harness.backend.new_user()
    harness.post(JOIN, uid)
    before = harness.backend.rows(uid)
    for name, token in bad_tokens(harness, uid).items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = harness.client.post(path, headers=headers, json={"position_sec": 1})
        assert response.status_code == 401, name
        error = response.get_json()["error"]
        assert error["code"] in ("unauthorized", "token_expired"), name
        assert (error["code"] == "token_expired") is (name == "expired"), name
    assert harness.backend.rows(uid) == before


def test_embed_with_a_bad_token_is_a_localized_401_page(make_harness) -> None:
    harness = make_harness(LOCALE="ru")
    response = harness.client.get("/embed?token=nope")
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "Ссылка недействительна" in page and "Запись" in page
    expired = _forge({"sub": "5", "iat": 0, "exp": 1, "aud": "autowebinar", "role": "viewer"})
    page = harness.client.get(f"/embed?token={expired}").get_data(as_text=True)
    assert "устарела" in page


# ---- bad bodies -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        '{"position_sec": -1}',
        '{"position_sec": NaN}',
        '{"position_sec": Infinity}',
        '{"position_sec": -Infinity}',
        '{"position_sec": "12"}',
        '{"position_sec": true}',
        '{"position_sec": null}',
        '{"position_sec": [1]}',
        '{"position_sec": 1e400}',
        '{"position_sec": 99999999999}',
        '{}',
        '[12]',
        '12',
        'not json',
        '{"position_sec": 1',
        '[' * 5000 + ']' * 5000,  # deeper than the JSON parser's recursion limit
        '{"position_sec": ' + '{"a": ' * 2000 + '1' + '}' * 2001,
    ],
)
def test_bad_positions_and_bodies_are_400_and_change_nothing(harness, raw) -> None:
    uid = harness.backend.new_user()
    harness.post(JOIN, uid)
    harness.clock.advance(10)
    before = harness.backend.rows(uid)
    for path in (HB, LEAVE):
        response = harness.post(path, uid, data=raw, content_type="application/json")
        assert response.status_code == 400, (path, raw)
        assert response.get_json()["error"]["code"] in ("invalid_position", "bad_request")
    assert harness.backend.rows(uid) == before


def test_oversized_body_is_413_json(harness) -> None:
    uid = harness.backend.new_user()
    harness.post(JOIN, uid)
    big = json.dumps({"position_sec": 1, "pad": "x" * 100_000})
    response = harness.post(HB, uid, data=big, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "payload_too_large"


def test_a_declared_body_over_the_limit_is_413_even_where_it_is_not_read(harness) -> None:
    uid = harness.backend.new_user()
    big = json.dumps({"pad": "x" * 100_000})
    for path in (JOIN, "/api/v1/cta"):  # views that never read their body
        response = harness.post(path, uid, data=big, content_type="application/json")
        assert response.status_code == 413, path
        assert response.get_json()["error"]["code"] == "payload_too_large"
    assert harness.backend.rows(uid) == []


def test_wrong_method_and_unknown_path_are_json(harness) -> None:
    assert harness.client.get(HB).get_json()["error"]["code"] == "method_not_allowed"
    missing = harness.client.get("/api/v1/nope")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"


def test_heartbeats_are_rate_limited_per_user(make_harness) -> None:
    harness = make_harness(HEARTBEAT_RATE_LIMIT="5 per minute")
    uid, other = harness.backend.new_user(), harness.backend.new_user()
    harness.post(JOIN, uid)
    harness.post(JOIN, other)
    codes = [harness.post(HB, uid, json={"position_sec": 0}).status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    limited = harness.post(HB, uid, json={"position_sec": 0})
    assert limited.get_json()["error"]["code"] == "rate_limited"
    assert harness.post(HB, other, json={"position_sec": 0}).status_code == 200


def test_a_long_viewing_gets_fresh_tokens(harness) -> None:
    uid = harness.backend.new_user()
    token = harness.token(uid)
    harness.post(JOIN, uid, token=token)
    harness.clock.advance(100)
    assert "token" not in harness.post(HB, uid, token=token, json={"position_sec": 90}).get_json()
    harness.clock.advance(250)
    body = harness.post(HB, uid, token=token, json={"position_sec": 99}).get_json()
    fresh = body["token"]
    harness.clock.advance(400)  # the first token is now expired; the fresh one is not
    assert harness.post(HB, uid, token=token, json={"position_sec": 99}).status_code == 401
    assert harness.post(HB, uid, token=fresh, json={"position_sec": 99}).status_code == 200


def test_player_page_headers_and_honest_content(make_harness) -> None:
    harness = make_harness(FRAME_ANCESTORS="https://site.example", LOCALE="en",
                           LIVE_WEBINARS_URL="https://site.example/live/")
    uid = harness.backend.new_user()
    response = harness.client.get(f"/embed?token={harness.token(uid)}")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors https://site.example" in csp and "script-src 'self'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    page = response.get_data(as_text=True)
    assert page.count('data-testid="recording-badge"') == 1 and "Recording" in page
    assert "https://site.example/live/" in page
    # nothing simulated: no chat box, no attendee or "online" counters, no forms
    for forbidden in ("<form", "<textarea", 'id="chat', 'class="chat', "online", "attendee",
                      "watching now"):
        assert forbidden not in page.lower()


def test_a_tab_behind_another_is_answered_from_the_stored_viewing(harness) -> None:
    # Two tabs of one viewer: B plays on past the CTA while A sits near the start. A's next
    # heartbeat is answered as the stored viewing stands (B's position, the CTA visible), on
    # the one-statement path too (which then defers to the read: the stored position is
    # further on than A's report).
    uid = harness.backend.new_user()
    tab_a = harness.post(JOIN, uid).get_json()["anchor"]
    harness.post(JOIN, uid)  # tab B: harness.post echoes its anchors from here on
    for t in range(10, 71, 10):
        harness.clock.advance(10)
        assert harness.post(HB, uid, json={"position_sec": t}).status_code == 200
    answer = harness.post(HB, uid, json={"position_sec": 5, "anchor": tab_a}).get_json()
    assert answer["position_sec"] == 70 and answer["cta_visible"] is True
    assert answer["clamped"] is False
    assert harness.backend.meta(uid)[META_KEYS["last_position_sec"]] == "70"


@pytest.mark.mysql
def test_statements_per_heartbeat_on_mariadb(mysql_backend, tmp_path) -> None:
    from sqlalchemy import event

    from autowebinar_wp import create_app
    from tests.support import attach
    from tests.wire import WireLog

    app = create_app({"DATABASE_URL": mysql_backend.url, "EMBED_SECRET": SECRET,
                      "VIDEO_DURATION_SEC": 100}, instance_path=str(tmp_path))
    harness = attach(app, mysql_backend)
    uid = harness.backend.new_user()
    harness.post(JOIN, uid)
    harness.clock.advance(10)
    seen: list[str] = []
    engine = harness.services.engine

    def record(conn, cursor, statement, *args):
        seen.append(statement.split()[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        with WireLog() as wire:
            assert harness.post(HB, uid, json={"position_sec": 10}).status_code == 200
        harness.clock.advance(20)
        with WireLog() as crossing:  # 10 -> 30: the 25 % milestone
            assert harness.post(HB, uid, json={"position_sec": 30}).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", record)
    # The common heartbeat: one UPDATE, in autocommit, that moves position and last-seen
    # forward for the anchor's session (joined to the session row): no read, no lock, no
    # COMMIT, no ROLLBACK at check-in.
    assert wire.commands == ["UPDATE"]
    # Crossing a milestone: read, then the compare-and-set that decides the event, then the
    # forward update.
    assert crossing.commands == ["SELECT", "UPDATE", "UPDATE"]
    assert seen == ["UPDATE", "SELECT", "UPDATE", "UPDATE"]


def test_an_unreachable_database_is_a_503_json(tmp_path) -> None:
    from autowebinar_wp import create_app, tokens

    app = create_app({"DATABASE_URL": "mysql+pymysql://nobody@127.0.0.1:1/none",
                      "EMBED_SECRET": SECRET, "LOG_LEVEL": "CRITICAL"},
                     instance_path=str(tmp_path))
    token = tokens.mint(SECRET, 5)
    response = app.test_client().post(JOIN, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "database_unavailable"


# ---- the player's media: sources, HLS, captions; its error reports ----------------------------

PLAYER_ERROR = "/api/v1/player/error"


def embed_page(harness):
    response = harness.client.get(f"/embed?token={harness.token(harness.backend.new_user())}")
    assert response.status_code == 200
    return response, response.get_data(as_text=True)


def test_the_demo_video_comes_with_its_captions_in_both_languages(make_harness) -> None:
    _response, page = embed_page(make_harness(LOCALE="ru"))
    assert '<source src="/static/demo/demo.webm" type="video/webm">' in page
    assert ('<track kind="captions" src="/static/demo/demo.ru.vtt" srclang="ru" '
            'label="Русский">') in page
    assert 'srclang="en" label="English"' in page
    assert 'crossorigin' not in page  # same-origin files need no CORS
    assert "player-captions.js" in page and "player-hls.js" not in page
    config = json.loads(page.split('id="aw-config">', 1)[1].split("</script>", 1)[0])
    assert config["media"]["captionsDefault"] == "ru" and config["media"]["hls"] is None
    assert config["api"]["error"] == PLAYER_ERROR


def test_an_hls_source_is_left_to_the_script_with_a_progressive_fallback(make_harness) -> None:
    harness = make_harness(VIDEO_URL="https://cdn.example/w/index.m3u8?sig=1, "
                                     "https://cdn.example/w/full.mp4",
                           CAPTIONS={"en": "https://subs.example/en.vtt"})
    response, page = embed_page(harness)
    assert "<source" not in page  # nothing loads before the server says where to start
    assert "player-hls.js" in page
    config = json.loads(page.split('id="aw-config">', 1)[1].split("</script>", 1)[0])
    media = config["media"]
    assert media["hls"] == "https://cdn.example/w/index.m3u8?sig=1"
    assert media["fallback"] == [{"src": "https://cdn.example/w/full.mp4", "type": "video/mp4"}]
    assert media["hlsJs"] == "/static/vendor/hls.js/hls.light.min.js"
    assert 'crossorigin="anonymous"' in page  # the captions are on another origin
    csp = response.headers["Content-Security-Policy"]
    assert "media-src 'self' https://cdn.example https://subs.example blob:;" in csp
    assert "connect-src 'self' https://cdn.example;" in csp  # hls.js fetches the segments
    assert "worker-src" not in csp and "script-src 'self';" in csp  # the worker is 'self'


def test_a_progressive_video_without_captions_loads_neither_extra_script(make_harness) -> None:
    _response, page = embed_page(make_harness(VIDEO_URL="/media/talk.webm"))
    assert "player-hls.js" not in page and "player-captions.js" not in page
    assert "<track" not in page and 'id="aw-cc"' not in page


def test_the_player_page_is_never_cached_even_when_refused(make_harness) -> None:
    harness = make_harness()
    for token in (harness.token(harness.backend.new_user()), "broken",
                  harness.token(harness.backend.new_user(), ttl=-60)):
        response = harness.client.get(f"/embed?token={token}")
        assert response.headers["Cache-Control"] == "no-store", response.status_code


def player_errors(caplog):
    return [r for r in caplog.records if r.getMessage() == "player error"]


@pytest.mark.parametrize(("body", "source"), [
    ({"kind": "playlist", "detail": "manifestParsingError"}, "https://cdn.example/w/index.m3u8"),
    ({"kind": "video", "detail": "MEDIA_ERR 4"}, "https://cdn.example/w/index.m3u8"),
    ({"kind": "unsupported"}, "https://cdn.example/w/index.m3u8"),
    ({"kind": "captions", "detail": "track load failed", "lang": "en"}, "/subs/en.vtt"),
])
def test_a_player_error_is_one_log_line_and_writes_nothing(make_harness, caplog, body,
                                                           source) -> None:
    harness = make_harness(VIDEO_URL="https://cdn.example/w/index.m3u8?sig=secret",
                           CAPTIONS={"en": "/subs/en.vtt"})
    uid = harness.backend.new_user()
    harness.post(JOIN, uid)
    before = harness.backend.rows(uid)
    with caplog.at_level("WARNING", logger="autowebinar_wp.web.viewer"):
        response = harness.post(PLAYER_ERROR, uid, json=body)
    assert response.status_code == 204
    [record] = player_errors(caplog)
    assert (record.kind, record.user_id, record.source) == (body["kind"], uid, source)
    assert "secret" not in record.source  # a signed CDN URL's query string stays out of logs
    assert harness.backend.rows(uid) == before


@pytest.mark.parametrize("body", [
    {}, {"kind": "chat"}, {"kind": "video", "detail": "<script>"}, {"kind": "video", "detail": 5},
    {"kind": "video", "detail": "x" * 81}, {"kind": "captions"},
    {"kind": "captions", "lang": "de"}, {"kind": "video", "lang": "en"}, [], "video",
])
def test_a_malformed_player_error_is_400_and_not_logged(make_harness, caplog, body) -> None:
    harness = make_harness(CAPTIONS={"en": "/subs/en.vtt"})
    uid = harness.backend.new_user()
    with caplog.at_level("WARNING", logger="autowebinar_wp.web.viewer"):
        response = harness.post(PLAYER_ERROR, uid, json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] in ("invalid_player_error", "bad_request")
    assert player_errors(caplog) == [] and harness.backend.rows(uid) == []


def test_player_errors_need_a_token_and_are_rate_limited(make_harness) -> None:
    harness = make_harness(PLAYER_ERROR_RATE_LIMIT="2 per minute")
    assert harness.post(PLAYER_ERROR, json={"kind": "video"}).status_code == 401
    uid = harness.backend.new_user()
    statuses = [harness.post(PLAYER_ERROR, uid, json={"kind": "video"}).status_code
                for _ in range(3)]
    assert statuses == [204, 204, 429]
