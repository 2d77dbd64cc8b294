"""`GET /v1/plan` and `POST /v1/plan:accept` over HTTP against a real database."""

from __future__ import annotations

from datetime import date

from jemput.outreach.testing import OTHER_VILLAGE, VILLAGE, Outreach, nik, registered

FAR_VILLAGE = "16.02.14.2001"  # Air Sugihan


async def seed(outreach: Outreach) -> None:
    residents = [registered(i) for i in range(1, 301)]
    residents += [registered(i, village_code=OTHER_VILLAGE) for i in range(301, 401)]
    residents += [registered(i, village_code=FAR_VILLAGE) for i in range(401, 451)]
    await outreach.apply(residents)


async def test_plan_skips_days_off_serves_home_visits_first_and_is_accepted_once(
    outreach: Outreach,
) -> None:
    await seed(outreach)
    big = await outreach.team("Tim Besar", kits=3)
    small = await outreach.team("Tim Kecil", kits=1)
    idle = await outreach.team("Tim Rusak", kits=1)
    await outreach.client.patch("/v1/kits/TIMRUSAK-K1", json={"condition": "broken"})
    visit = await outreach.client.post("/v1/home-visits", json={"nik": nik(5), "reason": "sick"})
    assert visit.status_code == 201
    # Team Besar is already out on the 22nd.
    assert (await outreach.schedule(big, date(2026, 12, 22))).status_code == 201

    response = await outreach.client.get(
        "/v1/plan", params={"from": "2026-12-21", "to": "2026-12-28"}
    )
    assert response.status_code == 200, response.text
    plan = response.json()
    assert plan["working_days"] == ["2026-12-21", "2026-12-22", "2026-12-23", "2026-12-28"]
    off = {d["day"]: d["kind"] for d in plan["days_off"]}
    assert off["2026-12-24"] == "collective_leave" and off["2026-12-25"] == "national_holiday"
    assert plan["idle_teams"] == [idle["id"]]
    sessions = plan["sessions"]
    assert {s["day"] for s in sessions} <= set(plan["working_days"])
    assert ("2026-12-22", big["id"]) not in {(s["day"], s["team_id"]) for s in sessions}
    home = [s for s in sessions if s["kind"] == "home_visit"]
    assert [(h["day"], h["team_id"], h["home_visit_ids"]) for h in home] == [
        ("2026-12-21", small["id"], [visit.json()["id"]])
    ]
    for proposal in sessions:
        assert proposal["expected_recordings"] <= proposal["planned_capacity"]
        assert proposal["reason"]
    assert plan["expected_recordings"] == sum(s["expected_recordings"] for s in sessions)
    drives = [s for s in sessions if s["kind"] == "village_drive"]
    assert drives[0]["village_code"] == VILLAGE  # the biggest backlog, near the office
    assert "eligible residents not yet recorded" in drives[0]["reason"]

    accepted = await outreach.client.post("/v1/plan:accept", json={"sessions": sessions})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["created"] == len(sessions)
    scheduled = accepted.json()["sessions"]
    assert [s["expected_recordings"] for s in scheduled] == [
        s["expected_recordings"] for s in sessions
    ]
    home_session = next(s for s in scheduled if s["kind"] == "home_visit")
    booked = await outreach.client.get(f"/v1/sessions/{home_session['id']}/appointments")
    assert [a["nik"] for a in booked.json()["items"]] == [nik(5)]
    queue = (await outreach.client.get("/v1/home-visits")).json()["items"]
    assert queue[0]["session_id"] == home_session["id"]

    again = await outreach.client.post("/v1/plan:accept", json={"sessions": sessions})
    assert again.status_code == 200
    assert again.json()["created"] == 0
    # Everything is booked now: a new plan has no free team-day left.
    replanned = await outreach.client.get(
        "/v1/plan", params={"from": "2026-12-21", "to": "2026-12-28"}
    )
    assert replanned.json()["sessions"] == []


async def test_a_stale_plan_is_refused_whole(outreach: Outreach) -> None:
    await seed(outreach)
    team = await outreach.team(kits=2)
    plan = (
        await outreach.client.get("/v1/plan", params={"from": "2026-12-02", "to": "2026-12-03"})
    ).json()
    assert len(plan["sessions"]) == 2
    # Meanwhile someone books the team on the first day elsewhere.
    assert (
        await outreach.schedule(team, date(2026, 12, 2), village=FAR_VILLAGE)
    ).status_code == 201
    before = await outreach.outbox_count()
    stale = await outreach.client.post("/v1/plan:accept", json={"sessions": plan["sessions"]})
    assert stale.status_code == 409
    assert [(e["field"], e["code"]) for e in stale.json()["errors"]] == [
        ("sessions.0.team_id", "team_double_booked")
    ]
    assert await outreach.outbox_count() == before  # nothing of the plan was written
    doubled = [plan["sessions"][1], plan["sessions"][1] | {"village_code": FAR_VILLAGE}]
    clash = await outreach.client.post("/v1/plan:accept", json={"sessions": doubled})
    assert clash.status_code == 409
    assert {e["code"] for e in clash.json()["errors"]} == {
        "team_double_booked",
        "kit_double_booked",
    }


async def test_plan_range_is_checked(outreach: Outreach) -> None:
    for params, code in [
        ({"from": "2026-11-30", "to": "2026-12-04"}, "day_in_past"),
        ({"from": "2026-12-04", "to": "2026-12-01"}, "before_from"),
        ({"from": "2026-12-01", "to": "2027-06-01"}, "range_too_long"),
        ({"from": "2027-12-20", "to": "2028-01-10"}, "holidays_unknown"),
    ]:
        response = await outreach.client.get("/v1/plan", params=params)
        assert response.status_code == 422, params
        assert [e["code"] for e in response.json()["errors"]] == [code]
    estimated = await outreach.client.get(
        "/v1/plan", params={"from": "2027-03-01", "to": "2027-03-12"}
    )
    assert estimated.status_code == 200
    assert any("Idul Fitri" in w for w in estimated.json()["warnings"])
