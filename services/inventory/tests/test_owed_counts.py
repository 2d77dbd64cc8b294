"""The forecast's counts of cards owed — print-ready backlog, SUKET holders waiting for a
blank, SUKETs outstanding — are kept by the print queue rather than counted on each request.
Here hundreds of residents go through every move of the queue, in batches as the consumer
applies them (recordings, print-ready results before and after their recording, receipts,
prints, spoils, hand-overs, duplicates, re-recordings), and after each step `/v1/forecast`
must give what a plain count of the jobs and SUKETs gives. A transaction that rolls back
leaves the counts alone, and revision 0008 computes the same counts from the rows (SQLite and
PostgreSQL)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from alembic import command
from sqlmodel import select

from jemput.inventory.adapters.tables import PrintJob
from jemput.inventory.service_layer import print_queue
from jemput.inventory.service_layer.print_queue import Recording
from jemput.inventory.testing import NOW, VILLAGE, Inventory, nik, start_inventory
from jemput.shared.db.migrations import alembic_config
from jemput.shared.testing.fixtures import migrate, migrations_dir

pytestmark = pytest.mark.kafka

RESIDENTS = 600

# The definitions the forecast used to count with on every request, written out plainly.
HOLDS = (
    "EXISTS (SELECT 1 FROM suket s WHERE s.job_id = j.id "
    "AND s.cleared_at IS NULL AND s.revoked_at IS NULL)"
)
COUNTS = sa.text(
    "SELECT "
    f"(SELECT count(*) FROM print_job j WHERE j.location = 'office' AND j.state = 'OPEN' "
    f" AND j.has_blank = false AND j.print_ready = true AND NOT {HOLDS}), "
    f"(SELECT count(*) FROM print_job j WHERE j.location = 'office' AND j.state = 'OPEN' "
    f" AND j.has_blank = false AND {HOLDS}), "
    "(SELECT count(*) FROM suket s JOIN print_job j ON j.id = s.job_id "
    " WHERE j.location = 'office' AND s.cleared_at IS NULL AND s.revoked_at IS NULL)"
)


@pytest.fixture
async def inventory(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[Inventory]:
    async for driver in start_inventory(database_url, kafka_bootstrap, kafka_namespace):
        yield driver


async def counted(inventory: Inventory) -> tuple[int, int, int]:
    async with inventory.runtime.engine.connect() as conn:
        backlog, waiting, outstanding = (await conn.execute(COUNTS)).one()
    return int(backlog), int(waiting), int(outstanding)


async def answered(inventory: Inventory) -> tuple[int, int, int]:
    response = await inventory.client.get("/v1/forecast")
    assert response.status_code == 200, response.text
    body = response.json()
    return (
        body["print_ready_backlog"],
        body["sukets_waiting_for_blank"],
        body["sukets_outstanding"],
    )


async def agree(inventory: Inventory, step: str) -> tuple[int, int, int]:
    expected = await counted(inventory)
    assert await answered(inventory) == expected, step
    return expected


class Queue:
    """The consumer's and the operators' moves, straight on the print queue."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.runtime = inventory.runtime
        self.serial = 0
        self.blanks = 0  # the last serial received

    async def record(self, residents: list[int], *, hours: int = 0) -> None:
        at = NOW - timedelta(days=20) + timedelta(hours=hours)
        async with self.runtime.sessions() as session, session.begin():
            await print_queue.on_recordings(
                session,
                self.runtime.outbox,
                [Recording(nik(i), VILLAGE, at + timedelta(minutes=i)) for i in residents],
                actor="/jemput/outreach",
                at=at,
            )

    async def ready(self, residents: list[int]) -> None:
        async with self.runtime.sessions() as session, session.begin():
            await print_queue.on_prints_ready(
                session,
                self.runtime.outbox,
                [(nik(i), NOW - timedelta(days=10)) for i in residents],
                actor="/jemput/residents",
                at=NOW,
            )

    async def duplicate(self, residents: list[int]) -> None:
        async with self.runtime.sessions() as session, session.begin():
            for i in residents:
                await print_queue.on_duplicate(
                    session, self.runtime.outbox, nik=nik(i), actor="/jemput/residents", at=NOW
                )

    async def receive(self, quantity: int) -> None:
        await self.inventory.receive(quantity, self.blanks + 1)
        self.blanks += quantity

    async def jobs(self, state: str, *, has_blank: bool | None = None) -> list[PrintJob]:
        async with self.runtime.sessions() as session:
            query = select(PrintJob).where(PrintJob.state == state)
            if has_blank is not None:
                query = query.where(PrintJob.has_blank == has_blank)
            return list((await session.exec(query.order_by(PrintJob.nik))).all())

    async def print_some(self, rng: random.Random, share: float) -> None:
        printable = [job for job in await self.jobs("OPEN", has_blank=True) if job.print_ready]
        for job in rng.sample(printable, int(len(printable) * share)):
            self.serial += 1
            if rng.random() < 0.15:  # a spoiled print first: the job waits or takes another
                spoiled = await self.inventory.client.post(
                    f"/v1/print-jobs/{job.id}:spoil",
                    json={"blank_serial": f"KTP-{self.serial:06d}", "note": "tergores"},
                )
                assert spoiled.status_code == 200, spoiled.text
                self.serial += 1
                if not spoiled.json()["has_blank"]:
                    continue
            printed = await self.inventory.client.post(
                f"/v1/print-jobs/{job.id}:print", json={"card_serial": f"KTP-{self.serial:06d}"}
            )
            assert printed.status_code == 200, printed.text

    async def issue_some(self, rng: random.Random, share: float) -> None:
        printed = await self.jobs("PRINTED")
        for job in rng.sample(printed, int(len(printed) * share)):
            issued = await self.inventory.client.post(f"/v1/print-jobs/{job.id}:issue")
            assert issued.status_code == 200, issued.text


async def test_the_forecast_counts_what_a_plain_count_of_jobs_and_sukets_gives(
    inventory: Inventory,
) -> None:
    rng = random.Random(15)
    queue = Queue(inventory)
    assert await agree(inventory, "empty") == (0, 0, 0)
    await queue.receive(40)
    residents = list(range(1, RESIDENTS + 1))
    recorded = residents[: RESIDENTS * 2 // 3]
    for start in range(0, len(recorded), 50):  # batches, some residents twice in a batch
        batch = recorded[start : start + 50]
        await queue.record(batch + rng.sample(batch, 5), hours=start)
    await agree(inventory, "recorded, blanks ran out")
    # Results for recorded residents and for some not recorded yet (they start their job).
    results = rng.sample(recorded, len(recorded) // 2) + residents[len(recorded) :][:60]
    for start in range(0, len(results), 40):
        await queue.ready(results[start : start + 40])
    await agree(inventory, "print-ready")
    await queue.print_some(rng, 0.8)
    await agree(inventory, "printed, some spoiled")
    await queue.duplicate(rng.sample(recorded, 40))
    await agree(inventory, "duplicates dropped")
    await queue.receive(150)
    await agree(inventory, "blanks received, waiting jobs served")
    await queue.ready(rng.sample(recorded, 120))
    await queue.print_some(rng, 0.9)
    # Residents whose card is printed but not handed over are recorded again: a second job,
    # with a SUKET when no blank is left, which their hand-over clears too.
    again = [job.nik for job in rng.sample(await queue.jobs("PRINTED"), 10)]
    async with inventory.runtime.sessions() as session, session.begin():
        await print_queue.on_recordings(
            session,
            inventory.runtime.outbox,
            [Recording(n, VILLAGE, NOW - timedelta(days=1)) for n in again],
            actor="/jemput/outreach",
            at=NOW,
        )
    owed = await agree(inventory, "printed residents recorded again")
    await queue.issue_some(rng, 0.7)
    after = await agree(inventory, "cards handed over")
    assert after[2] < owed[2]
    await queue.receive(300)
    await queue.ready(residents)
    await queue.print_some(rng, 0.5)
    await queue.issue_some(rng, 0.5)
    final = await agree(inventory, "the rest")
    # The walk went through every kind of count, not only zeros.
    assert owed[0] > 0 and owed[1] > 0 and owed[2] > 0, owed
    assert final != (0, 0, 0)


async def test_a_rolled_back_change_leaves_the_counts_alone(inventory: Inventory) -> None:
    queue = Queue(inventory)
    await queue.record([1, 2, 3])
    before = await agree(inventory, "three SUKETs")
    assert before == (0, 3, 3)
    with pytest.raises(RuntimeError):
        async with inventory.runtime.sessions() as session, session.begin():
            await print_queue.on_recordings(
                session,
                inventory.runtime.outbox,
                [Recording(nik(i), VILLAGE, NOW) for i in (4, 5)],
                actor="/jemput/outreach",
                at=NOW,
            )
            raise RuntimeError("the batch failed")
    assert await agree(inventory, "rolled back") == before
    await queue.record([6])
    assert await agree(inventory, "one more") == (0, 4, 4)


async def test_revision_0008_computes_the_counts_from_the_rows(
    inventory: Inventory, database_url: str
) -> None:
    rng = random.Random(8)
    queue = Queue(inventory)
    await queue.receive(20)
    await queue.record(list(range(1, 81)))
    await queue.ready(rng.sample(range(1, 101), 60))
    await queue.print_some(rng, 0.5)
    await queue.issue_some(rng, 0.5)
    kept = await agree(inventory, "kept")
    config = alembic_config(migrations_dir("inventory"), database_url)
    await asyncio.to_thread(command.downgrade, config, "0007")
    await migrate("inventory", database_url)
    assert await answered(inventory) == kept
