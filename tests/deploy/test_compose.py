"""docker-compose.yml, checked without Docker: against the compose specification, and against
the code it starts (the settings its environment sets, the commands it runs, the topics it
creates, the start order its conditions give)."""

from __future__ import annotations

import asyncio
import re
import shlex
import subprocess
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import pytest
import yaml

from jemput.shared.settings import Environment, ServiceSettings

RunTool = Callable[..., tuple[int, str]]
JemputCli = Callable[[Sequence[str]], tuple[int, str]]
ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("residents", "outreach", "inventory", "analytics")
COMPOSE_FILE = ROOT / "docker-compose.yml"
INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)(?::-(?P<default>[^}]*))?\}")


def interpolate(value: str) -> str:
    """What Compose makes of `${NAME:-default}` and `$$` with no variables set."""

    def default(match: re.Match[str]) -> str:
        if match["default"] is None:
            raise AssertionError(f"{match[0]} has no default: `docker compose up` would need it")
        return match["default"]

    return INTERPOLATION.sub(default, value).replace("$$", "$")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment must be a mapping"
    return {key: interpolate(str(value)) for key, value in env.items()}


def test_compose_file_follows_the_compose_specification(run_tool: RunTool) -> None:
    code, output = run_tool(
        "check-jsonschema", "--builtin-schema", "vendor.compose-spec", COMPOSE_FILE
    )
    assert code == 0, output


@pytest.mark.parametrize(
    ("mistake", "original", "broken", "reported"),
    [
        ("a misspelt key", "    healthcheck:", "    healthchek:", "healthchek"),
        (
            "an unknown depends_on condition",
            "condition: service_completed_successfully",
            "condition: service_finished",
            "depends_on",
        ),
        (
            "a command of the wrong type",
            '    command: ["jemput", "residents", "migrate"]',
            "    command: {jemput: residents}",
            "command",
        ),
    ],
)
def test_the_validation_fails_on_a_broken_compose_file(
    run_tool: RunTool, tmp_path: Path, mistake: str, original: str, broken: str, reported: str
) -> None:
    text = COMPOSE_FILE.read_text()
    assert original in text, f"the test's anchor for {mistake} is gone from the compose file"
    copy = tmp_path / "docker-compose.yml"
    copy.write_text(text.replace(original, broken, 1))
    code, output = run_tool("check-jsonschema", "--builtin-schema", "vendor.compose-spec", copy)
    assert code != 0, f"{mistake} passed validation:\n{output}"
    assert reported in output


def test_every_start_condition_can_be_met(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for target, rule in (service.get("depends_on") or {}).items():
            assert target in services, f"{name} depends on {target}, which does not exist"
            condition = rule["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[target], f"{name} waits for {target}'s health"
            elif condition == "service_completed_successfully":
                # A one-shot step that restarted would never count as completed.
                assert services[target].get("restart") == "no", f"{target} is not a one-shot"
            else:
                pytest.fail(f"{name} waits for {target} with condition {condition}")


def test_each_service_starts_after_its_migration_topics_and_credentials(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]
    for service in SERVICES:
        conditions = {
            target: rule["condition"] for target, rule in services[service]["depends_on"].items()
        }
        assert conditions == {
            "kafka": "service_healthy",
            "kafka-topics": "service_completed_successfully",
            "auth-init": "service_completed_successfully",
            f"{service}-migrate": "service_completed_successfully",
        }
        assert "healthcheck" in services[service]
        migrate = services[f"{service}-migrate"]
        assert migrate["command"] == ["jemput", service, "migrate"]
        assert migrate["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        # The service never migrates: its command is serve.
        assert services[service]["command"][:3] == ["jemput", service, "serve"]


def test_the_healthchecks_ask_each_service_on_its_own_port(
    compose: dict[str, Any], settings_classes: dict[str, type[ServiceSettings]]
) -> None:
    for service in SERVICES:
        port = settings_classes[service]().http_port
        definition = compose["services"][service]
        assert f"http://127.0.0.1:{port}/readyz" in " ".join(definition["healthcheck"]["test"])
        assert definition["ports"] == [f"127.0.0.1:{port}:{port}"]


@pytest.mark.parametrize("service", SERVICES)
def test_the_environment_names_real_settings_and_they_start(
    compose: dict[str, Any],
    settings_classes: dict[str, type[ServiceSettings]],
    monkeypatch: pytest.MonkeyPatch,
    service: str,
) -> None:
    """A misspelt variable would be ignored silently (the settings ignore unknown names)."""
    settings_class = settings_classes[service]
    prefix = f"JEMPUT_{service.upper()}_"
    fields = set(settings_class.model_fields)
    for name in ("", "-migrate"):
        env = environment(compose["services"][service + name])
        unknown = {key for key in env if key.removeprefix(prefix).lower() not in fields}
        assert not unknown, f"{service}{name}: not settings of {settings_class.__name__}"
        assert all(key.startswith(prefix) for key in env)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        settings = settings_class()  # validates, as the service does at start-up
        assert settings.environment is Environment.DEVELOPMENT
        assert settings.database_url.startswith("postgresql+asyncpg://")
        assert settings.database_url.endswith(f"@postgres:5432/jemput_{service}")
        assert settings.kafka_bootstrap_servers == "kafka:9092"


def test_every_database_role_has_its_password_on_both_sides(compose: dict[str, Any]) -> None:
    postgres = environment(compose["services"]["postgres"])
    for service in SERVICES:
        url = environment(compose["services"][service])[f"JEMPUT_{service.upper()}_DATABASE_URL"]
        password = postgres[f"JEMPUT_{service.upper()}_DB_PASSWORD"]
        assert f"//jemput_{service}:{password}@" in url
        assert password.startswith("dev-only-")  # obviously not a real secret


def test_the_topics_made_up_front_are_the_ones_the_services_use(
    compose: dict[str, Any], service_topics: dict[str, dict[str, frozenset[str]]]
) -> None:
    script = compose["services"]["kafka-topics"]["command"][0]
    created = set(re.findall(r"\bjemput\.[a-z]+\.(?:v1|dlq)\b", script))
    used = {
        topic for topics in service_topics.values() for kind in topics.values() for topic in kind
    }
    assert created == used
    assert "--partitions" in script
    assert compose["services"]["kafka"]["environment"]["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == (
        "false"
    )


def commands(compose: dict[str, Any]) -> list[tuple[str, list[str]]]:
    found = []
    for name, service in compose["services"].items():
        command = service.get("command")
        if isinstance(command, list) and command[0] == "jemput":
            found.append((name, command))
    return found


def test_the_commands_compose_runs_are_real_commands(
    compose: dict[str, Any], jemput_cli: JemputCli
) -> None:
    """Each `jemput ...` command, options included, is accepted by the CLI (`--help` stops
    before anything runs; an unknown command or option fails)."""
    ran = commands(compose)
    assert {name for name, _ in ran} >= {*SERVICES, *(f"{s}-migrate" for s in SERVICES)}
    for name, command in ran:
        code, output = jemput_cli([*command, "--help"])
        assert code == 0, f"{name}: {shlex.join(command)}\n{output}"


def test_a_wrong_command_would_be_caught(jemput_cli: JemputCli, run_tool: RunTool) -> None:
    assert jemput_cli(["jemput", "residents", "migrat", "--help"])[0] != 0
    assert jemput_cli(["jemput", "residents", "serve", "--hots", "0.0.0.0", "--help"])[0] != 0
    # The executable itself (the images' PATH has it) knows every service's commands.
    code, output = run_tool("jemput", "--help")
    assert code == 0, output
    assert all(service in output for service in SERVICES)


@pytest.mark.postgres
async def test_the_database_init_script_gives_each_service_its_own_database(pg_dsn: str) -> None:
    """deploy/postgres/initdb/ run on the test server under a unique prefix: each role reaches
    its own database and no other."""
    prefix = f"t{uuid.uuid4().hex[:8]}_"
    server = urlsplit(pg_dsn)
    host, port = server.hostname or "127.0.0.1", server.port or 5432
    env = {
        "PATH": _path_with_psql(),
        "PGHOST": host,
        "PGPORT": str(port),
        "PGPASSWORD": server.password or "",
        "POSTGRES_USER": server.username or "postgres",
        "POSTGRES_DB": "postgres",
        "JEMPUT_DB_NAME_PREFIX": prefix,
        **{f"JEMPUT_{s.upper()}_DB_PASSWORD": f"test-only-{s}" for s in SERVICES},
    }
    script = ROOT / "deploy/postgres/initdb/10-jemput-databases.sh"

    def connect(role: str, database: str) -> Any:
        return asyncpg.connect(
            host=host,
            port=port,
            user=prefix + role,
            password=f"test-only-{role}",
            database=prefix + database,
        )

    try:
        done = await asyncio.to_thread(
            subprocess.run, ["bash", str(script)], env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stdout + done.stderr
        for service in SERVICES:
            own = await connect(service, service)
            try:
                await own.execute("CREATE TABLE owned_by_the_service (id int)")
            finally:
                await own.close()
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connect("residents", "analytics")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connect("analytics", "residents")
    finally:
        admin = await asyncpg.connect(pg_dsn + "postgres")
        try:
            for service in SERVICES:
                await admin.execute(f'DROP DATABASE IF EXISTS "{prefix}{service}" WITH (FORCE)')
                await admin.execute(f'DROP ROLE IF EXISTS "{prefix}{service}"')
        finally:
            await admin.close()


def _path_with_psql() -> str:
    """PATH with a psql: Debian's server folders come first (pg.sh installs them there)."""
    folders = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    return ":".join([*map(str, folders), "/usr/local/bin", "/usr/bin", "/bin"])
