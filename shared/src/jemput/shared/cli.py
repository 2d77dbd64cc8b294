"""The `jemput` command: each service adds its commands through the `jemput.cli` entry points.

Messages are in Bahasa Indonesia: office staff read them.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable
from importlib.metadata import entry_points
from pathlib import Path

import typer
import uvicorn

from jemput.shared.db.migrations import upgrade_to_head
from jemput.shared.logging import configure_logging
from jemput.shared.messaging.replay import ReplayReport, replay_dead_letters
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.settings import ServiceSettings


def main() -> None:
    app = typer.Typer(help="Jemput: perekaman e-KTP jemput bola.", no_args_is_help=True)
    for entry in sorted(entry_points(group="jemput.cli"), key=lambda e: e.name):
        app.add_typer(entry.load(), name=entry.name)
    app()


def service_cli(
    *,
    name: str,
    settings_factory: Callable[[], ServiceSettings],
    runtime_factory: Callable[[ServiceSettings], ServiceRuntime],
    app_factory: str,
    migrations_dir: Path,
) -> typer.Typer:
    """The commands every service has: serve, migrate, relay, consume, replay-dead-letters."""
    cli = typer.Typer(help=f"Layanan {name}.", no_args_is_help=True)

    @cli.command()
    def migrate() -> None:
        """Perbarui skema basis data layanan ke revisi terbaru."""
        settings = settings_factory()
        configure_logging(level=settings.log_level, json=settings.log_json)
        upgrade_to_head(migrations_dir, settings.database_url)
        typer.echo(f"Basis data {name} sudah pada revisi terbaru.")

    @cli.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Alamat yang didengarkan."),
        port: int = typer.Option(0, help="Port HTTP (0: port bawaan layanan)."),
    ) -> None:
        """Jalankan API HTTP (beserta relay outbox dan konsumen, sesuai pengaturan)."""
        settings = settings_factory()
        configure_logging(level=settings.log_level, json=settings.log_json)
        uvicorn.run(
            app_factory,
            factory=True,
            host=host,
            port=port or settings.http_port,
            log_config=None,
            access_log=False,
        )

    @cli.command()
    def relay() -> None:
        """Jalankan relay outbox saja (tanpa HTTP)."""
        settings = settings_factory()
        configure_logging(level=settings.log_level, json=settings.log_json)
        runtime = runtime_factory(settings)
        runtime.relay_enabled, runtime.consumer_enabled = True, False
        asyncio.run(_run_until_signal(runtime))

    @cli.command()
    def consume() -> None:
        """Jalankan konsumen event saja (tanpa HTTP)."""
        settings = settings_factory()
        configure_logging(level=settings.log_level, json=settings.log_json)
        runtime = runtime_factory(settings)
        runtime.relay_enabled, runtime.consumer_enabled = False, True
        asyncio.run(_run_until_signal(runtime))

    @cli.command("replay-dead-letters")
    def replay_dead_letters_command() -> None:
        """Terapkan ulang event di topik dead-letter layanan ini (setelah penyebabnya
        diperbaiki). Event yang sudah diterapkan dilewati; yang gagal lagi kembali ke topik
        dead-letter."""
        settings = settings_factory()
        configure_logging(level=settings.log_level, json=settings.log_json)
        runtime = runtime_factory(settings)

        async def run() -> ReplayReport:
            try:
                return await replay_dead_letters(runtime)
            finally:
                await runtime.engine.dispose()

        report = asyncio.run(run())
        typer.echo(
            f"Dead letter {name}: {report.read} dibaca dan diterapkan ulang, "
            f"{report.dead_again} gagal lagi (kembali ke {settings.dead_letter_topic})."
        )
        if report.dead_again:
            raise typer.Exit(1)

    return cli


async def _run_until_signal(runtime: ServiceRuntime) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await runtime.start()
    try:
        await stop.wait()
    finally:
        await runtime.stop()


if __name__ == "__main__":
    main()
