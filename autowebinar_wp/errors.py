"""One exception tree. Every error a client can cause maps to a status and a stable code."""

from __future__ import annotations

from typing import Any


class AutowebinarError(Exception):
    """Base error: `status` and `code` are rendered as the contract's JSON error."""

    status = 500
    code = "internal_error"
    message = "Internal error."

    def __init__(self, message: str | None = None, **context: Any) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.context = context

    def to_dict(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


class ConfigError(AutowebinarError):
    """The configuration cannot run (a missing secret, a bad value)."""

    code = "config_error"

    def __init__(self, problems: list[str]) -> None:
        super().__init__("Invalid configuration:\n  - " + "\n  - ".join(problems))
        self.problems = problems


class ForbiddenKeyError(AutowebinarError):
    """A write outside the autowebinar_* namespace was attempted (a programming error)."""

    code = "forbidden_key"


class BadRequest(AutowebinarError):
    status = 400
    code = "bad_request"
    message = "The request is malformed."


class InvalidPosition(BadRequest):
    code = "invalid_position"
    message = "position_sec must be a finite, non-negative number of seconds."


class AnchorRequired(BadRequest):
    code = "anchor_required"
    message = "Send back the anchor from the last join or heartbeat response."


class InvalidPlayerError(BadRequest):
    code = "invalid_player_error"
    message = ("kind must be one of video, playlist, captions, unsupported; detail short plain "
               "text; lang a configured caption language.")


class PayloadTooLarge(AutowebinarError):
    status = 413
    code = "payload_too_large"
    message = "The request body is too large."


class Unauthorized(AutowebinarError):
    status = 401
    code = "unauthorized"
    message = "A valid token is required."


class TokenExpired(Unauthorized):
    code = "token_expired"
    message = "The token has expired; reload the page to get a new one."


class Forbidden(AutowebinarError):
    status = 403
    code = "forbidden"
    message = "This token does not allow that."


class InvalidAnchor(Unauthorized):
    code = "invalid_anchor"
    message = "The anchor is not valid; join again."


class AnchorMismatch(Forbidden):
    code = "anchor_mismatch"
    message = "The anchor belongs to another viewer or session; join again."


class NotFound(AutowebinarError):
    status = 404
    code = "not_found"
    message = "Not found."


class Conflict(AutowebinarError):
    status = 409
    code = "conflict"


class CtaNotVisible(Conflict):
    code = "cta_not_visible"
    message = "The call to action is not available yet."


class NoSession(Conflict):
    code = "no_session"
    message = "Join the webinar first."


class RateLimited(AutowebinarError):
    status = 429
    code = "rate_limited"
    message = "Too many requests; slow down."


class ServiceUnavailable(AutowebinarError):
    status = 503
    code = "unavailable"
    message = "The service is temporarily unavailable."


class InvalidParameter(BadRequest):
    code = "invalid_parameter"
    message = "A query parameter is not valid."


class NotAdmin(Forbidden):
    code = "forbidden"
    message = "This needs an admin token."


class CoreEventsDisabled(AutowebinarError):
    status = 503
    code = "core_events_not_configured"
    message = "CORE_WEBHOOK_SECRET is not configured on the sidecar."


# ---- Live webinars (DESIGN §7) ---------------------------------------------------------------


class LiveDisabled(NotFound):
    code = "live_disabled"
    message = "Live webinars are not enabled on this site."


class UnknownSlot(NotFound):
    code = "unknown_slot"
    message = "There is no webinar slot with this id."


class SlotEnded(Conflict):
    code = "slot_ended"
    message = "This webinar slot has already ended; choose another time."


class NotRegistered(Conflict):
    code = "not_registered"
    message = "Register for a webinar slot first."


class SlotUnavailable(Conflict):
    code = "slot_unavailable"
    message = "The slot you registered for is no longer on the schedule; choose another time."


class LinkInvalid(BadRequest):
    """A tracking link that is malformed, forged or tampered with."""

    code = "invalid_link"
    message = "This link is not valid."


class LinkExpired(AutowebinarError):
    status = 410
    code = "link_expired"
    message = "This link has expired."
