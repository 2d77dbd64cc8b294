"""`jemput residents ...` commands. Messages in Bahasa Indonesia: office staff read them."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy import select

from jemput.residents.adapters.tables import ImportRowError
from jemput.residents.bootstrap import bootstrap
from jemput.residents.service_layer import importing, register_file
from jemput.residents.settings import ResidentsSettings
from jemput.shared.audit.cli import audit_cli
from jemput.shared.cli import service_cli
from jemput.shared.logging import configure_logging
from jemput.shared.timezone import today_in_office

app = service_cli(
    name="residents",
    settings_factory=ResidentsSettings,
    runtime_factory=bootstrap,
    app_factory="jemput.residents.entrypoints.http.app:create_app",
    migrations_dir=Path(__file__).parent / "migrations",
)
app.add_typer(audit_cli(ResidentsSettings), name="audit")


@app.command("import")
def import_register(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="Berkas CSV atau NDJSON."),
    file_format: str | None = typer.Option(
        None, "--format", help="csv atau ndjson (bawaan: dari nama berkas)."
    ),
    show_errors: int = typer.Option(20, help="Berapa baris bermasalah yang ditampilkan."),
    encoding: str | None = typer.Option(
        None, "--encoding", help="Enkode berkas, mis. windows-1252 (bawaan: dideteksi)."
    ),
) -> None:
    """Impor data penduduk (registrasi) dari berkas CSV/NDJSON, dengan laporan per baris."""
    settings = ResidentsSettings()
    configure_logging(level="WARNING", json=settings.log_json)
    try:
        chosen = register_file.detect_format(file, file_format)
    except register_file.RegisterFileError as exc:
        typer.echo(f"Format tidak dikenal: {exc}", err=True)
        raise typer.Exit(2) from exc
    code = asyncio.run(_import(settings, file, chosen, show_errors, encoding))
    raise typer.Exit(code)


async def _import(
    settings: ResidentsSettings,
    file: Path,
    file_format: str,
    show_errors: int,
    encoding: str | None,
) -> int:
    console = Console()
    runtime = bootstrap(settings)
    job_id = str(uuid.uuid4())
    total = register_file.count_rows(file, file_format)
    try:
        await importing.create_job(runtime.engine, job_id, file.name, file_format)
        with Progress(
            TextColumn("[bold]Impor penduduk"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("baris"),
            TimeRemainingColumn(),
            console=console,
        ) as progress:
            task = progress.add_task("impor", total=total)
            counts = await importing.run_import(
                runtime.engine,
                runtime.outbox,
                job_id=job_id,
                path=file,
                file_format=file_format,
                regency_code=settings.regency_code,
                today=today_in_office(),
                actor="cli",
                encoding=encoding,
                on_progress=lambda c: progress.update(task, completed=c.processed),
            )
        console.print(
            f"Selesai (pekerjaan {job_id}): {counts.created} baru, {counts.updated} berubah, "
            f"{counts.unchanged} tidak berubah, {counts.rejected} baris ditolak."
        )
        if counts.rejected and show_errors:
            table = ImportRowError.__table__  # type: ignore[attr-defined]
            async with runtime.engine.connect() as conn:
                rows = (
                    await conn.execute(
                        select(table.c.line, table.c.field, table.c.code, table.c.reason)
                        .where(table.c.job_id == job_id)
                        .order_by(table.c.line)
                        .limit(show_errors)
                    )
                ).all()
            for line, field, code, reason in rows:
                console.print(f"  baris {line}: {field} ({code}) {reason}")
        return 0
    except register_file.RegisterFileError as exc:
        console.print(f"[red]Berkas tidak bisa dibaca:[/red] {exc}")
        return 2
    finally:
        await runtime.engine.dispose()
