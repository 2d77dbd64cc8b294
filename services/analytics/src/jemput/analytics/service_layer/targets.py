"""Coverage targets: an area's own, else its nearest enclosing area's, else the settings'."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.analytics.adapters.tables import CoverageTarget, CoverageTargetUpdate
from jemput.analytics.domain.forecast import Target
from jemput.shared.reference.areas import parent_code


class Targets:
    """Every target set, and the default; looked up per area without more queries."""

    def __init__(self, set_targets: dict[str, CoverageTarget], default: Target) -> None:
        self._set = set_targets
        self.default = default

    def for_area(self, code: str) -> tuple[Target, str]:
        """The target and where it comes from: the area code it was set for, or "default"."""
        current: str | None = code
        while current is not None:
            found = self._set.get(current)
            if found is not None:
                return Target(found.share, found.due), current
            current = parent_code(current)
        return self.default, "default"

    def fingerprint(self) -> tuple[object, ...]:
        """What an answer made with these targets depends on (for its ETag)."""
        chosen = sorted((code, t.share, t.due.isoformat()) for code, t in self._set.items())
        return (self.default.share, self.default.due.isoformat(), *chosen)


async def load(session: AsyncSession, default: Target) -> Targets:
    rows = (await session.exec(select(CoverageTarget))).all()
    return Targets({row.area_code: row for row in rows}, default)


async def put(
    session: AsyncSession, area_code: str, wanted: CoverageTargetUpdate, *, by: str
) -> CoverageTarget:
    target = await session.get(CoverageTarget, area_code)
    if target is None:
        target = CoverageTarget(
            area_code=area_code, share=wanted.share, due=wanted.due, updated_by=by
        )
    else:
        target.share, target.due, target.updated_by = wanted.share, wanted.due, by
        target.updated_at = datetime.now(UTC)
    session.add(target)
    return target
