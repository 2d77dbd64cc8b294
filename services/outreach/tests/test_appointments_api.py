"""Appointments and home-visit requests, checked against the residents read model, over HTTP
against a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta

import httpx
import pytest

from jemput.outreach.testing import (
    OTHER_VILLAGE,
    TOMORROW,
    VILLAGE,
    Outreach,
    nik,
    recording,
    registered,
    start_outreach,
)
from jemput.shared.events.residents import EktpStatusChangedV1, ResidentDiedV1
from jemput.shared.testing.auth import shared_issuer

# 17 on the day after tomorrow: not eligible tomorrow, eligible the day after.
TURNS_17 = date(2009, 12, 3)
ELDERLY = date(1950, 1, 1)
TEEN = nik(3, TURNS_17)
OLD = nik(5, ELDERLY)


async def seed(outreach: Outreach) -> None:
    await outreach.apply(
        [
            registered(1),
            registered(2, ektp_status="SUDAH_REKAM"),
            registered(3, birth_date=TURNS_17),
            registered(4),
            registered(5, birth_date=ELDERLY),
            registered(6, mental_illness=True),
            registered(7),
            ResidentDiedV1(nik=nik(4), village_code=VILLAGE, died_on=date(2026, 11, 1)),
        ]
    )


def codes(response: object) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]  # type: ignore[attr-defined]


async def test_appointments_are_checked_against_the_read_model(outreach: Outreach) -> None:
    await seed(outreach)
    team = await outreach.team()
    session = (await outreach.schedule(team, TOMORROW)).json()
    book = f"/v1/sessions/{session['id']}/appointments"

    ok = await outreach.client.post(book, json={"nik": nik(1)})
    assert ok.status_code == 201, ok.text
    again = await outreach.client.post(book, json={"nik": nik(1)})
    assert again.status_code == 200

    for serial, code in [
        (2, "already_recorded"),
        (3, "not_eligible"),
        (4, "not_domiciled"),
        (99, "unknown_resident"),
    ]:
        resident = TEEN if serial == 3 else nik(serial)
        refused = await outreach.client.post(book, json={"nik": resident})
        assert refused.status_code == 422, (serial, refused.text)
        assert codes(refused) == [code]
        assert resident not in refused.text  # a NIK is personal data: never echoed
    bad = await outreach.client.post(book, json={"nik": "1602055705900000"})
    assert codes(bad) == ["nik_serial_zero"] and "1602055705900000" not in bad.text

    # Turning 17 by the session's day is enough.
    later = (await outreach.schedule(team, TOMORROW + timedelta(days=1))).json()
    becoming = await outreach.client.post(
        f"/v1/sessions/{later['id']}/appointments", json={"nik": TEEN}
    )
    assert becoming.status_code == 201, becoming.text
    # One open appointment per resident.
    elsewhere = await outreach.client.post(
        f"/v1/sessions/{later['id']}/appointments", json={"nik": nik(1)}
    )
    assert elsewhere.status_code == 409

    # The register's later news reaches the read model: a recorded resident is refused.
    await outreach.apply(
        [
            EktpStatusChangedV1(
                nik=nik(7),
                village_code=VILLAGE,
                from_status="BELUM_REKAM",
                to_status="SUDAH_REKAM",
                suket_outstanding=False,
                changed_at=outreach.clock.now(),
            )
        ]
    )
    assert codes(await outreach.client.post(book, json={"nik": nik(7)})) == ["already_recorded"]
    listed = await outreach.client.get(book)
    assert [a["nik"] for a in listed.json()["items"]] == [nik(1)]


async def test_district_staff_cannot_tell_an_out_of_area_nik_from_an_unknown_one(
    outreach: Outreach,
) -> None:
    """Booking by NIK into a session of their own area: a resident living elsewhere is
    answered exactly as a NIK the register does not know (else the answer would tell that
    the resident exists, and more: recorded, deceased, of age)."""
    elsewhere = nik(8, district="16.02.13")
    await outreach.apply([registered(1), registered(8, village_code=OTHER_VILLAGE, nik=elsewhere)])
    team = await outreach.team()
    session = (await outreach.schedule(team, TOMORROW)).json()  # in Kayu Agung
    book = f"/v1/sessions/{session['id']}/appointments"
    kayu_agung = shared_issuer().headers("outreach:plan", client_id="kec", areas=["16.02.05"])
    unknown = nik(98, district="16.02.13")
    outside = await outreach.client.post(book, json={"nik": elsewhere}, headers=kayu_agung)
    missing = await outreach.client.post(book, json={"nik": unknown}, headers=kayu_agung)
    assert outside.status_code == missing.status_code == 422
    assert codes(outside) == ["unknown_resident"]

    def without_ids(response: httpx.Response) -> tuple[bytes, list[tuple[str, str]]]:
        body = response.content.replace(response.headers["x-request-id"].encode(), b"")
        per_request = {"x-request-id", "traceparent"}
        return body, sorted((k, v) for k, v in response.headers.items() if k not in per_request)

    assert without_ids(outside) == without_ids(missing)
    # Inside the area, and for the office, booking works as before.
    inside = await outreach.client.post(book, json={"nik": nik(1)}, headers=kayu_agung)
    assert inside.status_code == 201, inside.text
    office = await outreach.client.post(book, json={"nik": elsewhere})
    assert office.status_code == 201, office.text


@pytest.fixture
async def small_sessions(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[Outreach]:
    # One recording per kit and day: a session of one kit is full after one booking.
    async for driver in start_outreach(
        database_url, kafka_bootstrap, kafka_namespace, per_kit_daily_rate=1
    ):
        yield driver


async def test_a_full_session_takes_no_more(small_sessions: Outreach) -> None:
    outreach = small_sessions
    await seed(outreach)
    team = await outreach.team(kits=1)
    session = (await outreach.schedule(team, TOMORROW)).json()
    assert session["planned_capacity"] == 1
    book = f"/v1/sessions/{session['id']}/appointments"
    assert (await outreach.client.post(book, json={"nik": nik(1)})).status_code == 201
    full = await outreach.client.post(book, json={"nik": OLD})
    assert full.status_code == 409
    assert "full" in full.json()["detail"]


async def test_home_visits_are_listed_by_deadline(outreach: Outreach) -> None:
    await seed(outreach)
    requests = [(1, "sick", 5), (5, "elderly", None), (6, "mental_illness", 1)]
    ids = {}
    for serial, reason, days in requests:
        resident = OLD if serial == 5 else nik(serial)
        body = {"nik": resident, "reason": reason} | ({"deadline_days": days} if days else {})
        created = await outreach.client.post("/v1/home-visits", json=body)
        assert created.status_code == 201, created.text
        ids[serial] = created.json()["id"]
    queue = (await outreach.client.get("/v1/home-visits")).json()["items"]
    assert [(v["id"], v["deadline"]) for v in queue] == [
        (ids[6], "2026-12-02"),
        (ids[5], "2026-12-04"),  # the default: 3 days
        (ids[1], "2026-12-06"),
    ]
    due = await outreach.client.get("/v1/home-visits", params={"deadline_by": "2026-12-04"})
    assert len(due.json()["items"]) == 2
    # Each request is published with its deadline, keyed by the NIK; the reason stays here.
    requested = await outreach.outbox_payloads("home_visit_requested")
    assert [(e["home_visit_id"], e["deadline"], e["_key"]) for e in requested] == [
        (ids[1], "2026-12-06", nik(1)),
        (ids[5], "2026-12-04", OLD),
        (ids[6], "2026-12-02", nik(6)),
    ]
    assert requested[0]["village_code"] == VILLAGE and "reason" not in requested[0]

    # One open request per resident: asking again returns it.
    again = await outreach.client.post("/v1/home-visits", json={"nik": nik(1), "reason": "sick"})
    assert (again.status_code, again.json()["id"]) == (200, ids[1])
    young = await outreach.client.post("/v1/home-visits", json={"nik": nik(7), "reason": "elderly"})
    assert codes(young) == ["not_elderly"]
    recorded = await outreach.client.post(
        "/v1/home-visits", json={"nik": nik(2), "reason": "disabled"}
    )
    assert codes(recorded) == ["already_recorded"]

    closed = await outreach.client.post(
        f"/v1/home-visits/{ids[1]}:close", json={"outcome": "refused", "reason": "keluarga menolak"}
    )
    assert closed.json()["state"] == "closed"
    resent = await outreach.client.post(
        f"/v1/home-visits/{ids[1]}:close", json={"outcome": "refused", "reason": "keluarga menolak"}
    )
    assert resent.status_code == 200
    by_hand = await outreach.client.post(
        f"/v1/home-visits/{ids[5]}:close", json={"outcome": "recorded", "reason": "sudah"}
    )
    assert by_hand.status_code == 422
    remaining = (await outreach.client.get("/v1/home-visits")).json()["items"]
    assert [v["id"] for v in remaining] == [ids[6], ids[5]]
    done = (await outreach.client.get("/v1/home-visits", params={"state": "closed"})).json()
    assert [v["outcome"] for v in done["items"]] == ["refused"]
    # Asking again, closing again and the refused close-out published nothing more.
    types = await outreach.outbox_types()
    assert (types.count("home_visit_requested"), types.count("home_visit_closed")) == (3, 1)
    (closed_event,) = await outreach.outbox_payloads("home_visit_closed")
    assert closed_event == {
        "home_visit_id": ids[1],
        "nik": nik(1),
        "village_code": VILLAGE,
        "requested_at": "2026-12-01T02:00:00Z",
        "deadline": "2026-12-06",
        "closed_at": "2026-12-01T02:00:00Z",
        "outcome": "refused",
        "session_id": None,  # no session was booked for it
        "team_id": None,
        "recording_id": None,
        "kit_serial": None,
        "_key": nik(1),
    }
    assert "keluarga menolak" not in str(closed_event)  # typed text stays home


async def test_a_recording_closes_the_home_visit(outreach: Outreach) -> None:
    await seed(outreach)
    visit = (
        await outreach.client.post(
            "/v1/home-visits", json={"nik": nik(6), "reason": "mental_illness"}
        )
    ).json()
    team = await outreach.team(kits=1)
    session = await outreach.session_in_progress(team)
    # ODGJ: photo and fingerprints only.
    body = recording("rec-home-00001", nik(6), "TIM1-K1", captured=["photo", "fingerprints"])
    uploaded = await outreach.client.post(f"/v1/sessions/{session['id']}/recordings", json=body)
    assert uploaded.status_code == 201, uploaded.text
    done = (await outreach.client.get("/v1/home-visits", params={"state": "closed"})).json()
    (closed,) = done["items"]
    assert (closed["id"], closed["outcome"], closed["recording_id"]) == (
        visit["id"],
        "recorded",
        "rec-home-00001",
    )
    # Closed in the recording's transaction, with the session, team and kit that served it.
    (event,) = await outreach.outbox_payloads("home_visit_closed")
    assert (event["home_visit_id"], event["outcome"], event["recording_id"]) == (
        visit["id"],
        "recorded",
        "rec-home-00001",
    )
    assert (event["session_id"], event["team_id"], event["kit_serial"]) == (
        session["id"],
        team["id"],
        "TIM1-K1",
    )
    assert (event["deadline"], event["_key"]) == (visit["deadline"], nik(6))
    types = await outreach.outbox_types()
    assert types.index("recording_captured") < types.index("home_visit_closed")
    # The kit sends it again: a duplicate, nothing closes or goes out twice.
    again = await outreach.client.post(f"/v1/sessions/{session['id']}/recordings", json=body)
    assert again.status_code == 200, again.text
    assert (await outreach.outbox_types()).count("home_visit_closed") == 1


async def test_closing_a_booked_home_visit_names_its_session_and_team(outreach: Outreach) -> None:
    await seed(outreach)
    visit = (
        await outreach.client.post("/v1/home-visits", json={"nik": OLD, "reason": "elderly"})
    ).json()
    team = await outreach.team(kits=1)
    home = await outreach.schedule(team, TOMORROW, kind="home_visit")
    assert home.status_code == 201, home.text
    booked = await outreach.client.post(
        f"/v1/sessions/{home.json()['id']}/appointments", json={"nik": OLD}
    )
    assert booked.status_code == 201, booked.text
    closed = await outreach.client.post(
        f"/v1/home-visits/{visit['id']}:close", json={"outcome": "unreachable", "reason": "banjir"}
    )
    assert closed.status_code == 200, closed.text
    (event,) = await outreach.outbox_payloads("home_visit_closed")
    assert (event["outcome"], event["session_id"], event["team_id"]) == (
        "unreachable",
        home.json()["id"],
        team["id"],
    )
    assert event["recording_id"] is None and event["kit_serial"] is None
