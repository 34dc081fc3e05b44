"""Tracking links for the CRM's emails and notifications (DESIGN §7): HS256 JWTs.

Signed with LIVE_LINK_SECRET, a key the CRM holds (never EMBED_SECRET: whoever holds the
link key can only make tracking links, not viewer or admin tokens). Claims:

* ``sub``  - the WordPress user id, as a string (like the embed tokens);
* ``aud``  - ``autowebinar-live`` (an embed token can never pass as a link, and back);
* ``n``    - the notification id the CRM chose (``reminder-24h``): 1-64 of ``A-Za-z0-9._:-``;
* ``u``    - the target URL of a click link (http or https); absent in an open pixel;
* ``exp``  - expiry, Unix seconds (required: an email link must not work for ever);
* ``slot`` - optional: the slot the notification is about (same shape as a slot id);
* ``iat``  - optional.

Verification uses PyJWT with the algorithm pinned and the audience checked; the clock is
injected. Pure: no I/O.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt

from autowebinar_wp.errors import LinkExpired, LinkInvalid

ALGORITHM = "HS256"
AUDIENCE = "autowebinar-live"
MAX_TOKEN_LEN = 4096
MAX_URL_LEN = 2048
NOTIFICATION_RE = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
SLOT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
USER_RE = re.compile(r"^[1-9][0-9]{0,18}$")


@dataclass(frozen=True, slots=True)
class Link:
    """What a verified link says."""

    user_id: int
    notification: str
    url: str | None
    slot_id: str | None
    expires_at: int


def valid_target(url: str) -> bool:
    parts = urlsplit(url)
    return (len(url) <= MAX_URL_LEN and parts.scheme in ("http", "https")
            and bool(parts.netloc) and not any(ch in url for ch in "\r\n\t "))


def mint(secret: str, user_id: int, notification: str, *, url: str | None = None,
         slot_id: str | None = None, ttl_sec: int = 30 * 86400,
         now: float | None = None) -> str:
    """A link token; ValueError for claims the verifier would refuse."""
    if user_id < 1:
        raise ValueError("user_id must be a positive WordPress user id")
    if not NOTIFICATION_RE.match(notification):
        raise ValueError("notification must be 1-64 characters of A-Z a-z 0-9 . _ : -")
    if url is not None and not valid_target(url):
        raise ValueError("url must be an absolute http(s) URL")
    if slot_id is not None and not SLOT_RE.match(slot_id):
        raise ValueError("slot_id is not a slot id")
    if ttl_sec < 1:
        raise ValueError("ttl_sec must be positive")
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {"sub": str(user_id), "aud": AUDIENCE, "n": notification,
                              "iat": issued, "exp": issued + int(ttl_sec)}
    if url is not None:
        claims["u"] = url
    if slot_id is not None:
        claims["slot"] = slot_id
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: str | None, token: str, *, now: float, leeway_sec: int = 0,
           click: bool) -> Link:
    """The link's claims; LinkExpired or LinkInvalid for anything else.

    `click=True` requires a target URL (`u`), `click=False` (the open pixel) ignores one.
    """
    if not secret or not token or len(token) > MAX_TOKEN_LEN:
        raise LinkInvalid()
    # Times are checked below against the injected clock; `iat` is informational only (a
    # CRM whose clock runs a little ahead must not break its own links).
    options = {"require": ["sub", "aud", "exp", "n"], "verify_exp": False,
               "verify_iat": False, "verify_nbf": False}
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=AUDIENCE,
                            options=options, leeway=leeway_sec)  # type: ignore[arg-type]
    except jwt.PyJWTError as exc:
        raise LinkInvalid() from exc
    exp, sub, notification = claims.get("exp"), claims.get("sub"), claims.get("n")
    url, slot = claims.get("u"), claims.get("slot")
    if isinstance(exp, bool) or not isinstance(exp, int):
        raise LinkInvalid()
    if exp + leeway_sec < now:
        raise LinkExpired()
    if not isinstance(sub, str) or not USER_RE.match(sub):
        raise LinkInvalid()
    if not isinstance(notification, str) or not NOTIFICATION_RE.match(notification):
        raise LinkInvalid()
    if slot is not None and (not isinstance(slot, str) or not SLOT_RE.match(slot)):
        raise LinkInvalid()
    if click:
        if not isinstance(url, str) or not valid_target(url):
            raise LinkInvalid()
    else:
        url = None
    return Link(int(sub), notification, url, slot, exp)
