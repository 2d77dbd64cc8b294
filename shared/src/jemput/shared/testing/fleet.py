"""The four services as real processes (`jemput <service> serve`), for end-to-end, fault and
load tests: migrated first, trusting a test issuer's tokens, one Kafka namespace, and each
one killable with SIGKILL and restartable like after a power cut."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

from jemput.shared.testing.auth import IssuerForTests, shared_issuer

SERVICES = ("residents", "outreach", "inventory", "analytics")
# Whose events each service's consumer group reads.
CONSUMES = {
    "residents": ("outreach", "inventory"),
    "outreach": ("residents",),
    "inventory": ("outreach", "residents"),
    "analytics": SERVICES,
}


def consumer_reads(namespace: str) -> dict[str, list[str]]:
    """Each service's consumer group and the topics it reads, in a Kafka namespace (for
    `processes.groups_caught_up`)."""
    return {
        f"{namespace}jemput.{service}": [f"{namespace}jemput.{p}.v1" for p in producers]
        for service, producers in CONSUMES.items()
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class ServiceProcess:
    name: str
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "jemput.shared.cli",
                    self.name,
                    "serve",
                    "--port",
                    str(self.port),
                ],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


@dataclass
class Fleet:
    """`async with Fleet(folder, kafka, namespace, database_urls) as fleet:` — the services
    are up and ready when the block starts and stopped when it ends.

    `settings`: extra settings per service (`{"inventory": {"low_threshold": "5"}}`), passed
    as `JEMPUT_<SERVICE>_<NAME>` variables."""

    folder: Path
    kafka_bootstrap: str
    kafka_namespace: str
    database_urls: Mapping[str, str]
    settings: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    issuer: IssuerForTests = field(default_factory=shared_issuer)
    services: tuple[str, ...] = SERVICES
    ready_seconds: float = 90.0
    processes: dict[str, ServiceProcess] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return self.processes[service].url

    def headers(self, scopes: str = "admin", **options: object) -> dict[str, str]:
        return self.issuer.headers(scopes, **options)  # type: ignore[arg-type]

    def _env(self, service: str) -> dict[str, str]:
        prefix = f"JEMPUT_{service.upper()}_"
        env = {k: v for k, v in os.environ.items() if not k.startswith("JEMPUT_")}
        values = {
            "DATABASE_URL": self.database_urls[service],
            "KAFKA_BOOTSTRAP_SERVERS": self.kafka_bootstrap,
            "KAFKA_NAMESPACE": self.kafka_namespace,
            "AUTH_PUBLIC_KEY_FILE": str(self.issuer.public_key_file),
            "AUTH_ISSUER": self.issuer.local.issuer,
            "RATE_LIMIT_PER_MINUTE": "10000000",
            "LOG_JSON": "true",
            **{k.upper(): v for k, v in self.settings.get(service, {}).items()},
        }
        env.update({prefix + key: value for key, value in values.items()})
        return env

    async def migrate(self, service: str) -> None:
        process = self.processes[service]
        with process.log.open("ab") as out:
            done = await asyncio.to_thread(
                subprocess.run,
                [sys.executable, "-m", "jemput.shared.cli", service, "migrate"],
                env=process.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                timeout=300,
            )
        if done.returncode != 0:
            raise RuntimeError(f"{service} migrate failed; see {process.log}")

    async def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        for service in self.services:
            self.processes[service] = ServiceProcess(
                service, free_port(), self._env(service), self.folder / f"{service}.log"
            )
        await asyncio.gather(*(self.migrate(s) for s in self.services))
        for service in self.services:
            self.processes[service].start()
        await asyncio.gather(*(self.wait_ready(s) for s in self.services))

    async def wait_ready(self, service: str) -> None:
        process = self.processes[service]
        deadline = asyncio.get_running_loop().time() + self.ready_seconds
        async with httpx.AsyncClient(timeout=2) as client:
            while True:
                if not process.running:
                    raise RuntimeError(f"{service} exited; see {process.log}")
                try:
                    if (await client.get(process.url + "/readyz")).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if asyncio.get_running_loop().time() > deadline:
                    raise RuntimeError(f"{service} not ready in {self.ready_seconds} s")
                await asyncio.sleep(0.2)

    async def kill(self, service: str) -> None:
        """SIGKILL: no shutdown code runs, like a power cut."""
        process = self.processes[service].process
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGKILL)
            await asyncio.to_thread(process.wait)

    async def restart(self, service: str) -> None:
        await self.kill(service)
        self.processes[service].start()
        await self.wait_ready(service)

    async def stop(self) -> None:
        for process in self.processes.values():
            if process.running:
                assert process.process is not None
                process.process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            if process.process is not None:
                try:
                    await asyncio.wait_for(asyncio.to_thread(process.process.wait), 30)
                except TimeoutError:
                    process.process.kill()

    def logs(self, service: str, last: int = 4000) -> str:
        """The end of a service's log, for assertion messages."""
        text = self.processes[service].log.read_text(errors="replace")
        return text[-last:]

    async def __aenter__(self) -> Fleet:
        try:
            await self.start()
        except BaseException:
            await self.stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()
