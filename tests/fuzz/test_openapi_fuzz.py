"""Every service's OpenAPI document, fuzzed by schemathesis against the running service (real
HTTP through uvicorn, a real SQLite database and Kafka) with an admin token: valid and invalid
requests to every operation never answer 5xx, every error is an RFC 9457 problem document
(`problem_checks.py`), and bodies, content types and headers are what the document promises.

The run is schemathesis's own command line (`st run`): its coverage phase (boundary and
invalid values of every parameter) and fuzzing phase, bounded and seeded so that a failure
reproduces. Each service gets a little data first (a resident, a team and a kit) that the reads
of one item are pointed at, so that they answer 200 and their bodies are checked too. A failure
prints schemathesis's report, with a curl command per finding."""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, HTTPException
from fastapi.responses import JSONResponse

from jemput.analytics.entrypoints.http.app import create_app as analytics_app
from jemput.analytics.settings import AnalyticsSettings
from jemput.inventory.entrypoints.http.app import create_app as inventory_app
from jemput.inventory.settings import InventorySettings
from jemput.outreach.entrypoints.http.app import create_app as outreach_app
from jemput.outreach.settings import OutreachSettings
from jemput.residents.entrypoints.http.app import create_app as residents_app
from jemput.residents.settings import ResidentsSettings
from jemput.shared.http.problems import PROBLEM_JSON
from jemput.shared.nik import Sex, make_nik
from jemput.shared.settings import ServiceSettings
from jemput.shared.testing.auth import shared_issuer
from jemput.shared.testing.fixtures import migrate

pytestmark = pytest.mark.fuzz

SERVICES: dict[str, tuple[Callable[..., FastAPI], type[ServiceSettings]]] = {
    "residents": (residents_app, ResidentsSettings),
    "outreach": (outreach_app, OutreachSettings),
    "inventory": (inventory_app, InventorySettings),
    "analytics": (analytics_app, AnalyticsSettings),
}
# Per operation and phase; with a fixed seed the same requests are sent on every run.
MAX_EXAMPLES = int(os.environ.get("JEMPUT_FUZZ_EXAMPLES", "30"))
SEED = 20261128
STARTUP_SECONDS = 60
RUN_SECONDS = 600
TOKEN_ENV = "JEMPUT_FUZZ_TOKEN"
HOOKS = Path(__file__).with_name("problem_checks.py")
# Every built-in check runs: `status_code_conformance` (each answer is documented for its
# operation), `negative_data_rejection` (dates are ISO text only and counts strict integers,
# `jemput.shared.http.types`, so input the document forbids must be refused) and
# `positive_data_acceptance` (input the document allows is accepted), whose 422s are judged by
# `valid_data_is_refused_only_by_rules_of_the_domain` in `problem_checks.py`: a register code
# that is not in the Kemendagri table is schema-valid, and refused.
POSITIVE_STATUSES = ["2xx", "3xx", "401", "403", "404", "409", "422", "429", "5xx"]
CONFIG = f"""\
hooks = "{HOOKS}"
seed = {SEED}

[checks.positive_data_acceptance]
expected-statuses = {POSITIVE_STATUSES}

[generation]
max-examples = {MAX_EXAMPLES}
database = "none"

[cache]
enabled = false

[phases.examples]
enabled = true
[phases.coverage]
enabled = true
[phases.fuzzing]
enabled = true
[phases.stateful]
enabled = false

[auth.openapi.HTTPBearer]
bearer = "${{{TOKEN_ENV}}}"
"""


@dataclass(frozen=True)
class Waiver:
    """A check that does not hold for some operations, and why."""

    method_regex: str
    path_regex: str
    check: str
    why: str

    def toml(self) -> str:
        return (
            f"\n# {self.why}\n[[operations]]\ninclude-method-regex = '{self.method_regex}'\n"
            f"include-path-regex = '{self.path_regex}'\n"
            f"[operations.checks.{self.check}]\nenabled = false\n"
        )


# Every service: /readyz answers 503 (a problem document) while Kafka or the database is away.
READINESS = Waiver(
    "^GET$", "^/readyz$", "not_a_server_error", "503 is /readyz's answer to an outage."
)


# By design: a path parameter takes any segment, so `GET /v1/sessions/abc:start` reads the
# session whose id is "abc:start" (it answers 404 or 422, not 405), and a 405 on a
# `/{id}:verb` path rightly names GET in `Allow` beside the verb's POST.
def action_paths(check: str) -> Waiver:
    return Waiver(
        "^POST$",
        r"\}:[a-z]+$",
        check,
        "Other methods of `/{id}:verb` paths are reads of the id `…:verb`.",
    )


WAIVERS: dict[str, list[Waiver]] = {
    "outreach": [action_paths("unsupported_method"), action_paths("allow_header_conformance")],
    "inventory": [action_paths("allow_header_conformance")],
}


@dataclass(frozen=True)
class Pin:
    """A path parameter of some operations fixed to data seeded before the run."""

    method_regex: str
    path_regex: str
    parameter: str
    value: str

    def toml(self) -> str:
        return (
            f"\n[[operations]]\ninclude-method-regex = '{self.method_regex}'\n"
            f"include-path-regex = '{self.path_regex}'\n"
            f'[operations.parameters]\n"path.{self.parameter}" = "{self.value}"\n'
        )


def seed_residents(client: httpx.Client) -> list[Pin]:
    nik = make_nik("16.02.05", date(1980, 3, 4), Sex.MALE, 7)
    kk = "1602050403800007"
    resident = {
        "nik": nik,
        "kk": kk,
        "full_name": "Ahmad Uji Coba",
        "birth_date": "1980-03-04",
        "sex": "L",
        "marital_status": "KAWIN",
        "village_code": "16.02.05.1001",
    }
    created = client.post("/v1/residents", json=resident)
    assert created.status_code == 201, created.text
    return [
        Pin("^GET$", r"^/v1/residents/\{nik\}", "nik", nik),
        Pin("^GET$", r"^/v1/families/\{kk\}$", "kk", kk),
    ]


def seed_outreach(client: httpx.Client) -> list[Pin]:
    team = client.post(
        "/v1/teams", json={"name": "Tim Uji", "members": ["Andi"], "base_code": "16.02.05"}
    )
    assert team.status_code == 201, team.text
    team_id = team.json()["id"]
    kit = client.post("/v1/kits", json={"serial": "UJI-K1", "team_id": team_id})
    assert kit.status_code == 201, kit.text
    return [
        Pin("^GET$", r"^/v1/teams/\{team_id\}$", "team_id", team_id),
        Pin("^PATCH$", r"^/v1/kits/\{serial\}$", "serial", "UJI-K1"),
    ]


SEEDERS: dict[str, Callable[[httpx.Client], list[Pin]]] = {
    "residents": seed_residents,
    "outreach": seed_outreach,
}


class ServerThread:
    """An app under uvicorn on a free loopback port, in a thread with its own event loop:
    the fuzzer is another process, and the app keeps its loop to itself."""

    def __init__(
        self, name: str, app: FastAPI, prepare: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        self.name = name
        self.prepare = prepare
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(
            app, host="127.0.0.1", port=self.port, log_config=None, access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name=f"fuzz-{name}", daemon=True)
        self.failure: BaseException | None = None

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self.failure = exc

    async def _serve(self) -> None:
        if self.prepare is not None:
            await self.prepare()
        await self.server.serve()

    def __enter__(self) -> str:
        self.thread.start()
        for _ in range(STARTUP_SECONDS * 20):
            if self.server.started or not self.thread.is_alive():
                break
            self.thread.join(0.05)
        if not self.server.started:
            self.server.should_exit = True
            raise RuntimeError(f"{self.name} did not start") from self.failure
        return f"http://127.0.0.1:{self.port}"

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(STARTUP_SECONDS)


@dataclass(frozen=True)
class FuzzRun:
    exit_code: int
    report: str

    @property
    def generated(self) -> int:
        found = re.search(r"(\d+) generated", self.report)
        return int(found.group(1)) if found else 0

    @property
    def tested_operations(self) -> int:
        found = re.search(r"Tested: (\d+)", self.report)
        return int(found.group(1)) if found else 0


def fuzz(base_url: str, workdir: Path, extra_config: str = "") -> FuzzRun:
    """`st run` against the app at `base_url` with an admin token."""
    config = workdir / "schemathesis.toml"
    config.write_text(CONFIG + extra_config)
    environment = {**os.environ, TOKEN_ENV: shared_issuer().token("admin", client_id="fuzz")}
    command = [sys.executable, "-m", "schemathesis.cli", "--no-color", "--config-file"]
    command += [str(config), "run", f"{base_url}/openapi.json", "--request-timeout", "30"]
    finished = subprocess.run(
        command,
        cwd=workdir,  # whatever it writes stays in the test's folder
        env=environment,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
        check=False,
    )
    return FuzzRun(finished.returncode, finished.stdout + finished.stderr)


@dataclass(frozen=True)
class LiveService:
    name: str
    base_url: str


@pytest.fixture(params=list(SERVICES))
def live_service(
    request: pytest.FixtureRequest, kafka_bootstrap: str, tmp_path: Path
) -> Iterator[LiveService]:
    name = request.param
    create_app, settings_class = SERVICES[name]
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'fuzz.db'}"
    # The register files the fuzzer uploads stay in the test's folder.
    extra: dict[str, Any] = (
        {"import_folder": str(tmp_path / "imports")} if name == "residents" else {}
    )
    settings = shared_issuer().configure(
        settings_class(
            database_url=database_url,
            kafka_bootstrap_servers=kafka_bootstrap,
            kafka_namespace=f"t{uuid.uuid4().hex[:10]}.",
            rate_limit_per_minute=1_000_000,  # the fuzzer is one client sending thousands
            **extra,
        )
    )

    async def migrated() -> None:
        await migrate(name, database_url)

    with ServerThread(name, create_app(settings), migrated) as base_url:
        yield LiveService(name, base_url)


@pytest.mark.kafka
# The run's own bound (`RUN_SECONDS`) decides, not the suite's per-test timeout.
@pytest.mark.timeout(RUN_SECONDS + 2 * STARTUP_SECONDS)
def test_fuzzing_finds_no_server_error_and_only_problem_documents(
    live_service: LiveService, tmp_path: Path
) -> None:
    pins: list[Pin] = []
    if live_service.name in SEEDERS:
        headers = shared_issuer().headers("admin", client_id="fuzz-seed")
        # As patient as the fuzzer (`--request-timeout`): a busy machine is slow, not broken.
        with httpx.Client(base_url=live_service.base_url, headers=headers, timeout=30) as client:
            pins = SEEDERS[live_service.name](client)
    extra = [rule.toml() for rule in [READINESS, *WAIVERS.get(live_service.name, [])]]
    extra += [pin.toml() for pin in pins]
    run = fuzz(live_service.base_url, tmp_path, "".join(extra))
    if run.exit_code != 0:
        pytest.fail(run.report, pytrace=False)
    assert run.tested_operations > 0 and run.generated > 0, run.report
    print(f"fuzz {live_service.name}: {run.tested_operations} operations, {run.generated} requests")
    assert "Unmatched filters" not in run.report, run.report  # a stale waiver or pin


def broken_app() -> FastAPI:
    """Errors of every wrong kind, to show that the fuzz run notices them."""
    app = FastAPI()

    @app.get("/plain-error")
    async def plain_error(code: int = 0) -> JSONResponse:
        if code % 2:
            return JSONResponse({"message": "odd"}, status_code=400)
        return JSONResponse({"ok": True})

    @app.get("/crash")
    async def crash(code: int = 0) -> dict[str, int]:
        if code % 2:
            raise HTTPException(status_code=503, detail="odd")
        return {"ok": 1}

    @app.get("/undocumented")
    async def undocumented(code: int = 0) -> JSONResponse:
        if code % 2:  # a proper problem document, under a status the document does not list
            return JSONResponse(problem(409, "Conflict"), 409, media_type=PROBLEM_JSON)
        return JSONResponse({"ok": True})

    @app.get("/stricter")
    async def stricter(count: int = 0) -> JSONResponse:
        if count < 0:  # a bound the document does not state
            refusal = problem(422, "Invalid request")
            refusal["errors"] = [{"field": "count", "code": "greater_than_equal", "reason": "≥ 0"}]
            return JSONResponse(refusal, 422, media_type=PROBLEM_JSON)
        return JSONResponse({"ok": True})

    return app


def problem(status: int, title: str) -> dict[str, Any]:
    return {"type": "about:blank", "title": title, "status": status}


def test_the_fuzz_run_reports_server_errors_plain_json_errors_and_undocumented_answers(
    tmp_path: Path,
) -> None:
    with ServerThread("broken", broken_app()) as base_url:
        run = fuzz(base_url, tmp_path)
    assert run.exit_code != 0, run.report
    assert "Server error" in run.report, run.report
    assert "sent as 'application/json', not application/problem+json" in run.report, run.report
    assert "Undocumented status code" in run.report, run.report
    assert "schema constraints the document does not state" in run.report, run.report
