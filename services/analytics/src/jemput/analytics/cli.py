"""`jemput analytics ...` commands."""

from __future__ import annotations

from pathlib import Path

from jemput.analytics.bootstrap import bootstrap
from jemput.analytics.settings import AnalyticsSettings
from jemput.shared.cli import service_cli

app = service_cli(
    name="analytics",
    settings_factory=AnalyticsSettings,
    runtime_factory=bootstrap,
    app_factory="jemput.analytics.entrypoints.http.app:create_app",
    migrations_dir=Path(__file__).parent / "migrations",
)
