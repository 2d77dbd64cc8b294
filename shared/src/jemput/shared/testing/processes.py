"""Run service commands as real processes in tests (to kill them like a power cut would)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError


def service_env(service: str, **settings: str) -> dict[str, str]:
    env = dict(os.environ)
    prefix = f"JEMPUT_{service.upper()}_"
    env.update({prefix + key.upper(): value for key, value in settings.items()})
    return env


async def run_command(
    service: str, database_url: str, *args: str
) -> subprocess.CompletedProcess[str]:
    """`jemput <service> <args>` against one database, as an operator would run it, with its
    output (wide, so that messages are not wrapped)."""
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "jemput.shared.cli", service, *args],
        env={
            f"JEMPUT_{service.upper()}_DATABASE_URL": database_url,
            "PATH": "/usr/bin:/bin",
            "COLUMNS": "160",
        },
        capture_output=True,
        text=True,
        timeout=120,
    )


def start(service: str, command: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "jemput.shared.cli", service, command],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def wait_exit(process: subprocess.Popen[bytes], seconds: float = 60.0) -> int:
    deadline = asyncio.get_running_loop().time() + seconds
    while process.poll() is None:
        if asyncio.get_running_loop().time() > deadline:
            process.kill()
            raise AssertionError(f"{process.args!r} did not exit in {seconds} s")
        await asyncio.sleep(0.05)
    return process.returncode


async def stop(process: subprocess.Popen[bytes]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return await wait_exit(process, 30)


async def groups_caught_up(bootstrap: str, reads: Mapping[str, Iterable[str]]) -> bool:
    """Each consumer group (key) has committed every partition of the topics it reads (value) up
    to their end; a topic nobody has created yet has nothing to read."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        existing = set(await admin.list_topics())
        wanted = sorted({topic for topics in reads.values() for topic in topics} & existing)
        partitions = {
            described["topic"]: [p["partition"] for p in described["partitions"]]
            for described in await admin.describe_topics(wanted)
        }
        for group, topics in reads.items():
            tps = [TopicPartition(t, p) for t in topics for p in partitions.get(t, ())]
            try:
                committed = await admin.list_consumer_group_offsets(group)
            except KafkaError as exc:
                # A young broker answers "coordinator not available" while it creates its
                # offsets topic: not caught up yet, ask again.
                if exc.retriable:
                    return False
                raise
            ends = await consumer.end_offsets(tps)
            if not all(
                ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp])
                for tp in tps
            ):
                return False
        return True
    finally:
        await consumer.stop()
        await admin.close()


async def group_caught_up(bootstrap: str, group: str, topic: str) -> bool:
    """The consumer group has committed every partition of the topic up to its end."""
    return await groups_caught_up(bootstrap, {group: [topic]})
