"""Now, and today at the office, as a route dependency that tests replace with a fixed clock
(`app.dependency_overrides[get_clock] = lambda: FixedClock(...)`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends

from jemput.shared.timezone import office_day


class Clock:
    """Now, and today in the office (WIB)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def today(self) -> date:
        return office_day(self.now())


def get_clock() -> Clock:
    return Clock()


ClockDep = Annotated[Clock, Depends(get_clock)]
