"""`jemput inventory ...` commands."""

from __future__ import annotations

from pathlib import Path

from jemput.inventory.bootstrap import bootstrap
from jemput.inventory.settings import InventorySettings
from jemput.shared.audit.cli import audit_cli
from jemput.shared.cli import service_cli

app = service_cli(
    name="inventory",
    settings_factory=InventorySettings,
    runtime_factory=bootstrap,
    app_factory="jemput.inventory.entrypoints.http.app:create_app",
    migrations_dir=Path(__file__).parent / "migrations",
)
app.add_typer(audit_cli(InventorySettings), name="audit")
