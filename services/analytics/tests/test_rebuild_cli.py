"""`jemput analytics rebuild` from the command line, in Bahasa Indonesia, on real Kafka."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jemput.analytics.cli import app
from jemput.analytics.service_layer.generations import active_generation
from jemput.analytics.testing import publish, scenario
from jemput.shared.db import create_engine
from jemput.shared.db.migrations import upgrade_to_head
from jemput.shared.testing.fixtures import migrations_dir

pytestmark = pytest.mark.kafka


def test_rebuild_command(
    tmp_path: Path, kafka_bootstrap: str, kafka_namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'analytics.db'}"
    upgrade_to_head(migrations_dir("analytics"), database_url)
    events = scenario(date(2026, 11, 28), villages_per_district=1)
    asyncio.run(publish(kafka_bootstrap, kafka_namespace, events))
    monkeypatch.setenv("JEMPUT_ANALYTICS_DATABASE_URL", database_url)
    monkeypatch.setenv("JEMPUT_ANALYTICS_KAFKA_BOOTSTRAP_SERVERS", kafka_bootstrap)
    monkeypatch.setenv("JEMPUT_ANALYTICS_KAFKA_NAMESPACE", kafka_namespace)

    result = CliRunner().invoke(app, ["rebuild", "--grace-seconds", "0"])

    assert result.exit_code == 0, result.output
    assert f"Selesai: {len(events)} peristiwa dibaca, {len(events)} diterapkan" in result.output
    assert "peristiwa/detik" in result.output
    assert "Generasi 2 sekarang melayani." in result.output
    assert "Generasi 1 sudah dihapus." in result.output

    async def serving() -> int:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as conn:
                return await active_generation(conn)
        finally:
            await engine.dispose()

    assert asyncio.run(serving()) == 2
