"""Fixtures of the outreach HTTP tests: the app on a real database (SQLite and PostgreSQL)
with a fixed clock (see `jemput.outreach.testing`)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from jemput.outreach.testing import Outreach, start_outreach


@pytest.fixture
async def outreach(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[Outreach]:
    async for driver in start_outreach(database_url, kafka_bootstrap, kafka_namespace):
        yield driver
