"""The test-only self-kill switch (`crash_at`) is accepted in development and test only."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError
from pydantic_settings import SettingsConfigDict

from jemput.shared.settings import ServiceSettings

PRODUCTION_AUTH = {
    "environment": "production",
    "auth_api_keys_file": Path("/etc/jemput/api-keys.json"),
}


class DemoSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JEMPUT_DEMO_", extra="ignore", frozen=True)


@pytest.mark.parametrize("environment", ["development", "test"])
def test_crash_at_is_accepted_in_development_and_test(environment: str) -> None:
    settings = ServiceSettings.model_validate(
        {"environment": environment, "crash_at": "relay.after_publish"}
    )
    assert settings.crash_at == "relay.after_publish"


def test_production_settings_with_crash_at_fail_to_load() -> None:
    with pytest.raises(ValidationError, match=r"environment=production: crash_at .* refused"):
        ServiceSettings.model_validate({**PRODUCTION_AUTH, "crash_at": "relay.after_publish"})
    # Without it the same settings load; an empty variable is no crash point.
    assert ServiceSettings.model_validate(PRODUCTION_AUTH).crash_at is None
    assert ServiceSettings.model_validate({**PRODUCTION_AUTH, "crash_at": ""}).crash_at is None


def test_the_crash_at_variable_is_refused_in_production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JEMPUT_DEMO_ENVIRONMENT", "production")
    monkeypatch.setenv("JEMPUT_DEMO_AUTH_API_KEYS_FILE", "/etc/jemput/api-keys.json")
    monkeypatch.setenv("JEMPUT_DEMO_CRASH_AT", "consumer.after_db_commit")
    with pytest.raises(ValidationError, match="unset the \\*_CRASH_AT variable"):
        DemoSettings()
