"""What routes share: the clock, the configuration, paging and problem documentation."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends, Request

from jemput.outreach.bootstrap import OutreachConfig
from jemput.outreach.service_layer.problems import field, invalid
from jemput.shared.http.pagination import decode_page_token
from jemput.shared.http.problems import Problem, ProblemError
from jemput.shared.timezone import office_day

# Dates outside these are typing mistakes; refusing them keeps date arithmetic in range.
EARLIEST = date(2000, 1, 1)
LATEST = date(2199, 12, 31)


class Clock:
    """Now, and today in the office (WIB). Tests replace it with a fixed clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return office_day(self.now())


def get_clock() -> Clock:
    return Clock()


def get_config(request: Request) -> OutreachConfig:
    config: OutreachConfig = request.app.state.config
    return config


ClockDep = Annotated[Clock, Depends(get_clock)]
ConfigDep = Annotated[OutreachConfig, Depends(get_config)]


def problem_responses(*codes: int) -> dict[int | str, dict[str, object]]:
    """OpenAPI entries for the problem documents a route may answer with."""
    return {code: {"model": Problem, "content": {"application/problem+json": {}}} for code in codes}


def text_cursor(page_token: str | None) -> str | None:
    if page_token is None:
        return None
    (key,) = decode_page_token(page_token)
    if not isinstance(key, str):
        raise _bad_token()
    return key


def date_cursor(page_token: str | None) -> date | None:
    if page_token is None:
        return None
    (day,) = decode_page_token(page_token)
    try:
        return date.fromisoformat(str(day))
    except ValueError:
        raise _bad_token() from None


def dated_cursor(page_token: str | None) -> tuple[date, str] | None:
    """A (date, id) cursor."""
    if page_token is None:
        return None
    day, key = decode_page_token(page_token, arity=2)
    try:
        return date.fromisoformat(str(day)), str(key)
    except ValueError:
        raise _bad_token() from None


def _bad_token() -> ProblemError:
    return invalid(
        field("page_token", "invalid_page_token", "page_token is not a token this list returned")
    )
