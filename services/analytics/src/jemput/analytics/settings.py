"""Analytics service settings (env prefix `JEMPUT_ANALYTICS_`)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from jemput.shared.settings import ServiceSettings


class AnalyticsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JEMPUT_ANALYTICS_", extra="ignore", frozen=True)

    service_name: str = "analytics"
    http_port: int = 8004
    database_url: str = "sqlite+aiosqlite:///var/analytics.db"
    coverage_target: float = Field(default=0.95, gt=0, le=1)
