"""What the deployment tests share: the validators from the dev dependencies, the services'
settings classes, and the Kafka topics the services' code reads and writes."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from jemput.analytics.bootstrap import bootstrap as analytics_bootstrap
from jemput.analytics.settings import AnalyticsSettings
from jemput.inventory.bootstrap import bootstrap as inventory_bootstrap
from jemput.inventory.settings import InventorySettings
from jemput.outreach.bootstrap import bootstrap as outreach_bootstrap
from jemput.outreach.settings import OutreachSettings
from jemput.residents.bootstrap import bootstrap as residents_bootstrap
from jemput.residents.settings import ResidentsSettings
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.settings import ServiceSettings

SETTINGS: dict[str, type[ServiceSettings]] = {
    "residents": ResidentsSettings,
    "outreach": OutreachSettings,
    "inventory": InventorySettings,
    "analytics": AnalyticsSettings,
}
BOOTSTRAPS: dict[str, Callable[[ServiceSettings], ServiceRuntime]] = {
    "residents": residents_bootstrap,
    "outreach": outreach_bootstrap,
    "inventory": inventory_bootstrap,
    "analytics": analytics_bootstrap,
}


@pytest.fixture(scope="session")
def settings_classes() -> dict[str, type[ServiceSettings]]:
    return SETTINGS


@pytest.fixture(scope="session")
def run_tool() -> Callable[..., tuple[int, str]]:
    """Runs a command-line tool of this environment (the dev dependencies: check-jsonschema,
    kubectl, kubernetes-validate; and `jemput`), never one found elsewhere on PATH, whose
    version could differ. Returns the exit code and stdout + stderr."""
    folder = Path(sys.executable).parent

    def run(name: str, *args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str]:
        tool = folder / name
        if not tool.exists():
            pytest.fail(f"{tool} is missing: run `make setup` (it is a dev dependency)")
        done = subprocess.run(
            [str(tool), *map(str, args)], capture_output=True, text=True, timeout=300, env=env
        )
        return done.returncode, done.stdout + done.stderr

    return run


@pytest.fixture(scope="session")
def jemput_cli() -> Callable[[Sequence[str]], tuple[int, str]]:
    """Runs `jemput ARGS...` in this process, built as the `jemput` executable builds itself
    (from the `jemput.cli` entry points): returns the exit code and the output. Much faster than
    a process per command, which imports every service each time."""
    app = typer.Typer()
    for entry in entry_points(group="jemput.cli"):
        app.add_typer(entry.load(), name=entry.name)
    runner = CliRunner()

    def run(args: Sequence[str]) -> tuple[int, str]:
        if args[0] != "jemput":
            raise ValueError(f"not a jemput command: {args}")
        result = runner.invoke(app, list(args[1:]))
        return result.exit_code, result.output

    return run


@pytest.fixture(scope="session")
async def service_topics() -> dict[str, dict[str, frozenset[str]]]:
    """Per service, the topics it `publishes` to, `consumes` and sends `dead_letters` to, from
    the code itself (settings and handler maps), with the default (empty) topic namespace."""
    found = {}
    for service, settings_class in SETTINGS.items():
        settings = settings_class()
        runtime = BOOTSTRAPS[service](settings)
        try:
            found[service] = {
                "publishes": frozenset({settings.topic(settings.service_name)}),
                "consumes": frozenset(runtime.consumed_topics()),
                "dead_letters": frozenset({settings.dead_letter_topic}),
            }
        finally:
            await runtime.engine.dispose()  # never connected: nothing is left open
    return found
