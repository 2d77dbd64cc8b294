"""Outreach service settings (env prefix `JEMPUT_OUTREACH_`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from jemput.shared.settings import ServiceSettings


class OutreachSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JEMPUT_OUTREACH_", extra="ignore", frozen=True)

    service_name: str = "outreach"
    http_port: int = 8002
    database_url: str = "sqlite+aiosqlite:///var/outreach.db"
    # The regency the teams serve; sessions are held in its villages only.
    regency_code: str = "16.02"
    # Recordings one working kit makes in a field day; field reports give 50 to 150.
    per_kit_daily_rate: int = Field(default=80, ge=1, le=500)
    # Days from a home-visit request to its deadline, unless the request says otherwise.
    home_visit_deadline_days: int = Field(default=3, ge=1, le=60)
    # Home visits one team makes in a day (a visit is slow: travel house to house, one bed).
    home_visits_per_day: int = Field(default=8, ge=1, le=50)
    # Share of a village's eligible-but-unrecorded residents who come to one drive: the rest
    # are away, at work or did not hear of it. An estimate; tune it from close-out reports.
    planner_turnout: float = Field(default=0.6, gt=0, le=1)
    # CSV `district_code,hours` of travel from the office; empty: the bundled OKI estimate.
    travel_times_file: Path | None = None

    @field_validator("regency_code")
    @classmethod
    def _regency_format(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
            raise ValueError("regency_code must be a Kemendagri regency code such as 16.02")
        return value

    @field_validator("travel_times_file")
    @classmethod
    def _travel_file_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"travel_times_file {value} is not a file")
        return value
