"""`jemput outreach ...` commands."""

from __future__ import annotations

from pathlib import Path

from jemput.outreach.bootstrap import bootstrap
from jemput.outreach.settings import OutreachSettings
from jemput.shared.audit.cli import audit_cli
from jemput.shared.cli import service_cli

app = service_cli(
    name="outreach",
    settings_factory=OutreachSettings,
    runtime_factory=bootstrap,
    app_factory="jemput.outreach.entrypoints.http.app:create_app",
    migrations_dir=Path(__file__).parent / "migrations",
)
app.add_typer(audit_cli(OutreachSettings), name="audit")
