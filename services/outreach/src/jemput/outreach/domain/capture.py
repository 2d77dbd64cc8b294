"""What a field recording must hold, and how a resend is told from a different recording."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from jemput.outreach.domain.model import Biometric
from jemput.shared.timezone import OFFICE_TIMEZONE

FULL_SET = frozenset(Biometric)
# Residents with a mental illness (ODGJ) are recorded with photo and fingerprints only.
ODGJ_SET = frozenset({Biometric.PHOTO, Biometric.FINGERPRINTS})
# Kit clocks drift; a capture further ahead of the server than this is a wrong clock.
CLOCK_SKEW = timedelta(minutes=10)
_OFFICE_ZONE = ZoneInfo(OFFICE_TIMEZONE)


def required_biometrics(*, mental_illness: bool) -> frozenset[Biometric]:
    return ODGJ_SET if mental_illness else FULL_SET


def missing_biometrics(captured: Iterable[Biometric], *, mental_illness: bool) -> list[Biometric]:
    have = set(captured)
    return sorted(required_biometrics(mental_illness=mental_illness) - have)


@dataclass(frozen=True, slots=True)
class CaptureFacts:
    """The facts of one recording as the kit sends them; two sends of the same recording
    have the same digest, whatever the order of `captured` or the time zone of the stamp."""

    recording_id: str
    session_id: str
    nik: str
    captured_at: datetime
    kit_serial: str
    operator: str
    captured: frozenset[Biometric]

    @property
    def digest(self) -> str:
        parts = [
            self.recording_id,
            self.session_id,
            self.nik,
            self.captured_at.astimezone(UTC).isoformat(timespec="microseconds"),
            self.kit_serial,
            self.operator,
            ",".join(sorted(self.captured)),
        ]
        return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()


def captured_in_future(captured_at: datetime, now: datetime) -> bool:
    return captured_at > now + CLOCK_SKEW
