"""`jemput analytics ...` commands (messages in Bahasa Indonesia: office staff read them)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from jemput.analytics.bootstrap import bootstrap
from jemput.analytics.service_layer.rebuild import RebuildResult, rebuild
from jemput.analytics.settings import AnalyticsSettings
from jemput.shared.cli import service_cli
from jemput.shared.db import create_engine
from jemput.shared.logging import configure_logging

app = service_cli(
    name="analytics",
    settings_factory=AnalyticsSettings,
    runtime_factory=bootstrap,
    app_factory="jemput.analytics.entrypoints.http.app:create_app",
    migrations_dir=Path(__file__).parent / "migrations",
)


@app.command("rebuild")
def rebuild_command(
    batch_size: int = typer.Option(2000, min=1, max=50_000, help="Peristiwa per transaksi."),
    keep_old: bool = typer.Option(
        False, "--keep-old", help="Simpan tabel generasi lama (tidak dihapus setelah beralih)."
    ),
    grace_seconds: float = typer.Option(
        5.0, min=0, help="Tunggu sebelum menghapus tabel lama (permintaan yang masih membaca)."
    ),
) -> None:
    """Bangun ulang model baca dari awal topik (offset 0), lalu beralih saat sudah menyusul.

    Tabel lama tetap melayani selama pembangunan; layanan tidak perlu dihentikan.
    """
    settings = AnalyticsSettings()
    configure_logging(level="WARNING", json=settings.log_json)
    err = Console(stderr=True)
    err.print("Membangun ulang model baca analitik dari awal topik...", highlight=False)
    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
    ) as bar:
        task = bar.add_task("Peristiwa", total=None)

        def advance(read: int, total: int) -> None:
            bar.update(task, completed=read, total=max(total, read))

        result = asyncio.run(_rebuild(settings, batch_size, keep_old, grace_seconds, advance))
    typer.echo(summary(result, keep_old))


async def _rebuild(
    settings: AnalyticsSettings,
    batch_size: int,
    keep_old: bool,
    grace_seconds: float,
    progress: Callable[[int, int], None],
) -> RebuildResult:
    engine = create_engine(settings.database_url)
    try:
        return await rebuild(
            engine,
            settings,
            batch_size=batch_size,
            keep_old=keep_old,
            grace_seconds=grace_seconds,
            progress=progress,
        )
    finally:
        await engine.dispose()


def summary(result: RebuildResult, keep_old: bool) -> str:
    rate = f"{result.events_per_second:,.0f}".replace(",", ".")
    lines = [
        f"Selesai: {_number(result.records_read)} peristiwa dibaca, "
        f"{_number(result.events_applied)} diterapkan, dalam "
        f"{result.seconds:.1f}".replace(".", ",")
        + f" detik ({rate} peristiwa/detik).",
        f"Generasi {result.generation} sekarang melayani.",
    ]
    if result.replaced is not None:
        lines.append(
            f"Generasi {result.replaced} "
            + ("disimpan (--keep-old)." if keep_old else "sudah dihapus.")
        )
    if result.unreadable:
        lines.append(f"{_number(result.unreadable)} peristiwa tidak terbaca dilewati.")
    return "\n".join(lines)


def _number(value: int) -> str:
    return f"{value:,}".replace(",", ".")
