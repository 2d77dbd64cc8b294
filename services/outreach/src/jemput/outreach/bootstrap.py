"""Composition root of the outreach service: the runtime (database, outbox, the consumer of
the register's events) and the reference data the rules need. Nothing happens at import."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from jemput.outreach.domain.calendar import Holiday
from jemput.outreach.domain.planner import PlannerRules
from jemput.outreach.domain.travel import TravelTimes
from jemput.outreach.reference import load_holidays, load_travel_times
from jemput.outreach.service_layer.register_events import RegisterEventHandlers
from jemput.outreach.service_layer.scheduling import SchedulingRules
from jemput.outreach.settings import OutreachSettings
from jemput.shared.messaging.handlers import EventHandlers
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.settings import ServiceSettings


def bootstrap(settings: ServiceSettings | None = None) -> ServiceRuntime:
    # The residents read model is kept from the register's topic (jemput.residents.v1). The
    # handlers publish through the runtime's own outbox, so they are added once it exists; the
    # consumer reads the map only when the runtime starts.
    handlers = EventHandlers()
    # Recordings, appointments and home visits name residents: reads and changes are audited
    # (UU 27/2022), and the runtime seals the audit log's hash chain in the background.
    runtime = ServiceRuntime.from_settings(
        settings or OutreachSettings(), handlers=handlers, audit_enabled=True
    )
    RegisterEventHandlers(runtime.outbox).register(handlers)
    return runtime


@dataclass(frozen=True, slots=True)
class OutreachConfig:
    """Settings and reference data, read once when the app is built."""

    settings: OutreachSettings
    holidays: dict[date, Holiday]
    travel: TravelTimes

    @property
    def scheduling(self) -> SchedulingRules:
        return SchedulingRules(
            holidays=self.holidays,
            per_kit_daily_rate=self.settings.per_kit_daily_rate,
            regency_code=self.settings.regency_code,
        )

    @property
    def planner(self) -> PlannerRules:
        return PlannerRules(
            per_kit_daily_rate=self.settings.per_kit_daily_rate,
            turnout=self.settings.planner_turnout,
            home_visits_per_day=self.settings.home_visits_per_day,
            travel=self.travel,
        )


def load_config(settings: OutreachSettings) -> OutreachConfig:
    return OutreachConfig(
        settings=settings,
        holidays=load_holidays(),
        travel=load_travel_times(settings.travel_times_file, settings.regency_code),
    )
