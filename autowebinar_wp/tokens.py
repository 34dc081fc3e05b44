"""Embed tokens: JWT HS256 shared with the WordPress plugin (DESIGN §5 "Tokens").

Verification uses PyJWT with the algorithm pinned (no `alg: none`, no RS/HS confusion),
the audience checked, expiry enforced with a small leeway, and a cap on the lifetime a
token may claim, so a leaked long-lived token is refused even if correctly signed.

Lifetime (DESIGN §5): `auth_time` is when WordPress last checked the user (the first
`iat`). A viewer token may be refreshed while someone watches, but the refresh keeps
`auth_time` and no token is accepted or issued beyond `max_viewing_sec` after it; admin
tokens are never refreshed and live at most `admin_ttl_sec`. So a user deleted or demoted
in WordPress loses access within one token lifetime.

A player sends the same token with every heartbeat (one per HEARTBEAT_SEC, for up to half
the token's life), so the signature check and claim parsing of a token that verified once
are cached per process (`_verified_claims`, keyed by secret and token). Only successes are
cached, and the time checks (expiry, `iat` in the future) run on every call against the
injectable clock, so a cached token still expires on time.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import jwt

from autowebinar_wp.errors import TokenExpired, Unauthorized

ALGORITHM = "HS256"
AUDIENCE = "autowebinar"
ROLES = ("viewer", "admin")
MAX_LIFETIME_SEC = 24 * 3600
_USER_ID = re.compile(r"^[1-9][0-9]{0,18}$")
# Tokens that verified, per process: ~0.5 KB each, so the cap bounds the cache to a few MB
# while covering every concurrent viewer of a large webinar (a token is reused for minutes).
VERIFIED_CACHE_SIZE = 16384

Role = Literal["viewer", "admin"]


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: the WordPress user id from the token's `sub`, the role, the times."""

    user_id: int
    role: Role
    expires_at: int
    auth_time: int  # when WordPress checked the user (the first token's iat)


@dataclass(frozen=True, slots=True)
class Policy:
    """How long tokens may live (from the configuration)."""

    leeway_sec: int = 10
    max_viewing_sec: int = MAX_LIFETIME_SEC
    admin_ttl_sec: int = 3600


def mint(secret: str, user_id: int, role: Role = "viewer", ttl_sec: int = 600,
         now: float | None = None, auth_time: int | None = None) -> str:
    """A token; `auth_time` is kept from the token a refresh replaces (default: now)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if user_id < 1:
        raise ValueError("user_id must be a positive WordPress user id")
    issued = int(time.time() if now is None else now)
    claims = {"sub": str(user_id), "iat": issued, "exp": issued + int(ttl_sec),
              "aud": AUDIENCE, "role": role,
              "auth_time": issued if auth_time is None else int(auth_time)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: str, token: str, leeway_sec: int = 10, now: float | None = None,
           policy: Policy | None = None) -> Viewer:
    """The Viewer a valid token names; Unauthorized (401) for anything else."""
    rules = policy or Policy(leeway_sec=leeway_sec)
    leeway = rules.leeway_sec
    if not token or len(token) > 4096:
        raise Unauthorized()
    exp, iat, sub, role, auth_time = _verified_claims(secret, token)
    # Times are checked here, on every call, against the injectable clock (tests travel in
    # time), never inside the cache.
    current = time.time() if now is None else now
    if exp + leeway < current:
        raise TokenExpired()
    if iat - leeway > current or exp - iat > MAX_LIFETIME_SEC or exp < iat:
        raise Unauthorized("The token's validity period is not acceptable.")
    if auth_time > iat or iat - auth_time > MAX_LIFETIME_SEC:
        raise Unauthorized("The token's auth_time is not acceptable.")
    if not isinstance(sub, str) or not _USER_ID.match(sub):
        raise Unauthorized("The token does not name a WordPress user.")
    if role not in ROLES:
        raise Unauthorized("The token's role is not recognised.")
    if role == "admin" and exp - iat > rules.admin_ttl_sec:
        raise Unauthorized("Admin tokens may live at most ADMIN_TOKEN_TTL_SEC.")
    age_limit = rules.admin_ttl_sec if role == "admin" else rules.max_viewing_sec
    if current - auth_time > age_limit + leeway:
        raise TokenExpired("The page has been open too long; reload it to continue.")
    return Viewer(int(sub), role, exp, auth_time)


@lru_cache(maxsize=VERIFIED_CACHE_SIZE)
def _verified_claims(secret: str, token: str) -> tuple[int, int, Any, Any, int]:
    """The signature and audience check and the claims it yields:
    (exp, iat, sub, role, auth_time), auth_time defaulting to iat.

    lru_cache keeps only returned values, so a forged or malformed token is never cached
    and is checked in full each time.
    """
    options = {"require": ["sub", "iat", "exp", "aud", "role"],
               "verify_exp": False, "verify_iat": False, "verify_nbf": False}
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=AUDIENCE,
                            options=options)  # type: ignore[arg-type]
    except jwt.PyJWTError as exc:
        raise Unauthorized() from exc
    exp, iat = claims.get("exp"), claims.get("iat")
    auth_time = claims.get("auth_time", iat)
    if type(exp) is not int or type(iat) is not int or type(auth_time) is not int:
        raise Unauthorized()
    return exp, iat, claims.get("sub"), claims.get("role"), auth_time
