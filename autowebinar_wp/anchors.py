"""Signed anchors: the honest clock's (position, time) of one viewing, carried by the client.

The anchor (session.Anchor) must survive across worker processes and hosts with millisecond
precision, which the store's one-second datetimes cannot give, and the spec allows no new
usermeta key. So the service signs it and the player echoes it on the next heartbeat or
leave: a compact HS256 JWT (PyJWT, algorithm pinned), audience `autowebinar-anchor`, with a
key derived from EMBED_SECRET for this one use, so an anchor is never accepted as an embed
token or the other way round. A client can hold on to old anchors, but each one only ever
credits wall-clock time since it was issued (session.py), so replaying one gains nothing.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

import jwt

from autowebinar_wp.errors import AnchorMismatch, InvalidAnchor
from autowebinar_wp.session import Anchor

ALGORITHM = "HS256"
AUDIENCE = "autowebinar-anchor"
MAX_LENGTH = 1024


@lru_cache(maxsize=8)
def _key(secret: str) -> bytes:
    return hmac.new(secret.encode(), b"autowebinar-wp/anchor/v1", hashlib.sha256).digest()


def sign(secret: str, user_id: int, anchor: Anchor, ttl_sec: int) -> str:
    claims = {"sub": str(user_id), "aud": AUDIENCE, "sid": anchor.session_id,
              "p": anchor.position_ms, "t": anchor.at_ms,
              "exp": anchor.at_ms // 1000 + int(ttl_sec)}
    return jwt.encode(claims, _key(secret), algorithm=ALGORITHM)


def verify(secret: str, value: object, user_id: int, now_sec: float) -> Anchor:
    """The anchor `value` carries for `user_id`: InvalidAnchor (401) if forged, malformed or
    expired, AnchorMismatch (403) if it was issued to another user."""
    if not isinstance(value, str) or not value or len(value) > MAX_LENGTH:
        raise InvalidAnchor()
    try:
        claims = jwt.decode(value, _key(secret), algorithms=[ALGORITHM], audience=AUDIENCE,
                            options={"require": ["sub", "sid", "p", "t", "exp"],
                                     "verify_exp": False})
    except jwt.PyJWTError as exc:
        raise InvalidAnchor() from exc
    sid, position, at, exp = claims["sid"], claims["p"], claims["t"], claims["exp"]
    numbers = (position, at, exp)
    if not isinstance(sid, str) or not all(type(n) is int and n >= 0 for n in numbers):
        raise InvalidAnchor()
    if exp < now_sec:
        raise InvalidAnchor("The anchor has expired; join again.")
    if at > (now_sec + 300) * 1000:  # issued in the future beyond any clock skew
        raise InvalidAnchor()
    if claims["sub"] != str(user_id):
        raise AnchorMismatch()
    return Anchor(sid, position, at)
