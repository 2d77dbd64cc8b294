"""`make demo` on a small register: the four services as real processes on SQLite (as `make up`
runs them) and the local Kafka, the drive played over HTTP only, then checked over HTTP: the
register's recorded residents and the field sessions bring coverage above 80%, SUKETs were
issued while the blanks were out, the ministry's allocation was received and served the
waiting residents, cards were printed and handed over; and the same seed tells the same story.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jemput.residents.demo.drive import DriveReport, Endpoints, play
from jemput.residents.demo.story import (
    DUPLICATE_RESULT,
    PRINT_READY_RESULT,
    DrivePlan,
    StoryOptions,
    plan_drive,
)
from jemput.shared.testing.browser import chromium, needs_chromium
from jemput.shared.testing.fleet import SERVICES, Fleet

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

REGENCY = "16.02"
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts"
RESIDENTS = 1500
SEED = 7


@pytest.fixture
async def fleet(tmp_path: Path, kafka_bootstrap: str, kafka_namespace: str) -> AsyncIterator[Fleet]:
    databases = {s: f"sqlite+aiosqlite:///{tmp_path / (s + '.db')}" for s in SERVICES}
    settings = {"residents": {"import_folder": str(tmp_path / "imports")}}
    async with Fleet(
        tmp_path / "logs", kafka_bootstrap, kafka_namespace, databases, settings=settings
    ) as running:
        yield running


def test_the_same_seed_plans_the_same_story(tmp_path: Path) -> None:
    options = StoryOptions(seed=SEED, residents=RESIDENTS)
    first, _ = plan_drive(options, tmp_path / "a.csv")
    again, _ = plan_drive(options, tmp_path / "b.csv")
    other, _ = plan_drive(StoryOptions(seed=SEED + 1, residents=RESIDENTS), tmp_path / "c.csv")
    assert first == again and first.fingerprint() == again.fingerprint()
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert other.fingerprint() != first.fingerprint()
    # The 2017 shape: about 80% recorded before the drive, fewer blanks than the queue, and
    # sessions of every kind.
    assert 0.75 <= first.register_recorded / first.eligible <= 0.85
    assert first.opening_stock < first.register_queue
    assert all(first.sessions_of(kind) for kind in ("village_drive", "home_visit"))
    assert first.field_results(DUPLICATE_RESULT)


@needs_chromium
async def test_make_demo_plays_the_drive_over_http(fleet: Fleet, tmp_path: Path) -> None:
    register = tmp_path / "register.csv"
    plan, _ = plan_drive(StoryOptions(seed=SEED, residents=RESIDENTS), register)

    def tokens(client: str, scopes: Sequence[str]) -> str:
        return fleet.issuer.local.token(client, scopes, lifetime=timedelta(hours=1))

    endpoints = Endpoints(*(fleet.url(service) for service in SERVICES))
    report = await play(plan, register, endpoints, tokens, wait_seconds=60)
    print(f"\n{report}")

    async with httpx.AsyncClient(timeout=30) as client:
        await check_story(client, fleet, plan, report)
        await check_dashboard(client, fleet)
    for service in SERVICES:
        assert "Traceback" not in fleet.logs(service, 10**7), f"{service} logged a traceback"


def number(n: int) -> str:
    """As the dashboard writes it (id-ID): 12345 → 12.345."""
    return f"{n:,}".replace(",", ".")


async def check_dashboard(client: httpx.AsyncClient, fleet: Fleet) -> None:
    """The dashboard after the demo shows the story's figures; its screenshot is kept."""
    url = fleet.url("analytics")
    token = fleet.issuer.local.token(
        "kepala-dinas", ["analytics:read"], lifetime=timedelta(hours=1)
    )
    bearer = {"Authorization": f"Bearer {token}"}
    coverage = await client.get(f"{url}/v1/coverage", params={"area": REGENCY}, headers=bearer)
    stock = await client.get(f"{url}/v1/stock", params={"area": REGENCY}, headers=bearer)
    area, open_requests = coverage.json()["area"], stock.json()["requests_open"]
    assert len(open_requests) == 1  # the allocation answered 60% of the request
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / "demo-dashboard.png"
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1366, "height": 900}, locale="id-ID")
        await page.goto(f"{url}/#token={token}")
        await page.wait_for_selector("body[data-loaded='true']", timeout=30_000)
        shown = await page.get_by_test_id("regency-coverage").get_attribute("data-value")
        assert shown == str(area["coverage"])
        for test_id, key in (
            ("pipeline-issued", "issued"),
            ("pipeline-suket", "suket_outstanding"),
            ("pipeline-duplicates", "duplicates"),
        ):
            assert await page.get_by_test_id(test_id).inner_text() == number(area[key]), test_id
        requests = page.locator("#stock-requests li[data-request]")
        assert await requests.count() == 1
        assert await page.locator("#history-chart circle.point").count() >= 1
        await page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
    assert screenshot.stat().st_size > 10_000


async def check_story(
    client: httpx.AsyncClient, fleet: Fleet, plan: DrivePlan, report: DriveReport
) -> None:
    async def get(service: str, scopes: str, path: str, **params: Any) -> Any:
        response = await client.get(
            fleet.url(service) + path, params=params, headers=fleet.headers(scopes)
        )
        assert response.status_code == 200, response.text
        return response.json()

    # The register and the field: every planned recording reached analytics' coverage.
    coverage = (await get("analytics", "analytics:read", "/v1/coverage", area=REGENCY))["area"]
    assert coverage["residents"] == plan.residents == report.residents
    assert report.recordings_accepted == plan.field_recordings
    assert report.sessions == {
        kind: plan.sessions_of(kind) for kind in ("village_drive", "school_drive", "home_visit")
    }
    assert 0.75 <= report.coverage_before <= 0.85, report
    assert coverage["coverage"] == report.coverage_after >= 0.85, coverage
    assert coverage["recorded"] == report.recorded_after > report.recorded_before

    # Blanks ran out: the register's queue beyond the opening stock and every field recording
    # got a SUKET.
    beyond_stock = plan.register_queue - plan.opening_stock
    assert report.sukets_after_import == beyond_stock > 0
    assert report.sukets_peak == beyond_stock + plan.field_recordings
    assert report.duplicates == len(plan.field_results(DUPLICATE_RESULT)) > 0
    assert report.cleared == len(plan.register_to_clear) + len(
        plan.field_results(PRINT_READY_RESULT)
    )
    assert coverage["duplicates"] == report.duplicates

    # The request to the ministry and its allocation, followed to receipt.
    requests = (await get("inventory", "inventory:read", "/v1/requests"))["items"]
    assert [(r["quantity"], r["received"]) for r in requests] == [
        (report.requested, report.allocation)
    ]
    assert report.requested == report.sukets_peak - report.duplicates
    assert 0 < report.waiting_served <= report.allocation < report.requested

    # Cards printed and handed over (or waiting at the office for their holders); the SUKETs
    # of those still waiting for a blank remain.
    async def every(path: str, **params: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params["page_size"] = 500
        while True:
            page = await get("inventory", "inventory:read", path, **params)
            found += page["items"]
            if not page["next_page_token"]:
                return found
            params["page_token"] = page["next_page_token"]

    issued = await every("/v1/print-jobs", state="issued")
    printed = await every("/v1/print-jobs", state="printed")
    assert len(issued) == report.issued > 0
    assert len(printed) == report.printed - report.issued > 0
    assert all(plan.handed_over(j["nik"]) for j in issued)
    assert not any(plan.handed_over(j["nik"]) for j in printed)
    assert report.printed <= plan.opening_stock + report.allocation
    assert coverage["issued"] == report.issued_before + report.issued
    # A SUKET is held until the card is handed over: by those still without a blank, and by
    # those the allocation served whose cards are not in their hands yet.
    sukets = await every("/v1/sukets")
    assert len(sukets) == coverage["suket_outstanding"] == report.sukets_after
    assert 0 < report.sukets_after < report.sukets_peak
    waiting = await every("/v1/print-jobs", state="waiting_for_blank")
    assert waiting and all(j["suket_number"] for j in waiting)
    assert {j["nik"] for j in waiting} <= {s["nik"] for s in sukets}
    assert not {j["nik"] for j in issued} & {s["nik"] for s in sukets}
