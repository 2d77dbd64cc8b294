"""Cursor pagination for list endpoints: `page_size` + `page_token` in, `next_page_token` out.

A page token is opaque to callers: the URL-safe base64 of the last row's sort key (a JSON
array). The next page starts after that key (keyset pagination), so pages stay fast however deep
a caller goes and rows added meanwhile neither repeat nor get skipped before the cursor.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from jemput.shared.http.problems import FieldProblem, ProblemError

T = TypeVar("T")
R = TypeVar("R")

SortKeyPart = str | int
SortKey = tuple[SortKeyPart, ...]

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500

PageSize = Annotated[
    int,
    Query(ge=1, le=MAX_PAGE_SIZE, description=f"Items per page (1 to {MAX_PAGE_SIZE})."),
]
PageToken = Annotated[
    str | None,
    Query(
        max_length=512,
        description="`next_page_token` of the previous page; omit for the first page.",
    ),
]


class Page(BaseModel, Generic[T]):
    """One page of a list; `next_page_token` is null on the last page."""

    items: list[T]
    next_page_token: str | None = Field(
        description="Pass as `page_token` to read the next page; null when there is none."
    )


def encode_page_token(key: SortKey) -> str:
    raw = json.dumps(list(key), separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_page_token(token: str, *, arity: int = 1) -> SortKey:
    """The sort key in a page token, or a 422 problem if the token was not made by us."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _invalid_token() from None
    if (
        not isinstance(key, list)
        or len(key) != arity
        or not all(isinstance(part, str | int) and not isinstance(part, bool) for part in key)
    ):
        raise _invalid_token()
    return tuple(key)


def cut_page(
    rows: Sequence[R], page_size: int, sort_key: Callable[[R], SortKey]
) -> tuple[list[R], str | None]:
    """The page and the token of the next one. Fetch `page_size + 1` rows in sort order: the
    extra row only tells that there is a next page."""
    items = list(rows[:page_size])
    if len(rows) <= page_size or not items:
        return items, None
    return items, encode_page_token(sort_key(items[-1]))


def _invalid_token() -> ProblemError:
    return ProblemError(
        422,
        "Invalid request",
        "One or more fields are invalid; see `errors`.",
        errors=[
            FieldProblem(
                field="page_token",
                code="invalid_page_token",
                reason="page_token is not a token this list returned; start again without it",
            )
        ],
    )
