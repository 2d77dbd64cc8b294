"""Inventory service settings (env prefix `JEMPUT_INVENTORY_`)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from jemput.shared.settings import ServiceSettings


class InventorySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JEMPUT_INVENTORY_", extra="ignore", frozen=True)

    service_name: str = "inventory"
    http_port: int = 8003
    database_url: str = "sqlite+aiosqlite:///var/inventory.db"
    # The regency the office serves: its district offices are stock locations too.
    regency_code: str = "16.02"
    # The forecast: days from a request to the ministry to the blanks' arrival, extra days of
    # demand kept as a safety margin, days of demand a request covers, and the days of
    # history the daily demand is averaged over.
    ministry_lead_time_days: int = Field(default=30, ge=1, le=365)
    safety_days: int = Field(default=7, ge=0, le=180)
    request_cover_days: int = Field(default=60, ge=1, le=730)
    forecast_window_days: int = Field(default=90, ge=7, le=730)

    @field_validator("regency_code")
    @classmethod
    def _regency_format(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) != 2 or not all(len(p) == 2 and p.isdigit() for p in parts):
            raise ValueError("regency_code must be a Kemendagri regency code such as 16.02")
        return value
