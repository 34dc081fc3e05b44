"""A hand-written, bounded fuzzer for what schemathesis does not send, against a real `serve`.

Raw HTTP over a socket (so nothing is normalised on the way: `..` in paths, bad bytes in
headers): invalid UTF-8, duplicated JSON keys, deep nesting, 2 MB bodies (with and without
Content-Length), NaN and Infinity, wrong content types, very long Authorization headers,
path traversal under /static, forged tokens (alg none, HS512, iat in the future, another
secret, an escalated role) and forged or expired anchors; then a few hundred seeded random
mutations of valid requests. 0 responses >= 500; every refusal by the app is the JSON error
body; the viewer's position never gets ahead of the wall clock; and (the fuzz_target
fixture) no row outside our namespaces changes and every namespace row is well formed.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import http.client
import json
import random
import socket
import time
import warnings
from collections import Counter
from dataclasses import dataclass
from typing import Any

import jwt
import pytest

from autowebinar_wp import anchors, tokens
from autowebinar_wp.session import Anchor
from tests.live.support import LINK_SECRET
from tests.reliability import figures
from tests.reliability.conftest import CORE_SECRET
from tests.support import SECRET

pytestmark = [pytest.mark.reliability, pytest.mark.mysql, pytest.mark.slow]

MUTATIONS = 300
TWO_MB = 2 * 1024 * 1024
OTHER_SECRET = "another-secret-0123456789abcdef0123456789abcdef"
VIEWER_POSTS = ("/api/v1/session/join", "/api/v1/session/heartbeat", "/api/v1/session/leave",
                "/api/v1/player/error",
                "/api/v1/cta", "/api/v1/live/register", "/api/v1/live/join")
ADMIN_GETS = ("/api/v1/admin/funnel", "/api/v1/admin/progress", "/admin/export.csv",
              "/api/v1/admin/live", "/admin/live/registrations.csv")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def from_app(self) -> bool:
        """Answered by our app (every response of it carries this header), not by granian."""
        return self.headers.get("x-content-type-options") == "nosniff"

    def json_error(self) -> bool:
        try:
            error = json.loads(self.body)["error"]
        except (ValueError, KeyError, TypeError):
            return False
        return isinstance(error.get("code"), str) and isinstance(error.get("message"), str)


def send(port: int, method: str, target: bytes | str, headers: dict[str, bytes | str] | None
         = None, body: bytes = b"", *, length: bool = True, chunked: bool = False) -> Answer:
    """One request exactly as given; the answer (status 0: the server closed the connection)."""
    def raw(value: bytes | str) -> bytes:
        return value if isinstance(value, bytes) else value.encode()

    lines = [raw(method) + b" " + raw(target) + b" HTTP/1.1", b"Host: 127.0.0.1",
             b"Connection: close"]
    lines += [raw(k) + b": " + raw(v) for k, v in (headers or {}).items()]
    if chunked:
        lines.append(b"Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 65536]), body[i:i + 65536])
                           for i in range(0, len(body), 65536)) + b"0\r\n\r\n"
    else:
        payload = body
        if length and (body or method == "POST"):
            lines.append(b"Content-Length: %d" % len(body))
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        # the server may refuse early (413 before reading the body): then read its answer
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(b"\r\n".join(lines) + b"\r\n\r\n" + payload)
        response = http.client.HTTPResponse(sock)
        try:
            response.begin()
            data = response.read()
        except (http.client.HTTPException, ConnectionResetError, TimeoutError):
            return Answer(0, {}, b"")
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, data)


class Fuzzer:
    def __init__(self, target: Any) -> None:
        self.target = target
        self.port = target.served.port
        self.seen: Counter[int] = Counter()
        self.problems: list[str] = []

    def check(self, label: str, answer: Answer, *, expect: set[int] | None = None) -> Answer:
        self.seen[answer.status] += 1
        if answer.status >= 500:
            self.problems.append(f"{label}: {answer.status} {answer.body[:200]!r}")
        elif expect is not None and answer.status not in expect:
            self.problems.append(f"{label}: {answer.status}, expected {sorted(expect)} "
                                 f"{answer.body[:200]!r}")
        elif answer.status >= 400 and answer.from_app and not answer.json_error() and (
                answer.headers.get("content-type", "").startswith("application/json")):
            self.problems.append(f"{label}: a JSON error without code and message")
        return answer

    def post(self, label: str, path: str, body: bytes, token: str | None = None,
             content_type: str = "application/json", expect: set[int] | None = None,
             **extra: Any) -> Answer:
        headers: dict[str, bytes | str] = {"Content-Type": content_type}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        headers.update(extra.pop("headers", {}))
        return self.check(label, send(self.port, "POST", path, headers, body, **extra),
                          expect=expect)

    def get(self, label: str, path: bytes | str, headers: dict[str, bytes | str] | None = None,
            expect: set[int] | None = None) -> Answer:
        return self.check(label, send(self.port, "GET", path, headers), expect=expect)


def hs512(claims: dict[str, Any]) -> str:
    with warnings.catch_warnings():  # PyJWT warns that the key is short for SHA-512
        warnings.simplefilter("ignore")
        return jwt.encode(claims, SECRET, algorithm="HS512")


def forged_tokens(user_id: int) -> dict[str, str]:
    now = int(time.time())
    claims = {"sub": str(user_id), "iat": now, "exp": now + 600, "aud": "autowebinar",
              "role": "viewer", "auth_time": now}

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return {
        "alg none": f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims)}.",
        "alg none, role admin": f"{b64({'alg': 'none'})}.{b64({**claims, 'role': 'admin'})}.",
        "HS512": hs512(claims),
        "iat in the future": jwt.encode({**claims, "iat": now + 3600, "exp": now + 4000,
                                         "auth_time": now + 3600}, SECRET, algorithm="HS256"),
        "another secret": jwt.encode(claims, OTHER_SECRET, algorithm="HS256"),
        "escalated role, another secret": jwt.encode({**claims, "role": "admin"}, OTHER_SECRET,
                                                     algorithm="HS256"),
        "unknown role": jwt.encode({**claims, "role": "superadmin"}, SECRET, algorithm="HS256"),
        "admin living 2 days": jwt.encode({**claims, "role": "admin", "exp": now + 172800},
                                          SECRET, algorithm="HS256"),
        "expired": jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600,
                               "auth_time": now - 7200}, SECRET, algorithm="HS256"),
        "no audience": jwt.encode({k: v for k, v in claims.items() if k != "aud"}, SECRET,
                                  algorithm="HS256"),
        "sub not a user": jwt.encode({**claims, "sub": "-1"}, SECRET, algorithm="HS256"),
        "sub huge": jwt.encode({**claims, "sub": "9" * 40}, SECRET, algorithm="HS256"),
        "exp a string": jwt.encode({**claims, "exp": str(now + 600)}, SECRET,
                                   algorithm="HS256"),
        "link token as embed token": jwt.encode({**claims, "aud": "autowebinar-live"},
                                                LINK_SECRET, algorithm="HS256"),
        "garbage": "a.b.c",
        "empty segments": "..",
        "not base64": "%%%.%%%.%%%",
    }


def signed_core(body: bytes) -> dict[str, bytes | str]:
    """Standard Webhooks headers for `body` as bytes (any bytes, even invalid UTF-8)."""
    stamp = str(int(time.time()))
    msg_id = f"msg_{random.Random(body).randrange(10**12)}"
    key = base64.b64decode(CORE_SECRET.removeprefix("whsec_"))
    mac = hmac.new(key, f"{msg_id}.{stamp}.".encode() + body, hashlib.sha256).digest()
    return {"webhook-id": msg_id, "webhook-timestamp": stamp,
            "webhook-signature": "v1," + base64.b64encode(mac).decode()}


HOSTILE_BODIES: dict[str, bytes] = {
    "invalid UTF-8": b'{"position_sec": 1, "anchor": "\xff\xfe\xfd"}',
    "invalid UTF-8 only": b"\xff\xfe\xfd\xfc",
    "overlong UTF-8": b'{"slot_id": "\xc0\xaf\xc0\xae"}',
    "lone surrogate escape": b'{"position_sec": 1, "slot_id": "\\ud800", "anchor": "\\udfff"}',
    "duplicate keys": b'{"position_sec": 1, "position_sec": 1e308, "slot_id": "soon", '
                      b'"slot_id": ["x"]}',
    "deep array nesting": b"[" * 8000 + b"]" * 8000,
    "deep object nesting": b'{"a":' * 2000 + b"1" + b"}" * 2000,
    "deep nesting under a key": b'{"position_sec": ' + b"[" * 5000 + b"]" * 5000 + b"}",
    "NaN": b'{"position_sec": NaN}',
    "Infinity": b'{"position_sec": Infinity}',
    "-Infinity": b'{"position_sec": -Infinity}',
    "1e999": b'{"position_sec": 1e999}',
    "-0.0": b'{"position_sec": -0.0}',
    "5000-digit integer": b'{"position_sec": ' + b"9" * 5000 + b"}",
    "number as string": b'{"position_sec": "12"}',
    "boolean": b'{"position_sec": true}',
    "null": b"null",
    "array": b"[1, 2, 3]",
    "string": b'"position_sec"',
    "truncated": b'{"position_sec": 1',
    "NUL bytes": b'{"position_sec\x00": 1, "slot_id": "so\x00on"}',
    "BOM": b'\xef\xbb\xbf{"position_sec": 1}',
    "UTF-16": '{"position_sec": 1}'.encode("utf-16"),
    "empty": b"",
}
CONTENT_TYPES = ("application/json", "text/plain", "application/x-www-form-urlencoded",
                 "multipart/form-data; boundary=xyz", "application/json; charset=latin-1",
                 "application/json; charset=utf-16", "image/png", "", "*/*;;;==")
TRAVERSALS = (
    "/static/../autowebinar_wp/config.py", "/static/../../etc/passwd",
    "/static/%2e%2e/%2e%2e/etc/passwd", "/static/%2e%2e%2fautowebinar_wp%2fconfig.py",
    "/static/..%2f..%2f..%2fetc%2fpasswd", "/static/..%5c..%5cetc%5cpasswd",
    "/static/....//....//etc/passwd", "/static/%252e%252e/%252e%252e/etc/passwd",
    "/static/player.js%00.png", "/static//etc/passwd", "/static/%c0%ae%c0%ae/etc/passwd",
    "/static/demo/../../../instance/autowebinar.sqlite3", "/static/.", "/static/..",
    "/static/" + "a/" * 2000, "/live/slot/..%2f..%2fetc%2fpasswd.ics", "/l/o/..%2f..",
)
LEAKS = (b"root:x:0", b"EMBED_SECRET", b"SQLite format", b"import ")


def test_hostile_requests_get_no_server_error(fuzz_target, mysql_backend) -> None:
    f = Fuzzer(fuzz_target)
    viewer, admin = fuzz_target.viewer_token, fuzz_target.admin_token
    uid = fuzz_target.viewer_id

    joined = f.post("join", "/api/v1/session/join", b"{}", viewer, expect={200})
    joined_at = time.time()
    good = json.loads(joined.body)
    anchor, sid = good["anchor"], good["session_id"]

    # -- bodies and content types, on every JSON endpoint, with a valid token ---------------
    for name, body in HOSTILE_BODIES.items():
        for path in VIEWER_POSTS:
            f.post(f"{name} -> {path}", path, body, viewer)
        f.post(f"{name} -> core events (signed)", "/api/v1/core/events", body,
               headers=signed_core(body))
    for content_type in CONTENT_TYPES:
        for body in (b'{"position_sec": 1}', b"position_sec=abc&token=" + viewer.encode(),
                     b"--xyz\r\nContent-Disposition: form-data; name=\"position_sec\"\r\n\r\n"
                     b"NaN\r\n--xyz--\r\n"):
            for path in VIEWER_POSTS:
                f.post(f"{content_type} -> {path}", path, body, viewer, content_type)
    # a beacon-style leave: the token in a form body, bad numbers
    for form in (b"token=" + viewer.encode() + b"&position_sec=NaN",
                 b"token=" + viewer.encode() + b"&position_sec=1e999",
                 b"token=" + viewer.encode() + b"&position_sec=%ff%fe",
                 b"token=%ff&position_sec=1", b"token=" + b"A" * 10000):
        f.post("form leave", "/api/v1/session/leave", form, None,
               "application/x-www-form-urlencoded")
    # signed Core events with hostile but valid-JSON fields
    for event in ({"event": "core_user_registered", "event_id": "x" * 500, "user_id": 1,
                   "timestamp": "2026-01-01T00:00:00Z"},
                  {"event": "core_user_registered", "event_id": "e1", "user_id": 2**70,
                   "timestamp": "2026-01-01T00:00:00Z"},
                  {"event": "core_user_login", "event_id": "e2", "user_id": 1.5,
                   "timestamp": "not a date"},
                  {"event": "core_user_login", "event_id": "e3", "user_id": "0",
                   "timestamp": "9999-99-99"},
                  {"event": ["core_user_login"], "event_id": {}, "user_id": None}):
        body = json.dumps(event).encode()
        f.post("core event", "/api/v1/core/events", body, headers=signed_core(body),
               expect={202, 400})

    # -- 2 MB bodies: refused before they are read ------------------------------------------
    big = b'{"position_sec": 1, "pad": "' + b"a" * TWO_MB + b'"}'
    for path in (*VIEWER_POSTS, "/api/v1/core/events"):
        f.post(f"2 MB -> {path}", path, big, viewer, expect={413, 0})
        # without a length, Werkzeug reads no body unless the server marks its end
        # (wsgi.input_terminated); a view that reads it sees at most MAX_CONTENT_LENGTH
        f.post(f"2 MB chunked -> {path}", path, big, viewer, chunked=True)

    # -- headers --------------------------------------------------------------------------------
    for size in (5000, 64 * 1024, 1024 * 1024):
        for path in ("/api/v1/session/join", "/api/v1/admin/funnel"):
            f.post(f"Authorization of {size} B -> {path}", path, b"{}", "A" * size)
    for value in (b"Bearer \xff\xfe\xfd", b"Bearer", b"Bearer  ", b"Basic dXNlcjpwYXNz",
                  b"bearer " + viewer.encode() + b" trailing", b"Bearer " + b"." * 5000):
        f.post("odd Authorization", "/api/v1/session/join", b"{}",
               headers={"Authorization": value})
    f.get("many headers", "/healthz", {f"X-H{i}": "v" * 100 for i in range(500)})

    # -- path traversal under /static and elsewhere -------------------------------------------
    for target in TRAVERSALS:
        answer = f.get(f"traversal {target[:40]}", target)
        assert answer.status != 200 or not any(leak in answer.body for leak in LEAKS), target
    assert f.get("a real static file", "/static/player.js").status == 200

    # -- forged tokens: never accepted, nothing written --------------------------------------
    rows_before = mysql_backend.all_rows(uid)
    for name, token in forged_tokens(uid).items():
        for path in VIEWER_POSTS:
            f.post(f"token {name} -> {path}", path, b'{"position_sec": 1}', token,
                   expect={401, 403, 429})
        for path in ADMIN_GETS:
            f.get(f"token {name} -> {path}", path, {"Authorization": f"Bearer {token}"},
                  expect={401, 403, 429})
        f.get(f"token {name} -> embed", f"/embed?token={token}", expect={401, 429})
        f.get(f"token {name} -> link", f"/l/c/{token}", expect={400, 410})
    for path in ADMIN_GETS:  # a viewer's real token on the admin API: refused
        f.get(f"viewer token -> {path}", path, {"Authorization": f"Bearer {viewer}"},
              expect={401, 403})
        f.get(f"viewer token in the query -> {path}", f"{path}?token={viewer}",
              expect={401, 403})
    assert mysql_backend.all_rows(uid) == rows_before, "a forged token wrote something"

    # -- forged and expired anchors -----------------------------------------------------------
    now_ms = int(time.time() * 1000)
    other = mysql_backend.new_user()
    fuzz_target.touched.add(other)
    bad_anchors: dict[str, Any] = {
        "tampered": anchor[:-2] + ("AA" if not anchor.endswith("AA") else "BB"),
        "another secret": anchors.sign(OTHER_SECRET, uid, Anchor(sid, 3_000_000, now_ms), 600),
        "expired": anchors.sign(SECRET, uid, Anchor(sid, 0, now_ms - 86_400_000), 60),
        "from the future": anchors.sign(SECRET, uid, Anchor(sid, 0, now_ms + 3_600_000), 600),
        "another user's": anchors.sign(SECRET, other, Anchor(sid, 0, now_ms), 600),
        "another session": anchors.sign(SECRET, uid, Anchor("0" * 36, 0, now_ms - 10**9), 600),
        "a JWT": tokens.mint(SECRET, uid),
        "a number": 12345,
        "a list": [uid, sid, 0, 0, 0],
        "an object": {"anchor": anchor},
        "10 KB": "A" * 10240,
        "empty": "",
    }
    for name, value in bad_anchors.items():
        for path in ("/api/v1/session/heartbeat", "/api/v1/session/leave"):
            body = json.dumps({"position_sec": 3_000_000, "anchor": value}).encode()
            f.post(f"anchor {name} -> {path}", path, body, viewer, expect={400, 401, 403})
    # after all that, an honest heartbeat with the real anchor still works, and the stored
    # position never got ahead of the wall clock since the join
    f.post("honest heartbeat", "/api/v1/session/heartbeat",
           json.dumps({"position_sec": 1, "anchor": anchor}).encode(), viewer, expect={200})
    stored = int(mysql_backend.meta(uid)["autowebinar_last_position_sec"])
    assert stored <= time.time() - joined_at + good["position_sec"] + 2

    # -- query strings ------------------------------------------------------------------------
    for query in ("page=-1", "page=99999999999999999999", "per_page=0", "per_page=%ff",
                  "sort=../../", "page=%d9%a1%d9%a2", "page=1&page=2&page=x",
                  "sort=" + "a" * 10000, "slot_id=%00", "slot_id=../../etc"):
        for path in ADMIN_GETS:
            f.get(f"{path}?{query[:30]}", f"{path}?{query}", {"Authorization": f"Bearer {admin}"})

    # -- seeded random mutations of valid requests --------------------------------------------
    rng = random.Random(20261126)
    templates = [(p, b'{"position_sec": 12.5, "anchor": "' + anchor.encode() + b'"}')
                 for p in VIEWER_POSTS]
    for i in range(MUTATIONS):
        path, body = rng.choice(templates)
        data = bytearray(body)
        for _ in range(rng.randint(1, 8)):
            op = rng.random()
            at = rng.randrange(len(data) + 1)
            if op < 0.4 and data:
                data[min(at, len(data) - 1)] = rng.randrange(256)
            elif op < 0.7:
                data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
            elif data:
                del data[at:at + rng.randint(1, 8)]
        f.post(f"mutation {i} -> {path}", path, bytes(data), viewer,
               rng.choice(CONTENT_TYPES))

    figures.record("fuzz_hostile", requests=sum(f.seen.values()),
                   statuses=dict(sorted(f.seen.items())),
                   server_errors=sum(v for k, v in f.seen.items() if k >= 500),
                   problems=len(f.problems))
    assert not f.problems, "\n".join(f.problems[:40])
