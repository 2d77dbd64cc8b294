"""Run service commands as real processes in tests (to kill them like a power cut would)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient


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


async def group_caught_up(bootstrap: str, group: str, topic: str) -> bool:
    """The consumer group has committed every partition of the topic up to its end."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await admin.start()
    await consumer.start()
    try:
        described = await admin.describe_topics([topic])
        tps = [TopicPartition(topic, p["partition"]) for p in described[0]["partitions"]]
        committed = await admin.list_consumer_group_offsets(group)
        ends = await consumer.end_offsets(tps)
        return bool(tps) and all(
            ends[tp] == 0 or (tp in committed and committed[tp].offset >= ends[tp]) for tp in tps
        )
    finally:
        await consumer.stop()
        await admin.close()
