"""Signed anchors: the honest clock's (position, time) of one viewing, carried by the client.

The anchor (session.Anchor) must survive across worker processes and hosts with millisecond
precision, which the store's one-second datetimes cannot give, and the spec allows no new
usermeta key. So the service signs it and the player echoes it on the next heartbeat or
leave. It is an itsdangerous signed value (the Pallets library Flask itself uses for signed
cookies): compact JSON in URL-safe base64, HMAC-SHA256 with a key derived from EMBED_SECRET
for this one use (the salt), so an anchor is never accepted as anything else, nor anything
else as an anchor. One `Signer` per secret is kept (a `Serializer` builds a new one and
derives its key on every call): signing and checking cost ~10 µs a heartbeat, against ~60 µs
for a JWT (BENCHMARKS.md). A client can hold on
to old anchors, but each one only ever credits wall-clock time since it was issued
(session.py), so replaying one gains nothing.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from typing import Any

from itsdangerous import BadData, Signer
from itsdangerous.encoding import base64_decode, base64_encode

from autowebinar_wp.errors import AnchorMismatch, InvalidAnchor
from autowebinar_wp.session import Anchor

SALT = "autowebinar-wp/anchor/v1"
MAX_LENGTH = 512
CLOCK_SKEW_MS = 300_000  # an anchor "issued" further in the future than this is forged


@lru_cache(maxsize=8)
def _signer(secret: str) -> Signer:
    return Signer(secret, salt=SALT, digest_method=hashlib.sha256)


def seal(secret: str, value: Any) -> str:
    """`value` as compact JSON in URL-safe base64, signed."""
    data = base64_encode(json.dumps(value, separators=(",", ":")).encode())
    return _signer(secret).sign(data).decode("ascii")


def unseal(secret: str, value: str) -> Any:
    """What `seal` sealed; BadData (itsdangerous) or ValueError if it is not that."""
    return json.loads(base64_decode(_signer(secret).unsign(value)))


def sign(secret: str, user_id: int, anchor: Anchor, ttl_sec: int) -> str:
    """[user, session, position ms, time ms, expiry s], signed."""
    expires = anchor.at_ms // 1000 + int(ttl_sec)
    return seal(secret, [user_id, anchor.session_id, anchor.position_ms, anchor.at_ms,
                         expires])


def verify(secret: str, value: object, user_id: int, now_sec: float) -> Anchor:
    """The anchor `value` carries for `user_id`: InvalidAnchor (401) if forged, malformed or
    expired, AnchorMismatch (403) if it was issued to another user."""
    if not isinstance(value, str) or not value or len(value) > MAX_LENGTH:
        raise InvalidAnchor()
    try:
        claims: Any = unseal(secret, value)
    except (BadData, ValueError) as exc:
        raise InvalidAnchor() from exc
    if not isinstance(claims, list) or len(claims) != 5:
        raise InvalidAnchor()
    owner, sid, position, at, expires = claims
    numbers = (owner, position, at, expires)
    if not isinstance(sid, str) or not all(type(n) is int and n >= 0 for n in numbers):
        raise InvalidAnchor()
    if expires < now_sec:
        raise InvalidAnchor("The anchor has expired; join again.")
    if at > now_sec * 1000 + CLOCK_SKEW_MS:
        raise InvalidAnchor()
    if owner != user_id:
        raise AnchorMismatch()
    return Anchor(sid, position, at)
