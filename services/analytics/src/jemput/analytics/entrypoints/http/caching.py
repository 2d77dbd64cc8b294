"""Conditional requests on answers made of the aggregates: the ETag names the read model's
position (generation and version, `aggregates.position`) and the request's own inputs, so a
client that has the answer already gets 304 after one row read, and any event that changes a
count changes the tag. The JSON answers themselves are kept by their tag too (`Answers`): the
dashboards of a whole office ask the same questions, and between two events the answer to
each costs that one row read. Only `If-None-Match` is honoured: an answer "as of today"
changes at midnight without any event, which a date alone (If-Modified-Since) cannot say.
"""

from __future__ import annotations

import hashlib
from email.utils import format_datetime
from typing import Any

from cachetools import LRUCache
from fastapi import Request, Response
from pydantic import BaseModel

from jemput.analytics.service_layer.aggregates import Position

CONDITIONAL_RESPONSES: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not Modified: the `If-None-Match` tag is the answer's current one"}
}

# Stored by browsers and the dashboard, but asked again each time; the caller's rights shape
# what it may ask, so shared caches keep nothing.
CACHE_CONTROL = "private, no-cache"


def etag(position: Position, *inputs: object) -> str:
    digest = hashlib.sha256(repr((position.generation, position.version, inputs)).encode())
    return f'W/"{digest.hexdigest()[:24]}"'


def _matches(request: Request, tag: str) -> bool:
    header = request.headers.get("if-none-match")
    if header is None:
        return False
    if header.strip() == "*":
        return True
    # Weak comparison (RFC 9110, 13.1.2): W/ prefixes do not count.
    wanted = tag.removeprefix("W/")
    return any(part.strip().removeprefix("W/") == wanted for part in header.split(","))


def headers(position: Position, tag: str) -> dict[str, str]:
    found = {"ETag": tag, "Cache-Control": CACHE_CONTROL, "Vary": "Accept, Authorization"}
    if position.changed_at is not None:
        found["Last-Modified"] = format_datetime(position.changed_at, usegmt=True)
    return found


def not_modified(request: Request, position: Position, tag: str) -> Response | None:
    """A 304 when the client holds this answer already."""
    if _matches(request, tag):
        return Response(status_code=304, headers=headers(position, tag))
    return None


# Answers of a few KB each (a regency's districts, a district's villages).
ANSWERS_KEPT = 512


class Answers:
    """Rendered JSON answers by their ETag, which names everything they are made of (the
    read model's position and the request's inputs), so a kept answer is never stale: a
    changed count changes the tag. Who may ask is checked before, on every request."""

    def __init__(self, size: int = ANSWERS_KEPT) -> None:
        self._kept: LRUCache[str, tuple[bytes, dict[str, str]]] = LRUCache(maxsize=size)

    def get(self, tag: str) -> Response | None:
        found = self._kept.get(tag)
        if found is None:
            return None
        body, answer_headers = found
        return Response(body, media_type="application/json", headers=answer_headers)

    def keep(self, tag: str, answer: BaseModel, answer_headers: dict[str, str]) -> Response:
        body = answer.model_dump_json().encode()
        self._kept[tag] = (body, answer_headers)
        return Response(body, media_type="application/json", headers=answer_headers)


def answers(request: Request) -> Answers:
    kept: Answers = request.app.state.answers
    return kept
