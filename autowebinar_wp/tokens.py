"""Embed tokens: JWT HS256 shared with the WordPress plugin (DESIGN §5 "Tokens").

Verification uses PyJWT with the algorithm pinned (no `alg: none`, no RS/HS confusion),
the audience checked, expiry enforced with a small leeway, and a cap on the lifetime a
token may claim, so a leaked long-lived token is refused even if correctly signed.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Literal

import jwt

from autowebinar_wp.errors import TokenExpired, Unauthorized

ALGORITHM = "HS256"
AUDIENCE = "autowebinar"
ROLES = ("viewer", "admin")
MAX_LIFETIME_SEC = 24 * 3600
_USER_ID = re.compile(r"^[1-9][0-9]{0,18}$")

Role = Literal["viewer", "admin"]


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: the WordPress user id from the token's `sub`, and the role."""

    user_id: int
    role: Role
    expires_at: int


def mint(secret: str, user_id: int, role: Role = "viewer", ttl_sec: int = 600,
         now: float | None = None) -> str:
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if user_id < 1:
        raise ValueError("user_id must be a positive WordPress user id")
    issued = int(time.time() if now is None else now)
    claims = {"sub": str(user_id), "iat": issued, "exp": issued + int(ttl_sec),
              "aud": AUDIENCE, "role": role}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def verify(secret: str, token: str, leeway_sec: int = 10, now: float | None = None) -> Viewer:
    """The Viewer a valid token names; Unauthorized (401) for anything else."""
    if not token or len(token) > 4096:
        raise Unauthorized()
    options = {"require": ["sub", "iat", "exp", "aud", "role"],
               "verify_exp": False, "verify_iat": False, "verify_nbf": False}
    try:
        # Times are checked below against the injectable clock (tests travel in time).
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], audience=AUDIENCE,
                            options=options)  # type: ignore[arg-type]
    except jwt.PyJWTError as exc:
        raise Unauthorized() from exc
    current = time.time() if now is None else now
    exp, iat = claims.get("exp"), claims.get("iat")
    if not isinstance(exp, int) or not isinstance(iat, int) or isinstance(exp, bool):
        raise Unauthorized()
    if exp + leeway_sec < current:
        raise TokenExpired()
    if iat - leeway_sec > current or exp - iat > MAX_LIFETIME_SEC or exp < iat:
        raise Unauthorized("The token's validity period is not acceptable.")
    sub, role = claims.get("sub"), claims.get("role")
    if not isinstance(sub, str) or not _USER_ID.match(sub):
        raise Unauthorized("The token does not name a WordPress user.")
    if role not in ROLES:
        raise Unauthorized("The token's role is not recognised.")
    return Viewer(int(sub), role, exp)
