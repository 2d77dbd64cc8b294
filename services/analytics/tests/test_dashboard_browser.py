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

import httpx
import pytest

from jemput.analytics.testing import publish, scenario
from jemput.shared.db.migrations import upgrade_to_head
from jemput.shared.testing.auth import TEST_ISSUER, shared_issuer
from jemput.shared.testing.fixtures import migrations_dir
from jemput.shared.timezone import today_in_office

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[3] / "var" / "test-artifacts"

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.slow,
    # `make test` installs it (deploy/browser/chromium.sh); in CI a missing browser fails.
    pytest.mark.skipif(
        not CHROMIUM.exists() and not os.environ.get("CI"),
        reason="/usr/bin/chromium is missing (deploy/browser/chromium.sh ensure)",
    ),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def percent(share: float) -> str:
    """As the page writes it (id-ID): 0.8237 → 82,4%."""
    return f"{share * 100:.1f}".replace(".", ",") + "%"


async def applied(client: httpx.AsyncClient) -> int:
    metrics = (await client.get("/metrics")).text
    return sum(
        int(float(value))
        for value in re.findall(r"^jemput_events_applied_total\{[^}]*\} (\S+)$", metrics, re.M)
    )


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
    from playwright.async_api import async_playwright

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
    first_district = next(c for c in progress["children"] if c["eligible"] > 0)

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            # No calls home: this machine's network is closed, and each refused one costs time.
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        try:
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
            mobile = ARTIFACTS / "analytics-dashboard-phone.png"
            await phone.screenshot(path=str(mobile), full_page=True)
            assert not errors, errors
        finally:
            await browser.close()
    print(f"screenshots: {laptop} {mobile}")
    assert laptop.stat().st_size > 10_000 and mobile.stat().st_size > 10_000
