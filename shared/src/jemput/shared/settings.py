"""Settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class ServiceSettings(BaseSettings):
    """Base for `ResidentsSettings`, `AnalyticsSettings`, ...

    Subclasses set `model_config = SettingsConfigDict(env_prefix="JEMPUT_<NAME>_")` and a default
    database file. Bad values fail at start-up, not at first use.
    """

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    service_name: str = "jemput"
    environment: Environment = Environment.DEVELOPMENT
    http_port: int = Field(default=8000, ge=1, le=65535)
    database_url: str = "sqlite+aiosqlite:///var/jemput.db"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Prefixes every topic and consumer group: lets tests and parallel environments share a broker.
    kafka_namespace: str = ""
    kafka_topic_partitions: int = Field(default=3, ge=1, le=1024)
    consumer_enabled: bool = True
    relay_enabled: bool = True
    consumer_batch_size: int = Field(default=500, ge=1, le=10_000)
    consumer_max_attempts: int = Field(default=3, ge=1, le=20)
    relay_batch_size: int = Field(default=5000, ge=1, le=50_000)
    relay_poll_interval_seconds: float = Field(default=0.05, gt=0, le=10)
    log_level: str = "INFO"
    log_json: bool = True
    # Test-only fault injection: the process kills itself at this named point (see faults.py).
    crash_at: str | None = None

    @field_validator("database_url")
    @classmethod
    def _async_driver_only(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError(
                "database_url must use an async driver: sqlite+aiosqlite:///path or "
                "postgresql+asyncpg://user:password@host/db"
            )
        return value

    @field_validator("kafka_bootstrap_servers")
    @classmethod
    def _bootstrap_not_empty(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("kafka_bootstrap_servers must name at least one host:port")
        return value

    @field_validator("crash_at")
    @classmethod
    def _crash_only_outside_production(cls, value: str | None) -> str | None:
        return value or None

    def topic(self, service: str) -> str:
        """The topic a service publishes to, e.g. `jemput.residents.v1`."""
        return f"{self.kafka_namespace}jemput.{service}.v1"

    @property
    def consumer_group(self) -> str:
        return f"{self.kafka_namespace}jemput.{self.service_name}"

    @property
    def dead_letter_topic(self) -> str:
        return f"{self.kafka_namespace}jemput.{self.service_name}.dlq"

    def sqlite_path(self) -> Path | None:
        prefix = "sqlite+aiosqlite:///"
        if self.database_url.startswith(prefix):
            return Path(self.database_url.removeprefix(prefix))
        return None
