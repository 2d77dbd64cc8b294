"""The hash chain: each sealed entry's hash covers its fields, its sequence and the previous
entry's hash, so editing or removing an entry breaks every link after it.

Pure functions, no I/O: the sealer and the verifier run them on batches in a worker thread.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import NamedTuple

import orjson

from jemput.shared.audit.tables import audit_log

# Names the encoding below; a future change of encoding gets a new tag, never a silent change.
ENCODING = "jemput.audit.v1"


class ChainFields(NamedTuple):
    """The stored fields an entry's hash covers, in the order they are hashed."""

    recorded_at: datetime
    client_id: str
    purpose: str | None
    action: str
    nik: str | None
    detail: str | None
    result: str
    request_id: str | None


# The columns to select, in ChainFields order, so that `ChainFields(*row)` reads a row.
CHAIN_COLUMNS = tuple(audit_log.c[name] for name in ChainFields._fields)


class SealedLink(NamedTuple):
    id: int
    sequence: int
    prev_hash: str
    entry_hash: str


def entry_hash(sequence: int, prev_hash: str, fields: ChainFields) -> str:
    """SHA-256 (hex) of a canonical encoding: a JSON array of the tag, the sequence, the fields
    in fixed order (the time as UTC with microseconds) and the previous hash. orjson writes the
    same bytes for the same values, and an array leaves no doubt where one field ends."""
    payload = orjson.dumps(
        [
            ENCODING,
            sequence,
            _utc_text(fields.recorded_at),
            *fields[1:],
            prev_hash,
        ]
    )
    return hashlib.sha256(payload).hexdigest()


def link(
    rows: Sequence[tuple[int, ChainFields]], last_sequence: int, last_hash: str
) -> list[SealedLink]:
    """Chain rows (id, fields), in the order given, after the entry (last_sequence, last_hash)."""
    links = []
    sequence, prev_hash = last_sequence, last_hash
    for row_id, fields in rows:
        sequence += 1
        digest = entry_hash(sequence, prev_hash, fields)
        links.append(SealedLink(row_id, sequence, prev_hash, digest))
        prev_hash = digest
    return links


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
