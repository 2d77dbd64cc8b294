"""The register's snapshots of residents (registered / changed) in the print queue.

Each snapshot names the resident's own village: inventory keeps it, and the resident's cards on
their way take it. A snapshot of a resident recorded but without a card (`SUDAH_REKAM`, or
`PRINT_READY_RECORD`: printable) enters the print queue through the same path as a field
recording, dated by the resident's recording day, so it reserves a blank or gets a SUKET like
any other and waits in the same order. The paths meet on the resident's open job, so a field
recording, a snapshot, a snapshot again and a central result make one job and at most one
SUKET between them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters import residents
from jemput.inventory.domain.print_jobs import CLEARED, owed_a_card
from jemput.inventory.service_layer import print_queue
from jemput.inventory.service_layer.print_queue import Recording
from jemput.shared.events.residents import ResidentSnapshot
from jemput.shared.messaging.outbox import Outbox


@dataclass(frozen=True, slots=True)
class Seen:
    snapshot: ResidentSnapshot
    at: datetime  # when the register said it (the event's time)

    @property
    def recorded_at(self) -> datetime:
        # A snapshot without the recording day (a register without it, an older producer)
        # is dated by the moment the register said the resident was recorded.
        return self.snapshot.recorded_at or self.at


async def on_snapshots(
    session: AsyncSession, outbox: Outbox, seen: Sequence[Seen], *, actor: str
) -> None:
    """A run of snapshots, in the order they came (a resident's latest one counts)."""
    latest = {s.snapshot.nik: s for s in seen}
    await residents.remember_villages(
        session, {nik: s.snapshot.village_code for nik, s in latest.items()}
    )
    await residents.move_jobs_to_villages(session, latest)
    owed = {
        nik: s
        for nik, s in latest.items()
        if owed_a_card(s.snapshot.ektp_status, s.snapshot.domicile_status)
    }
    # A card printed already (the register has not heard of it yet) is not owed again.
    for nik in await residents.niks_with_card(session, owed):
        del owed[nik]
    if not owed:
        return
    # The oldest recordings take the free blanks first, as waiting jobs do.
    recordings = sorted(
        (Recording(nik, s.snapshot.village_code, s.recorded_at) for nik, s in owed.items()),
        key=lambda r: r.recorded_at,
    )
    await print_queue.on_recordings(session, outbox, recordings, actor=actor)
    cleared = [
        (r.nik, r.recorded_at) for r in recordings if owed[r.nik].snapshot.ektp_status == CLEARED
    ]
    if cleared:
        await print_queue.on_prints_ready(session, outbox, cleared, actor=actor)
