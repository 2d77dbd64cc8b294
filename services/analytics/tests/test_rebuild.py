"""`rebuild` on real Kafka: the topics replayed from offset 0 into a new generation give the
numbers the service had, the old tables serve meanwhile, and the service's consumer goes on
into the new generation after the switch."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect

from jemput.analytics.entrypoints.http.app import create_app
from jemput.analytics.service_layer.rebuild import rebuild
from jemput.analytics.settings import AnalyticsSettings
from jemput.analytics.testing import publish, resident, scenario
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.fixtures import migrate
from jemput.shared.timezone import today_in_office

pytestmark = pytest.mark.kafka


async def caught_up(runtime: ServiceRuntime, seconds: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if runtime.consumer is not None and await runtime.consumer.caught_up():
            return
        await asyncio.sleep(0.1)
    raise AssertionError("the analytics consumer did not catch up")


async def numbers(http: httpx.AsyncClient, today: date) -> dict[str, Any]:
    """What every read API says."""
    week_ago = (today - timedelta(days=45)).isoformat()
    got: dict[str, Any] = {}
    for path, params in [
        ("/v1/coverage", {"area": "16.02"}),
        ("/v1/coverage", {"area": "16.02.03"}),
        ("/v1/coverage", {"area": "16.02", "as_of": week_ago}),
        ("/v1/progress", {"area": "16.02"}),
        ("/v1/progress", {"area": "16.02.02"}),
        ("/v1/stock", {}),
        ("/v1/outreach/productivity", {"from": week_ago, "to": today.isoformat()}),
        ("/v1/data-quality", {}),
    ]:
        response = await http.get(path, params=params)
        assert response.status_code == 200, response.text
        got[f"{path} {params}"] = response.json()
    return got


async def test_rebuild_from_offset_zero_gives_the_same_numbers(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> None:
    await migrate("analytics", database_url)
    today = today_in_office()
    events = scenario(today)
    await publish(kafka_bootstrap, kafka_namespace, events)
    settings = AnalyticsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        relay_enabled=False,
    )
    async with app_client(create_app, settings) as (http, app):
        runtime: ServiceRuntime = app.state.runtime
        await caught_up(runtime)
        before = await numbers(http, today)
        assert before["/v1/coverage {'area': '16.02'}"]["area"]["recorded"] > 0
        (outreach,) = (v for k, v in before.items() if k.startswith("/v1/outreach/"))
        assert outreach["home_visit_deadlines_met"] > 0 and outreach["home_visits_closed_late"] > 0

        rebuilding = asyncio.create_task(
            rebuild(runtime.engine, settings, batch_size=50, grace_seconds=0.2)
        )
        served_meanwhile = []
        while not rebuilding.done():
            response = await http.get("/v1/coverage", params={"area": "16.02"})
            served_meanwhile.append(
                response.json()["area"] if response.status_code == 200 else None
            )
            await asyncio.sleep(0.02)
        result = await rebuilding
        after = await numbers(http, today)

        # The service's consumer writes to the new generation from now on.
        newcomer = resident("16.02.02.2001", date(1970, 1, 1), serial=9001)
        await publish(kafka_bootstrap, kafka_namespace, [(newcomer, events[-1][1])])
        await caught_up(runtime)
        later = (await http.get("/v1/coverage", params={"area": "16.02"})).json()["area"]
        async with runtime.engine.connect() as conn:
            table_names = await conn.run_sync(lambda sync: inspect(sync).get_table_names())

    assert (result.generation, result.replaced) == (2, 1)
    assert result.records_read == len(events)
    assert result.events_applied == len(events) and result.unreadable == 0
    assert after == before
    # While it rebuilt, the old tables answered, with the old numbers.
    assert served_meanwhile and all(
        area == before["/v1/coverage {'area': '16.02'}"]["area"] for area in served_meanwhile
    )
    assert later["eligible"] == after["/v1/coverage {'area': '16.02'}"]["area"]["eligible"] + 1
    assert "resident_g2" in table_names and "resident_g1" not in table_names
