"""Residents service settings (env prefix `JEMPUT_RESIDENTS_`)."""

from __future__ import annotations

from pydantic import field_validator
from pydantic_settings import SettingsConfigDict

from jemput.shared.settings import ServiceSettings


class ResidentsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JEMPUT_RESIDENTS_", extra="ignore", frozen=True)

    service_name: str = "residents"
    http_port: int = 8001
    database_url: str = "sqlite+aiosqlite:///var/residents.db"
    # The regency whose register this is; residents must live in one of its villages.
    regency_code: str = "16.02"
    # Where uploaded register files wait for their import job.
    import_folder: str = "var/imports"

    @field_validator("regency_code")
    @classmethod
    def _regency_format(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
            raise ValueError("regency_code must be a Kemendagri regency code such as 16.02")
        return value
