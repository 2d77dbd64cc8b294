"""Outside development a service refuses to start without a way to check callers, or with the
development credentials of `jemput auth init`."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from jemput.shared.settings import ServiceSettings


def production(**fields: object) -> ServiceSettings:
    return ServiceSettings.model_validate({"environment": "production", **fields})


def test_development_starts_without_any_verifier() -> None:
    settings = ServiceSettings()
    assert not settings.checks_tokens and settings.auth_api_keys_file is None
    assert settings.max_body_bytes == 1024 * 1024
    assert settings.auth_audience == "jemput"


def test_production_refuses_to_start_without_a_verifier() -> None:
    with pytest.raises(ValidationError, match="does not start without a way to check"):
        production()


def test_production_refuses_the_development_key_and_issuer() -> None:
    with pytest.raises(ValidationError, match="development key made by `jemput auth init`"):
        production(auth_public_key_file=Path("var/auth/dev-signing-key.pub.pem"), auth_issuer="kc")
    with pytest.raises(ValidationError, match="development issuer"):
        production(auth_public_key_file=Path("/etc/jemput/idp.pem"), auth_issuer="jemput-dev")


def test_token_verification_needs_an_issuer_and_one_key_source() -> None:
    with pytest.raises(ValidationError, match="auth_issuer is required"):
        ServiceSettings(auth_public_key_file=Path("key.pem"))
    with pytest.raises(ValidationError, match="not both"):
        ServiceSettings(
            auth_public_key_file=Path("key.pem"),
            auth_jwks_url="https://sso.example/certs",
            auth_issuer="x",
        )


def test_production_with_an_identity_provider_or_api_keys_starts() -> None:
    keycloak = production(
        auth_jwks_url="https://sso.oki.go.id/realms/oki/protocol/openid-connect/certs",
        auth_issuer="https://sso.oki.go.id/realms/oki",
    )
    assert keycloak.checks_tokens
    assert production(auth_api_keys_file=Path("/etc/jemput/api-keys.json")).auth_api_keys_file


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JEMPUT_DEMO_", extra="ignore", frozen=True)


def test_each_service_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JEMPUT_DEMO_AUTH_PUBLIC_KEY_FILE", "/keys/idp.pem")
    monkeypatch.setenv("JEMPUT_DEMO_AUTH_ISSUER", "https://sso/realms/oki")
    monkeypatch.setenv("JEMPUT_DEMO_RATE_LIMIT_PER_MINUTE", "120")
    monkeypatch.setenv("JEMPUT_OTHER_MAX_BODY_BYTES", "2048")
    settings = DemoSettings()
    assert settings.auth_public_key_file == Path("/keys/idp.pem")
    assert settings.rate_limit_per_minute == 120
    assert settings.max_body_bytes == 1024 * 1024
