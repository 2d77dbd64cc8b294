"""The analytics API over HTTP on a real database: coverage, progress and targets, stock,
productivity and data quality, in JSON and CSV, for regency-wide and district clients; the
dashboard's files are public, nothing else is."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import event as sa_event

from jemput.analytics.entrypoints.http.app import create_app
from jemput.analytics.settings import AnalyticsSettings
from jemput.analytics.testing import KAYU_AGUNG_VILLAGE, LEMPUING_VILLAGE, apply, inbound, resident
from jemput.shared.db import create_engine
from jemput.shared.events.base import EventPayload
from jemput.shared.events.inventory import StockChangedV1, StockLowV1, SuketIssuedV1
from jemput.shared.events.outreach import (
    HomeVisitClosedV1,
    HomeVisitRequestedV1,
    RecordingCapturedV1,
    SessionCancelledV1,
    SessionCompletedV1,
    SessionScheduledV1,
)
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.auth import shared_issuer
from jemput.shared.testing.fixtures import migrate

WIB = ZoneInfo("Asia/Jakarta")
AS_OF = "2026-11-28"
UNKNOWN_VILLAGE = "16.02.05.9999"  # well-formed, not in the Kemendagri table


def wib(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=WIB)


def reader(*areas: str, scopes: str = "analytics:read") -> dict[str, str]:
    return shared_issuer().headers(scopes, client_id="kecamatan", areas=list(areas) or None)


def seed() -> list[Any]:
    adults = [resident(KAYU_AGUNG_VILLAGE, date(1980, 1, 1), serial=n) for n in range(1, 11)]
    lempuing = [resident(LEMPUING_VILLAGE, date(1975, 1, 1), serial=n) for n in range(11, 13)]
    stray = resident(UNKNOWN_VILLAGE, date(1970, 1, 1), serial=13)
    events: list[Any] = [inbound(p, at=wib(1)) for p in (*adults, *lempuing, stray)]

    def session(kind: type[EventPayload], sid: str, team: str, day: int, **extra: Any) -> Any:
        fields = {
            "session_id": sid,
            "kind": "village_drive",
            "village_code": KAYU_AGUNG_VILLAGE,
            "day": date(2026, 11, day),
            "team_id": team,
        }
        return inbound(kind(**fields, **extra))

    completed = {
        "recorded": 5,
        "failed_to_record": 0,
        "under_age": 0,
        "already_has_card": 0,
        "absent": 0,
        "uploaded_recordings": 5,
    }
    # Completion before scheduling: the order events arrive in must not matter.
    events += [
        session(SessionCompletedV1, "s1", "T1", 24, completed_at=wib(24, 16), **completed),
        session(SessionScheduledV1, "s1", "T1", 24, planned_capacity=160, kit_serials=("K1", "K2")),
        session(SessionScheduledV1, "s2", "T1", 25, planned_capacity=80, kit_serials=("K1",)),
        session(SessionCompletedV1, "s2", "T1", 25, completed_at=wib(25, 16), **completed),
        session(SessionScheduledV1, "s3", "T2", 25, planned_capacity=80, kit_serials=("K3",)),
        session(SessionCancelledV1, "s3", "T2", 25, cancelled_at=wib(24, 18)),
        session(SessionScheduledV1, "s4", "T2", 26, planned_capacity=80, kit_serials=("K3",)),
    ]
    # Nine recordings: five on the 24th (s1, kits K1 and K2), four on the 25th (s2, K1).
    plan = [("s1", "K1", 24)] * 3 + [("s1", "K2", 24)] * 2 + [("s2", "K1", 25)] * 4
    for n, (sid, kit, day) in enumerate(plan):
        events.append(
            inbound(
                RecordingCapturedV1(
                    recording_id=f"r{n}",
                    nik=adults[n].nik,
                    session_id=sid,
                    team_id="T1",
                    kit_serial=kit,
                    village_code=KAYU_AGUNG_VILLAGE,
                    captured_at=wib(day),
                )
            )
        )
    # Home visits due in the week: met by s1's recording, closed late by hand, still open.
    visits = [
        HomeVisitRequestedV1(
            home_visit_id=f"hv{n}",
            nik=adults[n].nik,
            village_code=KAYU_AGUNG_VILLAGE,
            requested_at=wib(20),
            deadline=date(2026, 11, day),
        )
        for n, day in ((1, 24), (2, 25), (3, 26))
    ]
    events += [inbound(v) for v in visits]
    events += [
        inbound(
            HomeVisitClosedV1(
                **visits[0].model_dump(),
                closed_at=wib(24),
                outcome="recorded",
                session_id="s1",
                team_id="T1",
                kit_serial="K1",
                recording_id="r1",
            )
        ),
        inbound(
            HomeVisitClosedV1(
                **visits[1].model_dump(), closed_at=wib(27), outcome="unreachable", team_id="T2"
            )
        ),
    ]
    events.append(
        inbound(
            SuketIssuedV1(
                nik=adults[0].nik,
                suket_number="S1",
                issued_at=wib(20),
                valid_until=date(2027, 5, 20),
            )
        )
    )

    def stock(kind: str, quantity: int, on_hand: int, reserved: int, day: int, offset: int) -> Any:
        payload = StockChangedV1(
            location="kantor",
            entry_kind=kind,
            quantity=quantity,
            on_hand=on_hand,
            reserved=reserved,
            at=wib(day),
        )
        return inbound(payload, offset=offset)

    # Newest first: the stock must still end as the newest event says.
    events += [
        stock("SPOILED", 1, 94, 8, 27, 4),
        stock("CONSUMED", 5, 95, 9, 26, 3),
        stock("RESERVED", 4, 100, 14, 25, 2),
        stock("RESERVED", 10, 100, 10, 20, 1),
        stock("RECEIVED", 100, 100, 0, 10, 0),
        inbound(StockLowV1(location="kecamatan-05", available=3, threshold=5, at=wib(27))),
    ]
    return events


@pytest.fixture
async def client(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[httpx.AsyncClient]:
    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    await apply(engine, seed())
    await engine.dispose()
    settings = AnalyticsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        relay_enabled=False,
        consumer_enabled=False,
        target_due=date(2026, 12, 31),
    )
    async with app_client(create_app, settings) as (http, _):
        yield http


def rows(response: httpx.Response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


async def test_coverage_in_json_and_csv(client: httpx.AsyncClient) -> None:
    got = await client.get("/v1/coverage", params={"area": "16.02", "as_of": AS_OF})
    assert got.status_code == 200, got.text
    body = got.json()
    # The stray resident's village is not in the table, its district is: counted there.
    assert (body["area"]["eligible"], body["area"]["recorded"]) == (13, 9)
    assert body["area"]["suket_outstanding"] == 1
    kayu_agung = next(c for c in body["children"] if c["code"] == "16.02.05")
    assert (kayu_agung["eligible"], kayu_agung["recorded"]) == (11, 9)
    table = rows(
        await client.get("/v1/coverage", params={"area": "16.02", "as_of": AS_OF, "format": "csv"})
    )
    assert len(table) == 19 and table[0]["code"] == "16.02" and table[0]["eligible"] == "13"
    assert next(r for r in table if r["code"] == "16.02.05")["recorded"] == "9"
    accepted = await client.get(
        "/v1/coverage", params={"area": "16.02.05", "as_of": AS_OF}, headers={"Accept": "text/csv"}
    )
    assert rows(accepted)[0]["code"] == "16.02.05"


async def test_a_villages_coverage_has_no_child_areas(client: httpx.AsyncClient) -> None:
    params = {"area": KAYU_AGUNG_VILLAGE, "as_of": AS_OF}
    got = await client.get("/v1/coverage", params=params)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["children"] == []
    district = (await client.get("/v1/coverage", params=params | {"area": "16.02.05"})).json()
    in_district = next(c for c in district["children"] if c["code"] == KAYU_AGUNG_VILLAGE)
    assert body["area"] == in_district
    assert (body["area"]["level"], body["area"]["eligible"]) == ("village", 10)
    table = rows(await client.get("/v1/coverage", params=params | {"format": "csv"}))
    assert [r["code"] for r in table] == [KAYU_AGUNG_VILLAGE]
    assert table[0]["recorded"] == str(body["area"]["recorded"])


async def test_a_villages_progress_has_no_child_areas(client: httpx.AsyncClient) -> None:
    params = {"area": KAYU_AGUNG_VILLAGE, "as_of": AS_OF}
    got = await client.get("/v1/progress", params=params)
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["children"], body["at_risk"]) == ([], [])
    district = (await client.get("/v1/progress", params=params | {"area": "16.02.05"})).json()
    in_district = next(c for c in district["children"] if c["code"] == KAYU_AGUNG_VILLAGE)
    assert body["area"] == in_district
    table = rows(await client.get("/v1/progress", params=params | {"format": "csv"}))
    assert [r["code"] for r in table] == [KAYU_AGUNG_VILLAGE]


async def test_progress_targets_and_district_clients(client: httpx.AsyncClient) -> None:
    got = (await client.get("/v1/progress", params={"area": "16.02", "as_of": AS_OF})).json()
    regency = got["area"]
    # 0.95 x 13 = 12.35 -> 13 needed, 9 recorded: 4 lacking over 33 days; 9 in the last 14 days.
    assert (regency["needed"], regency["lacking"], regency["days_left"]) == (13, 4, 33)
    assert regency["pace_14_days"] == round(9 / 14, 4)
    assert regency["pace_needed"] == round(4 / 33, 4)
    assert regency["reached_on_at_14_day_pace"] == "2026-12-05"  # ceil(4 x 14 / 9) = 7 days
    assert regency["target_source"] == "default"
    assert got["at_risk"] == ["16.02.13"]  # Lempuing: 2 lacking, no recordings lately
    assert sum(d["recorded"] for d in got["daily"]) == 9 and len(got["daily"]) == 60

    refused = await client.put(
        "/v1/targets/16.02.05", json={"share": 1.0, "due": "2026-12-15"}, headers=reader()
    )
    assert refused.status_code == 403
    put = await client.put("/v1/targets/16.02.05", json={"share": 1.0, "due": "2026-12-15"})
    assert put.status_code == 200, put.text
    assert put.json() == {
        "share": 1.0,
        "due": "2026-12-15",
        "area_code": "16.02.05",
        "source": "area",
    }
    bad = await client.put("/v1/targets/16.02.05", json={"share": 1.5, "due": "2026-12-15"})
    assert bad.status_code == 422
    # The regency's answer above was kept by its tag; the new target changes the tag.
    again = await client.get("/v1/progress", params={"area": "16.02", "as_of": AS_OF})
    changed = {c["code"]: c for c in again.json()["children"]}["16.02.05"]
    assert (changed["target_share"], changed["target_source"]) == (1.0, "16.02.05")
    assert again.headers["etag"] and again.json()["area"]["recorded"] == regency["recorded"]
    unchanged = await client.get(
        "/v1/progress",
        params={"area": "16.02", "as_of": AS_OF},
        headers={"If-None-Match": again.headers["etag"]},
    )
    assert unchanged.status_code == 304

    district = await client.get(
        "/v1/progress", params={"area": "16.02.05", "as_of": AS_OF}, headers=reader("16.02.05")
    )
    assert district.status_code == 200, district.text
    village = district.json()["children"][0]
    assert (village["target_share"], village["target_due"]) == (1.0, "2026-12-15")
    assert village["target_source"] == "16.02.05"  # inherited from the district
    other = await client.get(
        "/v1/progress", params={"area": "16.02.13"}, headers=reader("16.02.05")
    )
    assert other.status_code == 403
    table = rows(
        await client.get("/v1/progress", params={"area": "16.02", "as_of": AS_OF, "format": "csv"})
    )
    assert table[0]["lacking"] == "4" and table[0]["at_risk"] == "False"


async def test_stock_days_of_cover(client: httpx.AsyncClient) -> None:
    got = (await client.get("/v1/stock", params={"as_of": AS_OF})).json()
    office, district = got["locations"]
    assert (office["location"], office["on_hand"], office["reserved"]) == ("kantor", 94, 8)
    # Inventory's forecast's daily demand: 5 printed and 1 spoiled over the 18 complete days
    # from the location's first entry (10 Nov) to 27 Nov; reserving is not demand yet.
    assert office["available"] == 86
    assert office["daily_use"] == round(6 / 18, 4)
    assert office["days_of_cover"] == round(86 / (6 / 18), 1)
    assert (district["location"], district["low"], district["low_threshold"]) == (
        "kecamatan-05",
        True,
        5,
    )
    # The total is the locations' sum (the SUKET was counted at the office, which has no stock).
    assert got["total"]["daily_use"] == round(6 / 18, 4)
    assert (got["suket_outstanding"], got["sukets_issued_last_14_days"]) == (1, 1)
    table = rows(await client.get("/v1/stock", params={"as_of": AS_OF, "format": "csv"}))
    assert [r["location"] for r in table] == ["kantor", "kecamatan-05", "*"]


async def test_productivity_per_team_day_and_kit_day(client: httpx.AsyncClient) -> None:
    got = await client.get(
        "/v1/outreach/productivity", params={"from": "2026-11-23", "to": "2026-11-29"}
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["from"], body["sessions_scheduled"], body["sessions_completed"]) == (
        "2026-11-23",
        4,
        2,
    )
    assert body["sessions_cancelled"] == 1
    # 9 recordings; team T1 out on the 24th and 25th: 2 team-days; kits K1 (2 days) + K2 (1).
    assert (body["recordings"], body["team_days"], body["working_kit_days"]) == (9, 2, 3)
    assert (body["recordings_per_team_day"], body["recordings_per_working_kit_day"]) == (4.5, 3.0)
    assert {s["session_id"]: s["recordings"] for s in body["sessions"]} == {
        "s1": 5,
        "s2": 4,
        "s3": 0,
        "s4": 0,
    }
    assert next(s for s in body["sessions"] if s["session_id"] == "s1")["state"] == "completed"
    # Three home visits due in the week: one met (s1, T1, K1), one closed late, one still open.
    assert (
        body["home_visits_due"],
        body["home_visit_deadlines_met"],
        body["home_visits_closed_late"],
        body["home_visits_open_past_deadline"],
    ) == (3, 1, 1, 1)
    teams = {t["id"]: t for t in body["teams"]}
    assert (teams["T1"]["home_visit_deadlines_met"], teams["T2"]["home_visits_closed_late"]) == (
        1,
        1,
    )
    assert next(k for k in body["kits"] if k["id"] == "K1")["home_visit_deadlines_met"] == 1
    assert {s["session_id"]: s["home_visit_deadlines_met"] for s in body["sessions"]}["s1"] == 1
    elsewhere = await client.get(
        "/v1/outreach/productivity",
        params={"from": "2026-11-23", "to": "2026-11-29", "area": "16.02.13"},
    )
    assert (elsewhere.json()["home_visits_due"], elsewhere.json()["home_visit_deadlines_met"]) == (
        0,
        0,
    )
    backwards = await client.get(
        "/v1/outreach/productivity", params={"from": "2026-11-29", "to": "2026-11-23"}
    )
    assert backwards.status_code == 422
    assert backwards.json()["errors"][0]["code"] == "bad_range"
    table = rows(
        await client.get(
            "/v1/outreach/productivity",
            params={"from": "2026-11-23", "to": "2026-11-29", "format": "csv"},
        )
    )
    assert [r["session_id"] for r in table] == ["s1", "s2", "s3", "s4"]
    assert table[0]["kit_serials"] == "K1;K2"
    assert [r["home_visit_deadlines_met"] for r in table] == ["1", "0", "0", "0"]


async def test_data_quality(client: httpx.AsyncClient) -> None:
    got = (await client.get("/v1/data-quality", params={"as_of": AS_OF})).json()
    issues = {(i["code"], i["issue"]) for i in got["issues"]}
    assert ("16.02.05", "district_total_differs") in issues  # the stray resident
    assert (UNKNOWN_VILLAGE, "unknown_village") in issues
    assert ("16.02.02", "no_denominator") in issues
    assert ("16.02.05.1001", "no_denominator") not in issues
    assert got["counts"]["unknown_village"] == 1
    village = await client.get("/v1/data-quality", params={"area": KAYU_AGUNG_VILLAGE})
    assert village.status_code == 422
    table = rows(await client.get("/v1/data-quality", params={"as_of": AS_OF, "format": "csv"}))
    assert {r["issue"] for r in table} >= {"no_denominator", "unknown_village"}


async def test_the_dashboard_files_are_public_and_nothing_else(client: httpx.AsyncClient) -> None:
    anonymous = {"Authorization": ""}
    page = await client.get("/", headers=anonymous)
    assert page.status_code == 200
    assert 'data-regency="16.02"' in page.text and "Perekaman e-KTP" in page.text
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    for path in ("/static/dashboard.js", "/static/dashboard.css"):
        assert (await client.get(path, headers=anonymous)).status_code == 200
    assert (await client.get("/static/other.js", headers=anonymous)).status_code == 401
    assert (await client.get("/v1/coverage?area=16.02", headers=anonymous)).status_code == 401
    assert "/" not in (await client.get("/openapi.json")).json()["paths"]


async def test_dates_are_iso_text_never_numbers(client: httpx.AsyncClient) -> None:
    """A number is not read as a Unix timestamp (`as_of=0` would be 1 January 1970)."""
    asked = [
        ("/v1/coverage", {"area": "16.02", "as_of": "0"}, "as_of"),
        ("/v1/progress", {"area": "16.02", "as_of": "0"}, "as_of"),
        ("/v1/stock", {"as_of": "0"}, "as_of"),
        ("/v1/data-quality", {"as_of": "0"}, "as_of"),
        ("/v1/data-quality", {"as_of": "1764288000"}, "as_of"),
        ("/v1/outreach/productivity", {"to": "0"}, "to"),
        ("/v1/outreach/productivity", {"from": "0", "to": "2026-11-29"}, "from"),
        ("/v1/stock", {"as_of": "9999-12-31"}, "as_of"),
    ]
    for path, params, name in asked:
        got = await client.get(path, params=params)
        assert got.status_code == 422, (path, params, got.text)
        assert got.headers["content-type"].startswith("application/problem+json")
        assert [e["field"] for e in got.json()["errors"]] == [name], (path, got.json())
    for due in (0, "0", 1798675200):
        put = await client.put("/v1/targets/16.02.05", json={"share": 0.9, "due": due})
        assert put.status_code == 422, (due, put.text)
        assert [e["field"] for e in put.json()["errors"]] == ["due"]
    fine = await client.get("/v1/stock", params={"as_of": AS_OF})
    assert fine.status_code == 200 and fine.json()["as_of"] == AS_OF


async def test_coverage_answers_304_to_a_known_etag_and_an_event_changes_it(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> None:
    await migrate("analytics", database_url)
    engine = create_engine(database_url)
    await apply(engine, seed())
    settings = AnalyticsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        relay_enabled=False,
        consumer_enabled=False,
    )
    params = {"area": "16.02", "as_of": AS_OF}
    try:
        async with app_client(create_app, settings) as (http, app):
            first = await http.get("/v1/coverage", params=params)
            assert first.status_code == 200, first.text
            tag = first.headers["etag"]
            assert first.headers["last-modified"] and first.headers["cache-control"]
            # A conditional request reads the position, not the aggregates nor the residents.
            statements: list[str] = []

            def seen(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
                statements.append(statement)

            sync_engine = app.state.runtime.engine.sync_engine
            sa_event.listen(sync_engine, "before_cursor_execute", seen)
            try:
                again = await http.get(
                    "/v1/coverage", params=params, headers={"If-None-Match": tag}
                )
            finally:
                sa_event.remove(sync_engine, "before_cursor_execute", seen)
            assert again.status_code == 304 and again.content == b""
            assert again.headers["etag"] == tag
            assert statements and not any(
                name in s for s in statements for name in ("area_total", "area_change", "resident_")
            ), statements
            # Asked again in full, the same answer is kept under its tag: the position is read,
            # the aggregates are not.
            statements.clear()
            sa_event.listen(sync_engine, "before_cursor_execute", seen)
            try:
                repeated = await http.get("/v1/coverage", params=params)
            finally:
                sa_event.remove(sync_engine, "before_cursor_execute", seen)
            assert repeated.status_code == 200 and repeated.json() == first.json()
            assert repeated.headers["etag"] == tag
            assert repeated.headers["content-type"] == first.headers["content-type"]
            assert statements and not any("area_total" in s for s in statements), statements
            # Another answer (CSV, another day, another area) has another tag.
            csv_answer = await http.get("/v1/coverage", params={**params, "format": "csv"})
            other_day = await http.get("/v1/coverage", params={**params, "as_of": "2026-11-27"})
            assert len({tag, csv_answer.headers["etag"], other_day.headers["etag"]}) == 3
            # A recording changes the counts, so the tag: the old one gets the whole answer.
            newcomer = resident(LEMPUING_VILLAGE, date(1970, 1, 1), serial=77)
            await apply(
                engine,
                [
                    inbound(newcomer, at=wib(2)),
                    inbound(
                        RecordingCapturedV1(
                            recording_id="etag-1", nik=newcomer.nik, captured_at=wib(20)
                        ),
                        at=wib(20),
                    ),
                ],
            )
            changed = await http.get("/v1/coverage", params=params, headers={"If-None-Match": tag})
            assert changed.status_code == 200
            assert changed.headers["etag"] != tag
            assert changed.json()["area"]["recorded"] == first.json()["area"]["recorded"] + 1
            unchanged = await http.get(
                "/v1/coverage", params=params, headers={"If-None-Match": changed.headers["etag"]}
            )
            assert unchanged.status_code == 304
    finally:
        await engine.dispose()
