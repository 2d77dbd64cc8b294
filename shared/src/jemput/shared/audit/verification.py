"""Check the audit chain end to end: every sealed entry, in sequence order, in batches.

What it detects, for someone with database access who does not rewrite the whole chain:
an edited entry (its hash no longer matches), an entry removed from the middle (a gap in the
sequences), removed from the end (the head points past the last entry), or slipped in after
the head. What it cannot detect alone: someone who recomputes every hash after the change and
updates the head, since the hash has no secret. Anchors close that gap: the head's sequence
and hash, noted down or published daily (`jemput <service> audit head`), must still be found
in the chain. Entries not yet sealed (normally under a few seconds old) are not covered.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from jemput.shared.audit.chain import CHAIN_COLUMNS, ChainFields, entry_hash
from jemput.shared.audit.tables import GENESIS_HASH, audit_chain_head, audit_log
from jemput.shared.db import read_only

HEX_DIGITS = frozenset("0123456789abcdefABCDEF")


class ChainProblem(StrEnum):
    ENTRY_ALTERED = "entry_altered"  # the entry's fields no longer give its stored hash
    LINK_BROKEN = "link_broken"  # prev_hash is not the previous entry's hash
    ENTRY_MISSING = "entry_missing"  # a sequence is missing: an entry was deleted
    TAIL_MISSING = "tail_missing"  # the head is past the last entry: the end was deleted
    HEAD_MISMATCH = "head_mismatch"  # the last entry's hash is not the head's
    AFTER_HEAD = "after_head"  # sealed entries beyond the head: slipped in
    ANCHOR_MISMATCH = "anchor_mismatch"  # a noted-down head is not in the chain any more
    HEAD_MISSING = "head_missing"  # the audit_chain_head row is gone


class Anchor(NamedTuple):
    """A head noted down earlier: the chain must still have this hash at this sequence."""

    sequence: int
    entry_hash: str

    @classmethod
    def parse(cls, text: str) -> Anchor:
        """`SEQUENCE:HASH`, as `audit head` prints it."""
        sequence, _, digest = text.strip().partition(":")
        if not (sequence.isdigit() and len(digest) == 64 and set(digest) <= HEX_DIGITS):
            raise ValueError("an anchor is SEQUENCE:HASH (a number, a colon, 64 hex digits)")
        return cls(int(sequence), digest.lower())


@dataclass(frozen=True, slots=True)
class VerificationReport:
    head_sequence: int
    head_hash: str
    checked: int  # sealed entries whose hash was recomputed
    unsealed: int  # entries still waiting for the sealer (not covered)
    problem: ChainProblem | None = None
    broken_at: int | None = None  # the first sequence where the chain breaks

    @property
    def intact(self) -> bool:
        return self.problem is None


@dataclass(frozen=True, slots=True)
class _Break:
    problem: ChainProblem
    sequence: int


class _Walk(NamedTuple):
    """Where a walk through the chain stands after a batch."""

    sequence: int
    last_hash: str
    broken: _Break | None


Progress = Callable[[int, int], None]


class _Head(NamedTuple):
    sequence: int
    entry_hash: str
    max_sequence: int | None  # the highest sequence in the log, read in the same snapshot
    unsealed: int


async def verify_chain(
    engine: AsyncEngine,
    *,
    anchors: Sequence[Anchor] = (),
    batch_size: int = 5000,
    on_progress: Progress | None = None,
) -> VerificationReport:
    """Walk entries 1..head in sequence order, recomputing each hash; stop at the first break.

    Only the head read at the start is checked, so a sealer may keep working meanwhile; memory
    stays at one batch however long the chain. `on_progress(checked, total)` follows each batch.
    """
    async with read_only(engine).connect() as conn:
        head = await _read_head(conn)
        if head is None:
            return VerificationReport(0, GENESIS_HASH, 0, 0, ChainProblem.HEAD_MISSING, 1)
        expected = {anchor.sequence: anchor.entry_hash for anchor in anchors}
        walk = _Walk(0, GENESIS_HASH, None)
        while walk.sequence < head.sequence and walk.broken is None:
            batch = await _read_batch(
                conn, after=walk.sequence, upto=head.sequence, limit=batch_size
            )
            if not batch:
                break
            walk = await asyncio.to_thread(_check, batch, walk, expected)
            if on_progress:
                on_progress(walk.sequence, head.sequence)
    broken = walk.broken or _check_end(walk, head, expected)
    checked = walk.sequence - 1 if walk.broken else walk.sequence
    return VerificationReport(
        head_sequence=head.sequence,
        head_hash=head.entry_hash,
        checked=checked,
        unsealed=head.unsealed,
        problem=broken.problem if broken else None,
        broken_at=broken.sequence if broken else None,
    )


async def _read_head(conn: AsyncConnection) -> _Head | None:
    # One statement, one snapshot: the head and the highest sequence agree unless tampered.
    found = (
        await conn.execute(
            select(
                audit_chain_head.c.last_sequence,
                audit_chain_head.c.last_hash,
                select(func.max(audit_log.c.sequence)).scalar_subquery(),
                select(func.count())
                .select_from(audit_log)
                .where(audit_log.c.sequence.is_(None))
                .scalar_subquery(),
            ).where(audit_chain_head.c.id == 1)
        )
    ).one_or_none()
    if found is None:
        return None
    sequence, digest, max_sequence, unsealed = found
    return _Head(int(sequence), str(digest), max_sequence, int(unsealed))


async def _read_batch(conn: AsyncConnection, *, after: int, upto: int, limit: int) -> list[_Stored]:
    rows = await conn.execute(
        select(audit_log.c.sequence, audit_log.c.prev_hash, audit_log.c.entry_hash)
        .add_columns(*CHAIN_COLUMNS)
        .where(audit_log.c.sequence > after, audit_log.c.sequence <= upto)
        .order_by(audit_log.c.sequence)
        .limit(limit)
    )
    return [_Stored(r[0], r[1], r[2], ChainFields(*r[3:])) for r in rows]


def _check_end(walk: _Walk, head: _Head, anchors: dict[int, str]) -> _Break | None:
    """After an unbroken walk: does it end where the head says, and nothing lies beyond?"""
    if walk.sequence < head.sequence:
        return _Break(ChainProblem.TAIL_MISSING, walk.sequence + 1)
    if walk.last_hash != head.entry_hash:
        return _Break(ChainProblem.HEAD_MISMATCH, head.sequence)
    if head.max_sequence is not None and head.max_sequence > head.sequence:
        return _Break(ChainProblem.AFTER_HEAD, head.sequence + 1)
    beyond = [sequence for sequence in anchors if sequence > head.sequence]
    if beyond:
        # A head noted down earlier lies past today's head: the end was cut and the head moved.
        return _Break(ChainProblem.ANCHOR_MISMATCH, min(beyond))
    return None


class _Stored(NamedTuple):
    sequence: int
    prev_hash: str | None
    entry_hash: str | None
    fields: ChainFields


def _check(batch: list[_Stored], walk: _Walk, anchors: dict[int, str]) -> _Walk:
    """Check a batch after `walk`; on a break, `sequence` is the broken entry's."""
    sequence, last_hash = walk.sequence, walk.last_hash
    for entry in batch:
        expected = sequence + 1
        if entry.sequence != expected:
            return _Walk(expected, last_hash, _Break(ChainProblem.ENTRY_MISSING, expected))
        if entry.prev_hash != last_hash:
            return _Walk(expected, last_hash, _Break(ChainProblem.LINK_BROKEN, expected))
        if entry_hash(expected, last_hash, entry.fields) != entry.entry_hash:
            return _Walk(expected, last_hash, _Break(ChainProblem.ENTRY_ALTERED, expected))
        anchored = anchors.get(expected)
        if anchored is not None and anchored != entry.entry_hash:
            return _Walk(expected, last_hash, _Break(ChainProblem.ANCHOR_MISMATCH, expected))
        sequence, last_hash = expected, entry.entry_hash
    return _Walk(sequence, last_hash, None)
