"""The pure rules: nobody in two places a day, capacity from working kits, the session
lifecycle, and what a recording must hold."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from jemput.outreach.domain.booking import (
    Booking,
    ClashKind,
    KitProblemKind,
    KitState,
    clashes,
    kit_problems,
)
from jemput.outreach.domain.capture import CaptureFacts, missing_biometrics
from jemput.outreach.domain.lifecycle import (
    TooEarly,
    TransitionRefused,
    check_start,
    check_transition,
)
from jemput.outreach.domain.model import Biometric, KitCondition, SessionStatus, planned_capacity
from jemput.shared.timezone import office_day

MONDAY = date(2026, 12, 7)
B = Biometric


def booking(session_id: str, team: str, *kits: str, day: date = MONDAY) -> Booking:
    return Booking(session_id, team, day, frozenset(kits))


def test_a_team_cannot_be_in_two_places_on_one_day() -> None:
    existing = [booking("s1", "team-a", "K1")]
    found = clashes("team-a", MONDAY, ["K2"], existing)
    assert [(c.kind, c.session_id) for c in found] == [(ClashKind.TEAM, "s1")]
    assert clashes("team-a", MONDAY + timedelta(days=1), ["K1"], existing) == []


def test_a_kit_cannot_be_in_two_places_on_one_day() -> None:
    # K1 moved from team A to team B, but stays with A's session already booked for Monday.
    existing = [booking("s1", "team-a", "K1", "K2")]
    found = clashes("team-b", MONDAY, ["K1", "K3"], existing)
    assert [(c.kind, c.kit_serial) for c in found] == [(ClashKind.KIT, "K1")]
    assert "K1" in found[0].describe()


def test_a_session_takes_only_working_kits_of_its_team() -> None:
    kits = {
        "K1": KitState("K1", "team-a", KitCondition.WORKING),
        "K2": KitState("K2", "team-a", KitCondition.BROKEN),
        "K3": KitState("K3", "team-b", KitCondition.WORKING),
    }
    found = kit_problems("team-a", ["K1", "K2", "K3", "K9"], kits)
    assert [(p.kind, p.serial) for p in found] == [
        (KitProblemKind.NOT_WORKING, "K2"),
        (KitProblemKind.OTHER_TEAM, "K3"),
        (KitProblemKind.UNKNOWN, "K9"),
    ]


def test_broken_kits_lower_capacity() -> None:
    assert planned_capacity(3, 80) == 240
    assert planned_capacity(2, 80) == 160  # one of three broken
    assert planned_capacity(0, 80) == 0


def test_session_lifecycle() -> None:
    S = SessionStatus
    check_transition(S.PLANNED, S.IN_PROGRESS)
    check_transition(S.IN_PROGRESS, S.COMPLETED)
    check_transition(S.PLANNED, S.CANCELLED)
    for current, wanted in [
        (S.PLANNED, S.COMPLETED),
        (S.IN_PROGRESS, S.CANCELLED),
        (S.COMPLETED, S.IN_PROGRESS),
        (S.CANCELLED, S.PLANNED),
    ]:
        with pytest.raises(TransitionRefused):
            check_transition(current, wanted)
    check_start(MONDAY, MONDAY)
    with pytest.raises(TooEarly):
        check_start(MONDAY, MONDAY - timedelta(days=1))


def test_mental_illness_needs_photo_and_fingerprints_only() -> None:
    assert missing_biometrics([B.PHOTO, B.FINGERPRINTS], mental_illness=True) == []
    assert missing_biometrics([B.PHOTO, B.FINGERPRINTS], mental_illness=False) == [
        B.IRIS,
        B.SIGNATURE,
    ]
    assert missing_biometrics([B.PHOTO], mental_illness=True) == [B.FINGERPRINTS]


def test_a_resend_has_the_same_digest_whatever_the_order_and_time_zone() -> None:
    at = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
    wib = timezone(timedelta(hours=7))
    first = CaptureFacts("rec-0001", "s1", "1602055705900012", at, "K1", "op", frozenset(B))
    again = CaptureFacts(
        "rec-0001", "s1", "1602055705900012", at.astimezone(wib), "K1", "op", frozenset(reversed(B))
    )
    other = CaptureFacts("rec-0001", "s1", "1602055705900013", at, "K1", "op", frozenset(B))
    assert first.digest == again.digest
    assert first.digest != other.digest


def test_office_day_is_wib() -> None:
    # 18:00 UTC on the 6th is 01:00 WIB on the 7th.
    assert office_day(datetime(2026, 12, 6, 18, 0, tzinfo=UTC)) == MONDAY
