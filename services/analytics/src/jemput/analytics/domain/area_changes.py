"""A resident's dated changes to the counts of their area: the ground the per-area aggregates
stand on.

Each count of coverage and the card pipeline (`service_layer/coverage.py`: residents, eligible,
recorded, ...) holds for a resident over one span of days: from the day it starts (a recording
day, a 17th birthday) until the day it stops (a move-out, a card issued ending a SUKET). So a
resident adds +1 to the count on the first day of the span and -1 on the day after it ends.
Summed over the residents of an area, these changes up to a day give the area's count as of
that day, without reading a resident: a birthday that is years away is a change dated then.

When an event changes a resident's facts, the aggregates take `changes(new) - changes(old)`:
as the facts are the same in any order and with repeats (`resident_facts`), so are the sums.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date

from jemput.analytics.domain.resident_facts import ResidentFacts
from jemput.shared.eligibility import eligible_from
from jemput.shared.timezone import office_day

# Before any day that is asked about: a count that holds "always" starts here.
BEGINNING = date.min

# The counts, in the order of `coverage.AreaCounts`; then `awaiting_print` (print-ready, no
# card printed yet: the blanks owed, see `service_layer/stock`); then the two that count a
# resident once, on one day, and never stop: `recorded_day` (recordings per day) and
# `suket_day` (SUKETs issued per day, living here or not, as stock counts them).
MEASURES = (
    "residents",
    "eligible",
    "recorded",
    "print_ready",
    "duplicates",
    "printed",
    "issued",
    "suket_outstanding",
)
AWAITING_PRINT = "awaiting_print"
RECORDED_DAY = "recorded_day"
SUKET_DAY = "suket_day"
ALL_MEASURES = (*MEASURES, AWAITING_PRINT, RECORDED_DAY, SUKET_DAY)


@dataclass(frozen=True, slots=True, order=True)
class ChangeKey:
    village_code: str
    day: date
    measure: str


def _span(start: date | None, end: date | None) -> tuple[date, date | None] | None:
    """[start, end): None when it holds on no day (`end` None: it never stops)."""
    if start is None or (end is not None and end <= start):
        return None
    return start, end


def _earliest(*days: date | None) -> date | None:
    known = [d for d in days if d is not None]
    return min(known) if known else None


def spans(facts: ResidentFacts) -> dict[str, tuple[date, date | None]]:
    """The days each count holds for this resident, as `coverage.measures` decides it for a
    day: a resident the register has not described yet (no birth date) counts nowhere."""
    if facts.birth_date is None or facts.village_code is None:
        return {}
    left = facts.left_on  # not counted from this day on
    found: dict[str, tuple[date, date | None] | None] = {}

    def living_from(start: date | None, end: date | None = None) -> tuple[date, date | None] | None:
        return _span(start, _earliest(end, left))

    found["residents"] = living_from(BEGINNING)
    found["eligible"] = living_from(
        eligible_from(birth_date=facts.birth_date, ever_married=bool(facts.ever_married))
    )
    found["recorded"] = living_from(facts.recorded_on)
    found["print_ready"] = living_from(facts.print_ready_on)
    # A duplicate until a print-ready decision newer than the flag clears it.
    flag = facts.duplicate_at
    if flag is not None and (facts.print_ready_at is None or facts.print_ready_at < flag):
        found["duplicates"] = living_from(office_day(flag))
    found["printed"] = living_from(facts.printed_on)
    found["issued"] = living_from(facts.issued_on)
    # A revocation ends the SUKET unless one was issued again after it (coverage.holds_suket).
    reissued = (
        facts.suket_at is not None
        and facts.suket_revoked_at is not None
        and facts.suket_at > facts.suket_revoked_at
    )
    revoked = None if reissued else facts.suket_revoked_on
    found["suket_outstanding"] = living_from(facts.suket_on, _earliest(facts.issued_on, revoked))
    found[AWAITING_PRINT] = living_from(facts.print_ready_on, facts.printed_on)
    return {name: span for name, span in found.items() if span is not None}


def changes(facts: ResidentFacts | None) -> Counter[ChangeKey]:
    """The resident's changes to the counts of their village (nothing for None: not known)."""
    found: Counter[ChangeKey] = Counter()
    if facts is None or facts.village_code is None:
        return found
    village = facts.village_code
    for measure, (start, end) in spans(facts).items():
        found[ChangeKey(village, start, measure)] += 1
        if end is not None:
            found[ChangeKey(village, end, measure)] -= 1
    # Recordings per day: every resident with a recording day, living here or not, as
    # `progress.daily_recordings` counts them.
    if facts.recorded_on is not None:
        found[ChangeKey(village, facts.recorded_on, RECORDED_DAY)] += 1
    if facts.suket_on is not None:
        found[ChangeKey(village, facts.suket_on, SUKET_DAY)] += 1
    return found


def difference(old: ResidentFacts | None, new: ResidentFacts | None) -> Counter[ChangeKey]:
    """What the aggregates must add when a resident's facts go from `old` to `new` (zeros
    left out)."""
    delta = changes(new)
    delta.subtract(changes(old))
    return Counter({key: n for key, n in delta.items() if n})


def enclosing(village_code: str) -> list[tuple[str, str]]:
    """(area code, parent code) of the village and of each area above it, up to its province
    (whose parent is the nation, ""): the aggregates keep every level, so that a read sums the
    rows of the children of one area, whatever its level."""
    codes = [village_code[:2], village_code[:5], village_code[:8], village_code]
    parents = ["", *codes[:-1]]
    return list(zip(codes, parents, strict=True))


def by_area(delta: Counter[ChangeKey]) -> dict[tuple[str, str, date], dict[str, int]]:
    """The changes per (area code, parent code, day) at every level, each a dict of measure ->
    change (zero-sum areas left out): the rows the aggregates add."""
    # Summed sparse (a key changes one measure), filled out once at the end: a rebuild runs
    # this over every resident, and the profile of a build put nearly all its time here.
    found: dict[tuple[str, str, date], dict[str, int]] = {}
    for key, n in delta.items():
        if not n:
            continue
        for code, parent in enclosing(key.village_code):
            row = found.get((code, parent, key.day))
            if row is None:
                found[code, parent, key.day] = {key.measure: n}
            else:
                row[key.measure] = row.get(key.measure, 0) + n
    return {
        k: {m: row.get(m, 0) for m in ALL_MEASURES} for k, row in found.items() if any(row.values())
    }
