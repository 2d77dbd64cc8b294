"""Checks of the Kemendagri codes outreach is given: villages and bases in the regency."""

from __future__ import annotations

from jemput.outreach.service_layer.problems import field
from jemput.shared.http.problems import FieldProblem
from jemput.shared.reference.areas import AreaLevel, load_area_table


def village_problem(name: str, code: str, regency_code: str) -> FieldProblem | None:
    area = load_area_table().get(code)
    if area is None or area.level is not AreaLevel.VILLAGE:
        return field(name, "unknown_village", f"{name} is not a village in the Kemendagri table")
    if not code.startswith(regency_code + "."):
        return field(name, "village_outside_regency", f"the village is not in {regency_code}")
    return None


def base_problem(name: str, code: str, regency_code: str) -> FieldProblem | None:
    """A team's base: a district or a village of the regency."""
    area = load_area_table().get(code)
    if area is None or area.level not in (AreaLevel.DISTRICT, AreaLevel.VILLAGE):
        return field(
            name, "unknown_area", f"{name} is not a district or village in the Kemendagri table"
        )
    if not code.startswith(regency_code + "."):
        return field(name, "area_outside_regency", f"the area is not in {regency_code}")
    return None


def village_name(code: str) -> str | None:
    area = load_area_table().get(code)
    return area.name if area else None
