"""Whom a team can record, by the read model: known to the register, alive and living in
the regency, eligible (or becoming eligible) by the day, and not recorded yet."""

from __future__ import annotations

from datetime import date

from jemput.outreach.adapters.tables import ResidentView
from jemput.outreach.service_layer.problems import field
from jemput.shared.http.problems import FieldProblem


def resident_problems(resident: ResidentView | None, by_day: date) -> list[FieldProblem]:
    """Why the resident cannot be booked for `by_day` (empty: they can). Reasons never
    repeat the NIK or the birth date."""
    if resident is None:
        return [field("nik", "unknown_resident", "the register has no resident with this NIK yet")]
    if not (resident.alive and resident.domiciled):
        return [field("nik", "not_domiciled", "the resident has died or moved out of the regency")]
    if resident.recorded:
        return [field("nik", "already_recorded", "the resident is already recorded")]
    if resident.eligible_from > by_day:
        return [
            field(
                "nik",
                "not_eligible",
                f"the resident is not yet required to hold an e-KTP on {by_day.isoformat()}",
            )
        ]
    return []
