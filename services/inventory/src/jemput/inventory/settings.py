"""Inventory service settings (env prefix `JEMPUT_INVENTORY_`)."""

from __future__ import annotations

from pydantic_settings import SettingsConfigDict

from jemput.shared.settings import ServiceSettings


class InventorySettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="JEMPUT_INVENTORY_", extra="ignore", frozen=True)

    service_name: str = "inventory"
    http_port: int = 8003
    database_url: str = "sqlite+aiosqlite:///var/inventory.db"
