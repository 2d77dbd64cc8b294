"""Teams, kits and sessions over HTTP against a real database (SQLite and PostgreSQL):
double-booking, holidays and closures, broken kits, the session lifecycle and its events."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import pytest

from jemput.outreach.testing import (
    OTHER_VILLAGE,
    TODAY,
    TOMORROW,
    Outreach,
    recording,
    start_outreach,
)
from jemput.shared.testing.auth import shared_issuer


def codes(response: object) -> list[str]:
    return [e["code"] for e in response.json()["errors"]]  # type: ignore[attr-defined]


async def test_schedule_a_session_with_the_teams_working_kits(outreach: Outreach) -> None:
    team = await outreach.team(kits=3)
    assert team["daily_capacity"] == 240
    created = await outreach.schedule(team, TOMORROW)
    assert created.status_code == 201, created.text
    session = created.json()
    assert session["status"] == "planned"
    assert session["planned_capacity"] == 240
    assert session["kit_serials"] == ["TIM1-K1", "TIM1-K2", "TIM1-K3"]
    assert session["village_name"]
    assert await outreach.outbox_types() == ["session_scheduled"]
    # The same session again is the stored one, and publishes nothing.
    again = await outreach.schedule(team, TOMORROW)
    assert again.status_code == 200
    assert again.json()["id"] == session["id"]
    assert await outreach.outbox_count() == 1


async def test_a_team_cannot_be_in_two_places_on_one_day(outreach: Outreach) -> None:
    team = await outreach.team()
    assert (await outreach.schedule(team, TOMORROW)).status_code == 201
    elsewhere = await outreach.schedule(team, TOMORROW, village=OTHER_VILLAGE)
    assert elsewhere.status_code == 409
    assert elsewhere.headers["content-type"] == "application/problem+json"
    assert codes(elsewhere) == ["team_double_booked"]
    # Another day is fine.
    assert (await outreach.schedule(team, TOMORROW + timedelta(days=1))).status_code == 201
    assert await outreach.outbox_count() == 2


async def test_a_kit_cannot_be_in_two_places_on_one_day(outreach: Outreach) -> None:
    team_a = await outreach.team("Tim A", kits=2)
    team_b = await outreach.team("Tim B", kits=1)
    assert (await outreach.schedule(team_a, TOMORROW)).status_code == 201
    # Kit A-K1 moves to team B: it stays with A's session tomorrow, so B cannot take it then.
    moved = await outreach.client.patch("/v1/kits/TIMA-K1", json={"team_id": team_b["id"]})
    assert moved.status_code == 200, moved.text
    clash = await outreach.schedule(
        team_b, TOMORROW, village=OTHER_VILLAGE, kit_serials=["TIMA-K1"]
    )
    assert clash.status_code == 409
    assert codes(clash) == ["kit_double_booked"]
    # Without naming kits, B goes tomorrow with its own kit only.
    default = await outreach.schedule(team_b, TOMORROW, village=OTHER_VILLAGE)
    assert default.status_code == 201, default.text
    assert default.json()["kit_serials"] == ["TIMB-K1"]
    # The day after, the moved kit is B's to take.
    later = await outreach.schedule(team_b, TOMORROW + timedelta(days=1))
    assert later.json()["kit_serials"] == ["TIMA-K1", "TIMB-K1"]


async def test_holidays_weekends_and_closures_block_scheduling(outreach: Outreach) -> None:
    team = await outreach.team()
    christmas = await outreach.schedule(team, date(2026, 12, 25))
    assert christmas.status_code == 422
    (error,) = christmas.json()["errors"]
    assert (error["field"], error["code"]) == ("day", "not_a_working_day")
    assert "national holiday" in error["reason"] and "Kelahiran Yesus Kristus" in error["reason"]
    leave = await outreach.schedule(team, date(2026, 12, 24))
    assert "cuti bersama" in leave.json()["errors"][0]["reason"]
    saturday = await outreach.schedule(team, date(2026, 12, 5))
    assert "weekend" in saturday.json()["errors"][0]["reason"]
    unknown_year = await outreach.schedule(team, date(2028, 1, 4))
    assert codes(unknown_year) == ["holidays_unknown"]
    past = await outreach.schedule(team, TODAY - timedelta(days=1))
    assert codes(past) == ["day_in_past"]

    closure = await outreach.client.post(
        "/v1/closures", json={"day": "2026-12-03", "reason": "Banjir di kantor"}
    )
    assert closure.status_code == 201, closure.text
    closed = await outreach.schedule(team, date(2026, 12, 3))
    assert closed.status_code == 422
    assert "office closure: Banjir di kantor" in closed.json()["errors"][0]["reason"]
    listed = await outreach.client.get("/v1/closures", params={"from": "2026-12-01"})
    assert [c["day"] for c in listed.json()["items"]] == ["2026-12-03"]
    assert await outreach.outbox_count() == 0


async def test_a_closure_names_the_sessions_already_on_that_day(outreach: Outreach) -> None:
    team = await outreach.team()
    session = (await outreach.schedule(team, TOMORROW)).json()
    body = {"day": TOMORROW.isoformat(), "reason": "Hari jadi kabupaten"}
    declared = await outreach.client.post("/v1/closures", json=body)
    assert declared.json()["sessions_on_that_day"] == [session["id"]]
    assert (await outreach.client.post("/v1/closures", json=body)).status_code == 200
    other = await outreach.client.post("/v1/closures", json=body | {"reason": "Lain"})
    assert other.status_code == 409


async def test_a_closure_is_refused_on_a_day_a_session_took_place(outreach: Outreach) -> None:
    team = await outreach.team()
    running = await outreach.session_in_progress(team)
    body = {"day": TODAY.isoformat(), "reason": "Banjir di kantor"}
    under_way = await outreach.client.post("/v1/closures", json=body)
    assert under_way.status_code == 409, under_way.text
    assert under_way.headers["content-type"] == "application/problem+json"
    problem = under_way.json()
    assert problem["type"].endswith("/sessions-took-place")
    assert running["id"] in problem["detail"]
    (error,) = problem["errors"]
    assert (error["field"], error["code"]) == ("day", "session_took_place")
    assert error["reason"] == f"session {running['id']} is in_progress; recordings uploaded: 0"

    uploaded = await outreach.client.post(
        f"/v1/sessions/{running['id']}/recordings",
        json=recording("rec-closure-0001", "1602055705900012", "TIM1-K1"),
    )
    assert uploaded.status_code == 201, uploaded.text
    closed = await outreach.client.post(
        f"/v1/sessions/{running['id']}:close",
        json={
            "outcomes": {
                "recorded": 1,
                "failed_to_record": 0,
                "under_age": 0,
                "already_has_card": 0,
                "absent": 0,
            }
        },
    )
    assert closed.status_code == 200, closed.text
    # Completed, with its recordings: the day still took place.
    after = await outreach.client.post("/v1/closures", json=body)
    assert after.status_code == 409
    assert [e["reason"] for e in after.json()["errors"]] == [
        f"session {running['id']} is completed; recordings uploaded: 1"
    ]
    listed = await outreach.client.get("/v1/closures", params={"from": TODAY.isoformat()})
    assert listed.json()["items"] == []


async def test_a_planned_session_cannot_start_on_a_closed_day_until_it_is_revoked(
    outreach: Outreach,
) -> None:
    team = await outreach.team()
    planned = (await outreach.schedule(team, TODAY)).json()
    body = {"day": TODAY.isoformat(), "reason": "Banjir di kantor"}
    declared = await outreach.client.post("/v1/closures", json=body)
    assert declared.status_code == 201, declared.text
    assert declared.json()["sessions_on_that_day"] == [planned["id"]]
    start = f"/v1/sessions/{planned['id']}:start"
    refused = await outreach.client.post(start)
    assert refused.status_code == 409
    assert refused.json()["type"].endswith("/office-closed")
    assert "Banjir di kantor" in refused.json()["detail"]

    revoked = await outreach.client.delete(f"/v1/closures/{TODAY.isoformat()}")
    assert revoked.status_code == 204, revoked.text
    assert revoked.content == b""
    listed = await outreach.client.get("/v1/closures", params={"from": TODAY.isoformat()})
    assert listed.json()["items"] == []
    started = await outreach.client.post(start)
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "in_progress"
    # The day is open again: a team can be booked on it.
    other = await outreach.team("Tim 2", kits=1)
    assert (await outreach.schedule(other, TODAY, village=OTHER_VILLAGE)).status_code == 201

    again = await outreach.client.delete(f"/v1/closures/{TODAY.isoformat()}")
    assert again.status_code == 404
    assert again.headers["content-type"] == "application/problem+json"
    assert again.json()["detail"] == "The office is not declared closed on 2026-12-01."
    past = await outreach.client.delete(f"/v1/closures/{(TODAY - timedelta(days=1)).isoformat()}")
    assert codes(past) == ["day_in_past"]
    unreadable = await outreach.client.delete("/v1/closures/besok")
    assert unreadable.status_code == 422
    # Closures publish nothing; the sessions' own events are all there is.
    assert await outreach.outbox_types() == ["session_scheduled", "session_scheduled"]


async def test_revoking_a_closure_needs_the_planners_scope(outreach: Outreach) -> None:
    day = TOMORROW.isoformat()
    declared = await outreach.client.post("/v1/closures", json={"day": day, "reason": "Banjir"})
    assert declared.status_code == 201
    recorder = shared_issuer().headers("outreach:record", client_id="tim-lapangan")
    district = shared_issuer().headers("outreach:plan", client_id="kec", areas=["16.02.05"])
    for headers in (recorder, district):
        refused = await outreach.client.delete(f"/v1/closures/{day}", headers=headers)
        assert refused.status_code == 403
    listed = await outreach.client.get("/v1/closures", params={"from": day})
    assert [c["day"] for c in listed.json()["items"]] == [day]


async def test_broken_kits_take_capacity_down(outreach: Outreach) -> None:
    team = await outreach.team(kits=3)
    session = (await outreach.schedule(team, TOMORROW)).json()
    assert session["planned_capacity"] == 240

    broken = await outreach.client.patch("/v1/kits/TIM1-K2", json={"condition": "broken"})
    assert broken.status_code == 200
    team_now = (await outreach.client.get(f"/v1/teams/{team['id']}")).json()
    assert (team_now["working_kits"], team_now["daily_capacity"]) == (2, 160)
    reread = await outreach.client.get(f"/v1/sessions/{session['id']}")
    assert reread.json()["planned_capacity"] == 160

    await outreach.client.patch("/v1/kits/TIM1-K3", json={"condition": "in_repair"})
    assert (await outreach.client.get(f"/v1/sessions/{session['id']}")).json()[
        "planned_capacity"
    ] == 80
    # A new session takes the working kit only.
    later = (await outreach.schedule(team, TOMORROW + timedelta(days=1))).json()
    assert (later["kit_serials"], later["planned_capacity"]) == (["TIM1-K1"], 80)
    # A broken kit cannot be taken, and a team with none working has no capacity to plan.
    named = await outreach.schedule(
        team, TOMORROW + timedelta(days=2), kit_serials=["TIM1-K1", "TIM1-K2"]
    )
    assert codes(named) == ["kit_not_working"]
    await outreach.client.patch("/v1/kits/TIM1-K1", json={"condition": "broken"})
    none_left = await outreach.schedule(team, TOMORROW + timedelta(days=2))
    assert codes(none_left) == ["no_working_kits"]

    repaired = await outreach.client.patch("/v1/kits/TIM1-K2", json={"condition": "working"})
    assert repaired.json()["condition"] == "working"
    assert (await outreach.client.get(f"/v1/sessions/{session['id']}")).json()[
        "planned_capacity"
    ] == 80


async def test_session_lifecycle_and_close_out(outreach: Outreach) -> None:
    team = await outreach.team(kits=2)
    tomorrow = (await outreach.schedule(team, TOMORROW)).json()
    too_early = await outreach.client.post(f"/v1/sessions/{tomorrow['id']}:start")
    assert too_early.status_code == 409

    session = await outreach.session_in_progress(team)
    assert session["status"] == "in_progress"
    cancel = await outreach.client.post(
        f"/v1/sessions/{session['id']}:cancel", json={"reason": "hujan"}
    )
    assert cancel.status_code == 409  # under way: it is closed out, not cancelled

    resident = "1602055705900012"
    uploaded = await outreach.client.post(
        f"/v1/sessions/{session['id']}/recordings",
        json=recording("rec-close-0001", resident, "TIM1-K1"),
    )
    assert uploaded.status_code == 201, uploaded.text
    outcomes = {
        "recorded": 2,
        "failed_to_record": 1,
        "under_age": 3,
        "already_has_card": 4,
        "absent": 5,
    }
    # Kit K1 says it captured 2 recordings; one is uploaded: the close-out waits.
    refused = await outreach.client.post(
        f"/v1/sessions/{session['id']}:close",
        json={"outcomes": outcomes, "kit_counts": {"TIM1-K1": 2, "TIM1-K2": 0}},
    )
    assert refused.status_code == 409
    (error,) = refused.json()["errors"]
    assert (error["field"], error["code"]) == ("kit_counts.TIM1-K1", "recordings_not_uploaded")
    assert "2 recordings; 1 uploaded" in error["reason"]
    stranger = await outreach.client.post(
        f"/v1/sessions/{session['id']}:close",
        json={"outcomes": outcomes, "kit_counts": {"OTHER-KIT": 1}},
    )
    assert codes(stranger) == ["kit_not_in_session"]

    await outreach.client.post(
        f"/v1/sessions/{session['id']}/recordings",
        json=recording("rec-close-0002", "1602055705900013", "TIM1-K1"),
    )
    closed = await outreach.client.post(
        f"/v1/sessions/{session['id']}:close",
        json={"outcomes": outcomes, "kit_counts": {"TIM1-K1": 2}},
    )
    assert closed.status_code == 200, closed.text
    body = closed.json()
    assert (body["status"], body["outcomes"], body["uploaded_recordings"]) == (
        "completed",
        outcomes,
        2,
    )
    again = await outreach.client.post(
        f"/v1/sessions/{session['id']}:close", json={"outcomes": outcomes}
    )
    assert again.status_code == 200
    assert (await outreach.outbox_types()).count("session_completed") == 1

    cancelled = await outreach.client.post(
        f"/v1/sessions/{tomorrow['id']}:cancel", json={"reason": "Tim sakit"}
    )
    assert cancelled.json()["status"] == "cancelled"
    assert cancelled.json()["kit_serials"] == []
    # The day is free again.
    assert (await outreach.schedule(team, TOMORROW)).status_code == 201
    listed = await outreach.client.get("/v1/sessions", params={"status": "cancelled"})
    assert [s["id"] for s in listed.json()["items"]] == [tomorrow["id"]]


OUTCOMES = {"failed_to_record": 0, "under_age": 0, "already_has_card": 0, "absent": 0}


async def test_close_out_outcomes_must_agree_with_the_uploads(outreach: Outreach) -> None:
    team = await outreach.team(kits=1)
    session = await outreach.session_in_progress(team)
    # Three recordings of two residents (one retaken).
    for number, resident in enumerate(["1602055705900012", "1602055705900013"] * 2):
        uploaded = await outreach.client.post(
            f"/v1/sessions/{session['id']}/recordings",
            json=recording(f"rec-agree-{number:04}", resident, "TIM1-K1"),
        )
        assert uploaded.status_code == 201, uploaded.text
        if number == 2:
            break

    async def close(recorded: int) -> Any:
        return await outreach.client.post(
            f"/v1/sessions/{session['id']}:close",
            json={"outcomes": OUTCOMES | {"recorded": recorded}},
        )

    # Nobody recorded, while recordings were uploaded: the report is wrong.
    nobody = await close(0)
    assert nobody.status_code == 422
    assert nobody.headers["content-type"] == "application/problem+json"
    (error,) = nobody.json()["errors"]
    assert (error["field"], error["code"]) == ("outcomes.recorded", "recorded_below_uploads")
    assert "reported 0 recorded; 3 recordings of 2 residents" in error["reason"]
    assert (await close(1)).status_code == 422
    # More than were uploaded: they would never reach the register once the session is closed.
    beyond = await close(4)
    assert beyond.status_code == 409
    (error,) = beyond.json()["errors"]
    assert (error["field"], error["code"]) == ("outcomes.recorded", "recordings_not_uploaded")
    assert "reported 4 recorded; 3 recordings uploaded" in error["reason"]
    assert "reported 4 recorded; 3 recordings uploaded" in beyond.json()["detail"]
    assert "session_completed" not in await outreach.outbox_types()
    # Between the residents and the recordings (a retake counted once, or not): accepted.
    closed = await close(2)
    assert closed.status_code == 200, closed.text
    assert closed.json()["outcomes"]["recorded"] == 2


@pytest.fixture
async def small_kits(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[Outreach]:
    async for driver in start_outreach(
        database_url, kafka_bootstrap, kafka_namespace, per_kit_daily_rate=2
    ):
        yield driver


async def test_uploads_beyond_planned_capacity_are_kept_and_show_the_overrun(
    small_kits: Outreach,
) -> None:
    outreach = small_kits
    team = await outreach.team(kits=1)
    session = await outreach.session_in_progress(team)
    assert (session["planned_capacity"], session["capacity_overrun"]) == (2, 0)
    residents = [f"16020557059000{n}" for n in range(20, 23)]
    for number, resident in enumerate(residents):
        uploaded = await outreach.client.post(
            f"/v1/sessions/{session['id']}/recordings",
            json=recording(f"rec-over-{number:04}", resident, "TIM1-K1"),
        )
        assert uploaded.status_code == 201, uploaded.text  # the third too, beyond capacity
    read = (await outreach.client.get(f"/v1/sessions/{session['id']}")).json()
    assert (read["planned_capacity"], read["uploaded_recordings"]) == (2, 3)
    assert read["capacity_overrun"] == 1
    listed = (await outreach.client.get("/v1/sessions")).json()["items"]
    assert [s["capacity_overrun"] for s in listed] == [1]
    closed = await outreach.client.post(
        f"/v1/sessions/{session['id']}:close", json={"outcomes": OUTCOMES | {"recorded": 3}}
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["capacity_overrun"] == 1


async def test_lists_page_with_tokens(outreach: Outreach) -> None:
    team = await outreach.team()
    for offset in range(3):
        await outreach.schedule(team, TOMORROW + timedelta(days=offset))
    first = await outreach.client.get("/v1/sessions", params={"page_size": 2})
    assert len(first.json()["items"]) == 2
    token = first.json()["next_page_token"]
    rest = await outreach.client.get("/v1/sessions", params={"page_size": 2, "page_token": token})
    assert len(rest.json()["items"]) == 1 and rest.json()["next_page_token"] is None
    bad = await outreach.client.get("/v1/sessions", params={"page_token": "bm9wZQ"})
    assert bad.status_code == 422
    unknown = await outreach.client.get("/v1/sessions/nope")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == "application/problem+json"


async def test_district_staff_see_and_run_the_sessions_of_their_areas_only(
    outreach: Outreach,
) -> None:
    first, second = await outreach.team("Tim 1", kits=1), await outreach.team("Tim 2", kits=1)
    here = (await outreach.schedule(first, TOMORROW)).json()  # Kayu Agung
    there = (await outreach.schedule(second, TOMORROW, village=OTHER_VILLAGE)).json()
    kayu_agung = shared_issuer().headers(
        "outreach:plan outreach:record", client_id="kec-kayuagung", areas=["16.02.05"]
    )
    listed = await outreach.client.get("/v1/sessions", headers=kayu_agung)
    assert [s["id"] for s in listed.json()["items"]] == [here["id"]]
    assert (await outreach.client.get(f"/v1/sessions/{here['id']}", headers=kayu_agung)).is_success
    for path in (f"/v1/sessions/{there['id']}", f"/v1/sessions/{there['id']}/recordings"):
        refused = await outreach.client.get(path, headers=kayu_agung)
        assert refused.status_code == 403, path
        assert refused.headers["content-type"] == "application/problem+json"
    cancel = await outreach.client.post(
        f"/v1/sessions/{there['id']}:cancel", json={"reason": "bukan wilayah"}, headers=kayu_agung
    )
    assert cancel.status_code == 403
    elsewhere = {"kind": "village_drive", "village_code": OTHER_VILLAGE, "day": str(TOMORROW)}
    scheduled = await outreach.client.post(
        "/v1/sessions", json=elsewhere | {"team_id": first["id"]}, headers=kayu_agung
    )
    assert scheduled.status_code == 403
    # Teams and the plan stay with the office.
    assert (await outreach.client.get("/v1/teams", headers=kayu_agung)).status_code == 403
