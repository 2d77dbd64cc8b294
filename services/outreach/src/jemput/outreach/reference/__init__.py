"""Reference data shipped with the service: holidays and travel times (see README.md)."""

from jemput.outreach.reference.loading import (
    ReferenceDataError,
    load_holidays,
    load_travel_times,
)

__all__ = ["ReferenceDataError", "load_holidays", "load_travel_times"]
