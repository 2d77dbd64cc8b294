"""Outreach service settings (env prefix `JEMPUT_OUTREACH_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from jemput.shared.settings import ServiceSettings


class OutreachSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JEMPUT_OUTREACH_", extra="ignore", frozen=True)

    service_name: str = "outreach"
    http_port: int = 8002
    database_url: str = "sqlite+aiosqlite:///var/outreach.db"
