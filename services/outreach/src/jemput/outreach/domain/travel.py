"""Travel from the office to a district, and what it costs a team's day."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

# Hours a team records in a field day when it starts at the door.
WORKDAY_HOURS = 8.0
# Beyond half a day's travel a team stays overnight near the village (the office's practice
# for the coast and the swamps), so travel never costs more than half the day.
MAX_HOURS_LOST = WORKDAY_HOURS / 2


@dataclass(frozen=True, slots=True)
class TravelTimes:
    """One-way hours from the office per district code."""

    hours: Mapping[str, float]

    def __post_init__(self) -> None:
        if not self.hours:
            raise ValueError("a travel table needs at least one district")

    def to_district(self, district_code: str) -> float:
        """Hours to the district; one the table does not list counts as the farthest."""
        found = self.hours.get(district_code)
        return found if found is not None else max(self.hours.values())

    def recording_share(self, district_code: str) -> float:
        """The share of a field day left for recording after the trip out."""
        lost = min(self.to_district(district_code), MAX_HOURS_LOST)
        return (WORKDAY_HOURS - lost) / WORKDAY_HOURS
