"""What routes share: the clock, the configuration, paging and problem documentation."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import Depends, Request

from jemput.outreach.bootstrap import OutreachConfig
from jemput.outreach.service_layer.problems import field, invalid
from jemput.shared.http.clock import Clock as Clock
from jemput.shared.http.clock import ClockDep as ClockDep
from jemput.shared.http.clock import get_clock as get_clock
from jemput.shared.http.openapi import problem_responses as problem_responses
from jemput.shared.http.openapi import replay_response as replay_response
from jemput.shared.http.pagination import decode_page_token
from jemput.shared.http.problems import ProblemError
from jemput.shared.http.types import EARLIEST as EARLIEST
from jemput.shared.http.types import LATEST as LATEST


def get_config(request: Request) -> OutreachConfig:
    config: OutreachConfig = request.app.state.config
    return config


ConfigDep = Annotated[OutreachConfig, Depends(get_config)]


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
