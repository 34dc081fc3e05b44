"""Request-level auth and input: bearer tokens, the viewer, admins, refreshes, rate limits.

Every blueprint uses these; none of them imports another blueprint for them.

* A token is verified once per request (`current_viewer` caches it on `g`).
* A request with an invalid token counts against INVALID_TOKEN_RATE_LIMIT for its client
  address; beyond it the answer is 429 instead of 401, so guessing costs the guesser.
* `@rate_limited("join")` on a view counts the request against JOIN_RATE_LIMIT for the
  token's user, visibly, at the view.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, g, jsonify, request

from autowebinar_wp import tokens
from autowebinar_wp.errors import BadRequest, NotAdmin, RateLimited, Unauthorized
from autowebinar_wp.services import services

F = TypeVar("F", bound=Callable[..., Any])


def verify_token(token: str | None) -> tokens.Viewer:
    """The token's viewer at the request's time; Unauthorized (counted per address) if not."""
    svc = services()
    try:
        return tokens.verify(current_app.config["EMBED_SECRET"], token or "",
                             now=svc.timestamp(), policy=svc.tokens)
    except Unauthorized:
        count_invalid_token()
        raise


def count_invalid_token() -> None:
    verdict = services().limiter.hit(current_app.config["INVALID_TOKEN_RATE_LIMIT"],
                                     f"invalid-token:{request.remote_addr}")
    if not verdict.allowed:
        g.rate_limit = verdict
        raise RateLimited()


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def current_viewer(allow_body_token: bool = False) -> tokens.Viewer:
    """The token's viewer, verified once per request.

    `allow_body_token`: the token may also come in the JSON or form body (sendBeacon, which
    cannot set headers).
    """
    cached: tokens.Viewer | None = g.get("viewer")
    if cached is not None:
        return cached
    token = bearer_token()
    if token is None and allow_body_token:
        body = json_body(required=False)
        candidate = body.get("token") if body else request.form.get("token")
        token = candidate if isinstance(candidate, str) else None
    viewer = verify_token(token)
    g.viewer = viewer
    return viewer


def require_admin() -> tokens.Viewer:
    """An admin token from `Authorization: Bearer`: 401 without a valid one, 403 for a viewer."""
    viewer = current_viewer()
    if viewer.role != "admin":
        raise NotAdmin()
    return viewer


def json_body(required: bool = True) -> dict[str, Any]:
    """The request body as a JSON object; BadRequest for anything else."""
    if "json_body" in g:
        return g.json_body  # type: ignore[no-any-return]
    data = request.get_data(cache=True)
    if not data:
        body: dict[str, Any] = {}
    else:
        try:
            parsed = request.get_json(force=True, silent=True, cache=True)
        except RecursionError:  # nested deeper than the parser's stack: not silenced by Flask
            parsed = None
        if not isinstance(parsed, dict):
            if required or request.mimetype == "application/json":
                raise BadRequest("The body must be a JSON object.")
            parsed = {}
        body = parsed
    g.json_body = body
    return body


def refreshed_token(viewer: tokens.Viewer) -> str | None:
    """A fresh viewer token once half of the current one's life has passed (long videos).

    It keeps `auth_time` and never reaches past MAX_VIEWING_SEC after it; admin tokens are
    never refreshed (DESIGN §5).
    """
    if viewer.role != "viewer":
        return None
    svc = services()
    ttl = current_app.config["TOKEN_DEFAULT_TTL_SEC"]
    now = int(svc.timestamp())
    if viewer.expires_at - now > ttl / 2:
        return None
    lifetime = min(ttl, viewer.auth_time + svc.tokens.max_viewing_sec - now)
    if lifetime <= 0 or now + lifetime <= viewer.expires_at:
        return None  # nothing to gain: the viewing's time is up; WordPress must re-check
    return tokens.mint(current_app.config["EMBED_SECRET"], viewer.user_id, "viewer", lifetime,
                       now, auth_time=viewer.auth_time)


def with_token(data: dict[str, Any], viewer: tokens.Viewer) -> Response:
    """`data` as JSON, with a refreshed token when the viewer's is getting old."""
    token = refreshed_token(viewer)
    if token:
        data["token"] = token
    return jsonify(data)


def rate_limited(name: str, *, body_token: bool = False) -> Callable[[F], F]:
    """Count each request against `<NAME>_RATE_LIMIT` for the token's user; 429 beyond it.

    The token is verified first (401/429 for a bad one, counted per client address), so
    the user id the limit is kept for is the one the token names.
    """
    setting = f"{name.upper()}_RATE_LIMIT"

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def limited(*args: Any, **kwargs: Any) -> Any:
            viewer = current_viewer(allow_body_token=body_token)
            verdict = services().limiter.hit(current_app.config[setting],
                                             f"{name}:user:{viewer.user_id}")
            g.rate_limit = verdict
            if not verdict.allowed:
                raise RateLimited()
            return view(*args, **kwargs)

        limited.rate_limit_setting = setting  # type: ignore[attr-defined]
        return limited  # type: ignore[return-value]

    return decorate


def is_rate_limited(view: Callable[..., Any]) -> bool:
    return hasattr(view, "rate_limit_setting")
