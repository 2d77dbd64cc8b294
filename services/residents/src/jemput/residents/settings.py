"""Residents service settings (env prefix `JEMPUT_RESIDENTS_`)."""

from __future__ import annotations

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from jemput.shared.settings import Environment, ServiceSettings


class ResidentsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JEMPUT_RESIDENTS_", extra="ignore", frozen=True)

    service_name: str = "residents"
    http_port: int = 8001
    database_url: str = "sqlite+aiosqlite:///var/residents.db"
    # The regency whose register this is; residents must live in one of its villages.
    regency_code: str = "16.02"
    # Where uploaded register files wait for their import job.
    import_folder: str = "var/imports"
    # Partner webhooks: the background deliverer, its timeout and retries. A failed delivery
    # is retried after about base · 2^(n-1) seconds (at most the cap), then parked.
    webhooks_enabled: bool = True
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=60)
    webhook_max_attempts: int = Field(default=12, ge=1, le=100)
    webhook_backoff_base_seconds: float = Field(default=5.0, gt=0, le=3600)
    webhook_backoff_cap_seconds: float = Field(default=3600.0, gt=0, le=86_400)
    webhook_poll_interval_seconds: float = Field(default=1.0, gt=0, le=60)
    webhook_batch_size: int = Field(default=50, ge=1, le=1000)

    @field_validator("regency_code")
    @classmethod
    def _regency_format(cls, value: str) -> str:
        parts = value.split(".")
        if len(parts) != 2 or not all(p.isdigit() and len(p) == 2 for p in parts):
            raise ValueError("regency_code must be a Kemendagri regency code such as 16.02")
        return value


def allows_local_webhooks(settings: ServiceSettings) -> bool:
    """Development and test: a partner's receiver may be on this machine or the local network
    (plain http to 127.0.0.1 / localhost, internal addresses). Elsewhere it must be https on a
    public address."""
    return settings.environment in (Environment.DEVELOPMENT, Environment.TEST)
