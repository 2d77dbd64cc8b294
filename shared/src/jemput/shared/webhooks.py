"""Signing of partner webhooks, and the reference check a receiving partner runs.

Every delivery is a POST of a JSON body with these headers:

- `X-Jemput-Delivery`: the delivery's id, the same on every retry (a receiver that sees it
  twice has the notification already);
- `X-Jemput-Event`: the id of the event the notification was made from;
- `X-Jemput-Timestamp`: unix seconds when this attempt was signed;
- `X-Jemput-Signature`: `v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>`.

The timestamp is inside the signature, so a captured request cannot be replayed later with a
fresh timestamp; a receiver refuses timestamps older than its tolerance (`verify_signature`).
"""

from __future__ import annotations

import hashlib
import hmac
import time

DELIVERY_HEADER = "X-Jemput-Delivery"
EVENT_HEADER = "X-Jemput-Event"
TIMESTAMP_HEADER = "X-Jemput-Timestamp"
SIGNATURE_HEADER = "X-Jemput-Signature"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The `X-Jemput-Signature` value of `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SIGNATURE_VERSION}={digest.hexdigest()}"


def verify_signature(
    secret: str,
    timestamp: str | int,
    body: bytes,
    signature: str,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
    *,
    now: float | None = None,
) -> bool:
    """Whether a delivery is authentic and fresh: `signature` (the `X-Jemput-Signature`
    header; several comma-separated values are allowed, e.g. while a secret is rotated) signs
    `body` (the raw bytes received, before any JSON parsing) at `timestamp` (the
    `X-Jemput-Timestamp` header), and that timestamp is at most `tolerance` seconds from now."""
    try:
        sent_at = int(timestamp)
    except (TypeError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - sent_at) > tolerance:
        return False  # a replay of an old request, or a clock far off
    expected = sign(secret, sent_at, body)
    # compare_digest: the time taken does not tell an attacker how much of a guess was right.
    return any(
        hmac.compare_digest(expected.encode(), candidate.strip().encode())
        for candidate in signature.split(",")
    )
