"""Settings every service shares; each service subclasses with its own env prefix."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from jemput.shared.security.development import DEV_ISSUER, is_development_key_file

MIB = 1024 * 1024


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


# Where the test-only self-kill switch (`crash_at`) may be set.
FAULT_INJECTION_ENVIRONMENTS = (Environment.DEVELOPMENT, Environment.TEST)


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
    # Refused outside development and test: one stray variable would take production down.
    crash_at: str | None = None

    # Authentication. Bearer JWTs are checked against a JWKS URL (the identity provider's,
    # e.g. Keycloak's .../protocol/openid-connect/certs) or one PEM public key file; API keys
    # against a JSON file of hashed keys. Outside development at least one must be set.
    auth_jwks_url: str | None = None
    auth_public_key_file: Path | None = None
    auth_issuer: str | None = None
    auth_audience: str = "jemput"
    auth_api_keys_file: Path | None = None
    auth_jwks_cache_seconds: float = Field(default=300, gt=0, le=86_400)
    # Requests per minute per client (per IP for requests that fail to authenticate), per
    # process: with N replicas a client gets up to N times this.
    rate_limit_per_minute: int = Field(default=6000, ge=1, le=10_000_000)
    # Request bodies larger than this are refused with 413 (the register import route allows
    # its own, larger limit).
    max_body_bytes: int = Field(default=MIB, ge=1024, le=1024 * MIB)

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
    def _empty_crash_point_is_none(cls, value: str | None) -> str | None:
        return value or None

    @model_validator(mode="after")
    def _crash_only_in_development_or_test(self) -> Self:
        if self.crash_at is not None and self.environment not in FAULT_INJECTION_ENVIRONMENTS:
            raise ValueError(
                f"environment={self.environment}: crash_at ({self.crash_at!r}) is a test-only "
                "switch that kills the process on purpose; it is refused outside development "
                "and test (unset the *_CRASH_AT variable)"
            )
        return self

    @model_validator(mode="after")
    def _credentials_can_be_checked(self) -> Self:
        if self.auth_jwks_url and self.auth_public_key_file:
            raise ValueError("set auth_jwks_url or auth_public_key_file, not both")
        if self.checks_tokens and not self.auth_issuer:
            raise ValueError(
                "auth_issuer is required with auth_jwks_url or auth_public_key_file: tokens "
                "from any other issuer must be refused"
            )
        if self.allows_development_credentials:
            return self
        if not (self.checks_tokens or self.auth_api_keys_file):
            raise ValueError(
                f"environment={self.environment}: set auth_jwks_url or auth_public_key_file "
                "(and/or auth_api_keys_file); a service outside development does not start "
                "without a way to check its callers"
            )
        if self.auth_public_key_file and is_development_key_file(self.auth_public_key_file):
            raise ValueError(
                f"environment={self.environment}: auth_public_key_file "
                f"{self.auth_public_key_file} is a development key made by `jemput auth init`; "
                "use the identity provider's key"
            )
        if self.auth_issuer == DEV_ISSUER:
            raise ValueError(
                f"environment={self.environment}: auth_issuer {DEV_ISSUER} is the development "
                "issuer of `jemput auth token`"
            )
        return self

    @property
    def checks_tokens(self) -> bool:
        return bool(self.auth_jwks_url or self.auth_public_key_file)

    @property
    def allows_development_credentials(self) -> bool:
        return self.environment in (Environment.DEVELOPMENT, Environment.TEST)

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
