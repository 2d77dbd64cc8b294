"""Why a request is refused, as exceptions (raised by the verifiers) and as RFC 9457 problems
(answered by the middleware and the route dependencies). Details never echo a credential."""

from __future__ import annotations

import math

from jemput.shared.http.problems import ProblemError

REALM = "jemput"


class AuthenticationError(Exception):
    """Missing, malformed, expired or foreign credentials. The message is shown to the caller."""


class VerificationUnavailable(Exception):
    """The keys that would check a token cannot be had now (the identity provider is away)."""


class AuthConfigurationError(Exception):
    """A key or key file is missing or unusable: the service must not start."""


def unauthenticated(detail: str, *, credentials_sent: bool) -> ProblemError:
    # RFC 6750 §3: a bare challenge when nothing was sent, `invalid_token` when something was.
    challenge = f'Bearer realm="{REALM}"'
    if credentials_sent:
        challenge += f', error="invalid_token", error_description="{_quotable(detail)}"'
    return ProblemError(401, "Unauthorized", detail, headers={"WWW-Authenticate": challenge})


def missing_scope(scope: str) -> ProblemError:
    return ProblemError(
        403,
        "Forbidden",
        f"This client's credentials do not carry the scope `{scope}`.",
        headers={
            "WWW-Authenticate": f'Bearer realm="{REALM}", error="insufficient_scope", '
            f'scope="{scope}"'
        },
    )


def outside_areas(what: str) -> ProblemError:
    return ProblemError(403, "Forbidden", f"{what} lies outside the areas this client may see.")


class ConcealedOutsideAreas(ProblemError):
    """What a client limited to areas hears of a resident (or family) outside them: exactly
    the route's own "not found", so a NIK cannot be probed for existence. The audit trail
    still records the request as denied."""

    def __init__(self, not_found: ProblemError) -> None:
        super().__init__(
            not_found.status,
            not_found.title,
            not_found.detail,
            type_=not_found.type,
            errors=not_found.errors,
            headers=not_found.headers,
        )


def regency_wide_only() -> ProblemError:
    return ProblemError(
        403,
        "Forbidden",
        "This client is limited to some areas; this operation needs a regency-wide client.",
    )


def too_many_requests(retry_after_seconds: float) -> ProblemError:
    seconds = max(1, math.ceil(retry_after_seconds))
    return ProblemError(
        429,
        "Too Many Requests",
        f"Too many requests from this client; try again in {seconds} s.",
        headers={"Retry-After": str(seconds)},
    )


def verification_unavailable() -> ProblemError:
    # Not a 401: the caller's credentials may well be good, and a retry will tell.
    return ProblemError(
        503,
        "Service Unavailable",
        "The keys that check bearer tokens cannot be fetched right now; try again shortly.",
        headers={"Retry-After": "5"},
    )


def _quotable(text: str) -> str:
    return text.replace("\\", "").replace('"', "'")
