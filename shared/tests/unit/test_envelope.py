from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import ValidationError

from jemput.shared.events import default_registry
from jemput.shared.events.envelope import CloudEvent, EnvelopeError
from jemput.shared.events.residents import ResidentRegisteredV1
from jemput.shared.messaging.dead_letter import SafeError, describe_failure


def registered() -> ResidentRegisteredV1:
    return ResidentRegisteredV1(
        nik="1602055705900012",
        village_code="16.02.05.1001",
        birth_date=date(1990, 5, 17),
        sex="P",
        marital_status="KAWIN",
    )


def test_binary_mode_round_trip() -> None:
    payload = registered()
    event = CloudEvent(
        id="e-1",
        type=payload.event_type,
        source="/jemput/residents",
        time=datetime(2026, 11, 28, 4, 0, tzinfo=UTC),
        data=payload.model_dump_json().encode(),
        subject=payload.subject(),
        extensions={"traceparent": "00-abc-def-01"},
    )
    headers = dict(event.headers())
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"jemput.residents.resident_registered.v1"
    assert headers["ce_time"] == b"2026-11-28T04:00:00Z"
    assert headers["content-type"] == b"application/json"
    back = CloudEvent.from_kafka(event.headers(), event.data)
    assert back == event
    assert default_registry().decode(back.type, back.data) == payload


def test_missing_headers_are_an_envelope_error() -> None:
    with pytest.raises(EnvelopeError, match="ce_id"):
        CloudEvent.from_kafka(
            [("ce_specversion", b"1.0"), ("ce_type", b"x"), ("ce_source", b"/")], b"{}"
        )
    with pytest.raises(EnvelopeError, match="specversion"):
        CloudEvent.from_kafka(
            [("ce_specversion", b"0.3"), ("ce_id", b"1"), ("ce_type", b"x"), ("ce_source", b"/")],
            b"{}",
        )


def test_consumers_ignore_fields_they_do_not_know() -> None:
    data = registered().model_dump() | {"added_in_a_later_minor_version": 1}
    assert ResidentRegisteredV1.model_validate(data) == registered()


def test_payloads_are_frozen() -> None:
    with pytest.raises(ValidationError):
        registered().nik = "x"  # type: ignore[misc]


def test_failure_descriptions_carry_no_personal_data() -> None:
    with pytest.raises(ValidationError) as caught:
        ResidentRegisteredV1.model_validate({"nik": "1602055705900012", "sex": "X"})
    reason = describe_failure(caught.value)
    assert "1602055705900012" not in reason
    assert "sex: literal_error" in reason
    assert describe_failure(KeyError("1602055705900012")) == "handler failed: KeyError"
    assert describe_failure(SafeError("stock is empty")) == "SafeError: stock is empty"
