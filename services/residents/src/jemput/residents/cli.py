"""`jemput residents ...` commands."""

from __future__ import annotations

from pathlib import Path

from jemput.residents.bootstrap import bootstrap
from jemput.residents.settings import ResidentsSettings
from jemput.shared.cli import service_cli

app = service_cli(
    name="residents",
    settings_factory=ResidentsSettings,
    runtime_factory=bootstrap,
    app_factory="jemput.residents.entrypoints.http.app:create_app",
    migrations_dir=Path(__file__).parent / "migrations",
)
