"""The dashboard in headless Chromium against the analytics service running as a real uvicorn
process, fed through real Kafka: it loads, shows the regency's coverage exactly as the API
gives it, opens a district's villages, and leaves screenshots (laptop and phone) as test
artifacts under var/test-artifacts/."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from jemput.analytics.testing import publish, scenario
from jemput.shared.db.migrations import upgrade_to_head
from jemput.shared.testing.auth import TEST_ISSUER, shared_issuer
from jemput.shared.testing.browser import chromium, needs_chromium
from jemput.shared.testing.fixtures import migrations_dir
from jemput.shared.timezone import today_in_office

ARTIFACTS = Path(__file__).resolve().parents[3] / "var" / "test-artifacts"

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.slow,
    needs_chromium,
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def number(n: int) -> str:
    """As the page writes it (id-ID): 12345 → 12.345."""
    return f"{n:,}".replace(",", ".")


def percent(share: float) -> str:
    """As the page writes it (id-ID): 0.8237 → 82,4%."""
    return f"{share * 100:.1f}".replace(".", ",") + "%"


async def applied(client: httpx.AsyncClient) -> int:
    metrics = (await client.get("/metrics")).text
    return sum(
        int(float(value))
        for value in re.findall(r"^jemput_events_applied_total\{[^}]*\} (\S+)$", metrics, re.M)
    )


async def expect_panels(
    page: Any,
    coverage: dict[str, Any],
    history: dict[str, Any],
    at_risk: dict[str, Any],
    stock: dict[str, Any],
) -> None:
    """The overview panels show the API's figures."""
    total = coverage["area"]
    for test_id, key in (
        ("pipeline-recorded", "recorded"),
        ("pipeline-print-ready", "print_ready"),
        ("pipeline-printed", "printed"),
        ("pipeline-issued", "issued"),
        ("pipeline-duplicates", "duplicates"),
        ("pipeline-suket", "suket_outstanding"),
    ):
        assert await page.get_by_test_id(test_id).inner_text() == number(total[key]), test_id
    rows = page.locator("#pipeline-districts tbody tr")
    assert await rows.count() == len(coverage["children"])
    first = coverage["children"][0]
    cells = await rows.first.locator("td").all_inner_texts()
    assert cells[1:] == [
        number(first[k])
        for k in ("recorded", "print_ready", "printed", "issued", "duplicates", "suket_outstanding")
    ]

    points = page.locator("#history-chart circle.point")
    assert await points.count() == len(history["months"])
    last = history["months"][-1]
    assert await points.last.get_attribute("data-month") == last["month"]
    assert await points.last.get_attribute("data-value") == str(last["coverage"])
    assert await page.locator("#history-table tbody tr").count() == len(history["months"])

    for test_id, key in (("risk-districts", "children"), ("risk-villages", "grandchildren")):
        codes = await page.locator(f"#{test_id} li[data-code]").evaluate_all(
            "items => items.map(i => i.dataset.code)"
        )
        # The ten lacking the most, and how many more.
        assert codes == [a["code"] for a in at_risk[key][:10]], test_id
        rest = len(at_risk[key]) - 10
        if rest > 0:
            assert await page.locator(f"#{test_id} li").last.inner_text() == f"dan {rest} lainnya"

    assert await page.get_by_test_id("stock-reserved").inner_text() == number(
        stock["total"]["reserved"]
    )
    assert await page.get_by_test_id("stock-suggested").inner_text() == number(
        stock["suggested_request"]
    )
    assert await page.get_by_test_id("stock-reorder").inner_text() == (
        "Ya" if stock["reorder_now"] else "Belum"
    )
    requests = await page.locator("#stock-requests li[data-request]").evaluate_all(
        "items => items.map(i => i.dataset.request)"
    )
    assert requests == [r["request_id"] for r in stock["requests_open"]]


@dataclass
class Server:
    url: str
    log: Path


@pytest.fixture
def server(
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_namespace: str,
    spawned: list[subprocess.Popen[bytes]],
) -> Server:
    """`jemput analytics serve` as its own process, trusting the tests' token issuer."""
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'analytics.db'}"
    upgrade_to_head(migrations_dir("analytics"), database_url)
    port = free_port()
    env = dict(os.environ) | {
        "JEMPUT_ANALYTICS_DATABASE_URL": database_url,
        "JEMPUT_ANALYTICS_KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        "JEMPUT_ANALYTICS_KAFKA_NAMESPACE": kafka_namespace,
        "JEMPUT_ANALYTICS_RELAY_ENABLED": "false",
        "JEMPUT_ANALYTICS_AUTH_PUBLIC_KEY_FILE": str(shared_issuer().public_key_file),
        "JEMPUT_ANALYTICS_AUTH_ISSUER": TEST_ISSUER,
    }
    log = tmp_path / "analytics.log"
    command = [sys.executable, "-m", "jemput.shared.cli", "analytics", "serve", "--port", str(port)]
    with log.open("wb") as output:
        spawned.append(subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT))
    return Server(f"http://127.0.0.1:{port}", log)


async def test_dashboard_shows_the_api_figures_and_opens_villages(
    server: Server, kafka_bootstrap: str, kafka_namespace: str
) -> None:
    url = server.url
    issuer = shared_issuer()
    events = scenario(today_in_office())
    await publish(kafka_bootstrap, kafka_namespace, events)
    token = issuer.token("analytics:read", client_id="kepala-dinas")

    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        for _ in range(600):
            try:
                if await applied(client) >= len(events):
                    break
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
        assert await applied(client) == len(events), server.log.read_text()
        bearer = {"Authorization": f"Bearer {token}"}
        progress = (
            await client.get("/v1/progress", params={"area": "16.02"}, headers=bearer)
        ).json()
        coverage = (
            await client.get("/v1/coverage", params={"area": "16.02"}, headers=bearer)
        ).json()
        as_of = {"area": "16.02", "as_of": progress["as_of"]}
        history = (await client.get("/v1/coverage/history", params=as_of, headers=bearer)).json()
        at_risk = (await client.get("/v1/at-risk", params=as_of, headers=bearer)).json()
        stock = (await client.get("/v1/stock", params={"area": "16.02"}, headers=bearer)).json()
        monday = date.fromisoformat(progress["as_of"])
        monday -= timedelta(days=monday.weekday())
        week = {"area": "16.02", "from": monday.isoformat()}
        outreach = (
            await client.get(
                "/v1/outreach/productivity",
                params=week | {"to": (monday + timedelta(days=6)).isoformat()},
                headers=bearer,
            )
        ).json()
    regency = progress["area"]
    assert regency["coverage"] == coverage["area"]["coverage"]
    # The scenario makes each panel show something: months, a pipeline, an open request.
    assert len(history["months"]) >= 2 and coverage["area"]["printed"] > 0
    assert stock["requests_open"]
    first_district = next(c for c in progress["children"] if c["eligible"] > 0)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1366, "height": 900}, locale="id-ID")
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        # The token travels in the fragment, which never reaches the server or its logs.
        await page.goto(f"{url}/#token={token}")
        await page.wait_for_selector("body[data-loaded='true']", timeout=20_000)
        assert "#token" not in page.url

        shown = page.get_by_test_id("regency-coverage")
        assert await shown.get_attribute("data-value") == str(regency["coverage"])
        assert await shown.inner_text() == percent(regency["coverage"])
        eligible = await page.get_by_test_id("regency-eligible").inner_text()
        assert eligible == f"{regency['eligible']:,}".replace(",", ".")
        home_visits = await page.get_by_test_id("outreach-home-met").inner_text()
        assert home_visits == (
            f"{outreach['home_visit_deadlines_met']} dari {outreach['home_visits_due']}"
        )

        districts = page.locator("#districts tbody tr.district")
        assert await districts.count() == len(progress["children"])
        row = page.locator(f"#districts tr.district[data-code='{first_district['code']}']")
        await row.locator("button.toggle").click()
        villages = page.locator("#districts tbody tr.village")
        await villages.first.wait_for(timeout=10_000)
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            of_district = (
                await client.get(
                    "/v1/progress", params={"area": first_district["code"]}, headers=bearer
                )
            ).json()
        await page.wait_for_function(
            "n => document.querySelectorAll('#districts tr.village[data-code]').length === n",
            arg=len(of_district["children"]),
        )
        codes = await villages.evaluate_all("rows => rows.map(r => r.dataset.code)")
        assert set(codes) == {v["code"] for v in of_district["children"]}
        assert await page.locator("#chart svg rect").count() == 60
        await expect_panels(page, coverage, history, at_risk, stock)

        # Sorting by coverage puts the lowest last when descending.
        await page.locator("th[data-key='coverage'] button").click()
        assert await page.locator("th[data-key='coverage']").get_attribute("aria-sort") == (
            "descending"
        )
        laptop = ARTIFACTS / "analytics-dashboard-laptop.png"
        await page.screenshot(path=str(laptop), full_page=True)

        phone = await browser.new_page(
            viewport={"width": 390, "height": 844}, device_scale_factor=2, locale="id-ID"
        )
        await phone.goto(f"{url}/#token={token}")
        await phone.wait_for_selector("body[data-loaded='true']", timeout=20_000)
        width = await phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, "the page scrolls sideways on a phone"
        await expect_panels(phone, coverage, history, at_risk, stock)
        # The charts' labels as tall on the screen as the page's small print, not shrunk
        # with a drawing made for a laptop.
        smallest = await phone.evaluate(
            "Math.min(...[...document.querySelectorAll('.chart svg text')]"
            ".map(t => t.getBoundingClientRect().height))"
        )
        assert smallest >= 10, f"chart labels {smallest}px tall on a phone"
        mobile = ARTIFACTS / "analytics-dashboard-phone.png"
        await phone.screenshot(path=str(mobile), full_page=True)
        assert not errors, errors
    print(f"screenshots: {laptop} {mobile}")
    assert laptop.stat().st_size > 10_000 and mobile.stat().st_size > 10_000
