"""Analytics service settings (env prefix `JEMPUT_ANALYTICS_`)."""

from __future__ import annotations

from datetime import date

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from jemput.shared.settings import ServiceSettings
from jemput.shared.timezone import today_in_office


class AnalyticsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JEMPUT_ANALYTICS_", extra="ignore", frozen=True)

    service_name: str = "analytics"
    http_port: int = 8004
    database_url: str = "sqlite+aiosqlite:///var/analytics.db"
    # The target of every area that has none of its own (`PUT /v1/targets/{area}`).
    coverage_target: float = Field(default=0.95, gt=0, le=1)
    # Default: 31 December of the current year at the office.
    target_due: date | None = None
    # The regency the dashboard opens on and whose areas the data-quality checks cover.
    regency_code: str = Field(default="16.02", pattern=r"^[0-9]{2}\.[0-9]{2}$")
    # Complete days the daily demand for blanks is averaged over: keep it equal to inventory's
    # FORECAST_WINDOW_DAYS, so both services give the same figure.
    demand_window_days: int = Field(default=90, ge=7, le=730)
    # The request to the ministry: keep these equal to inventory's settings of the same names,
    # so both suggest the same quantity.
    ministry_lead_time_days: int = Field(default=30, ge=1, le=365)
    safety_days: int = Field(default=7, ge=0, le=180)
    request_cover_days: int = Field(default=60, ge=1, le=730)

    def default_due(self) -> date:
        return self.target_due or date(today_in_office().year, 12, 31)
