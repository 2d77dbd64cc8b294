from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from jemput.shared.security.api_keys import (
    RECHECK_SECONDS,
    ApiKeyEntry,
    ApiKeyStore,
    hash_api_key,
    new_api_key,
    write_entries,
)
from jemput.shared.security.errors import AuthConfigurationError


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def entry(key: str, client_id: str, **fields: object) -> ApiKeyEntry:
    return ApiKeyEntry.model_validate(
        {"client_id": client_id, "key_sha256": hash_api_key(key), "scopes": ["admin"], **fields}
    )


def test_keys_are_random_prefixed_and_stored_as_sha256() -> None:
    key = new_api_key()
    assert key.startswith("jk_") and len(key) >= 40
    assert new_api_key() != key
    assert len(hash_api_key(key)) == 64 and key not in hash_api_key(key)


async def test_a_good_key_is_its_client_and_a_bad_one_nobody(tmp_path: Path) -> None:
    kiosk_key, staff_key = new_api_key(), new_api_key()
    path = tmp_path / "api-keys.json"
    write_entries(
        path,
        [
            entry(kiosk_key, "kiosk", scopes=["residents:status"]),
            entry(staff_key, "kayuagung", scopes=["residents:read"], areas=["16.02.05"]),
        ],
    )
    store = ApiKeyStore(path, allow_development_keys=False)
    await store.load()
    kiosk = await store.principal_for(kiosk_key)
    assert kiosk is not None
    assert (kiosk.client_id, kiosk.scopes, kiosk.areas) == (
        "kiosk",
        frozenset({"residents:status"}),
        None,
    )
    assert kiosk.kind == "api_key"
    staff = await store.principal_for(staff_key)
    assert staff is not None and staff.areas == ("16.02.05",)
    assert await store.principal_for(new_api_key()) is None
    assert await store.principal_for(kiosk_key[:-1]) is None
    assert await store.principal_for("not-a-key") is None


async def test_development_keys_stop_a_production_start(tmp_path: Path) -> None:
    path = tmp_path / "api-keys.json"
    write_entries(path, [entry(new_api_key(), "dev-admin", development=True)])
    with pytest.raises(AuthConfigurationError, match="development keys"):
        await ApiKeyStore(path, allow_development_keys=False).load()
    await ApiKeyStore(path, allow_development_keys=True).load()


async def test_a_malformed_or_missing_file_stops_the_start(tmp_path: Path) -> None:
    path = tmp_path / "api-keys.json"
    path.write_text(json.dumps([{"client_id": "x", "key_sha256": "plaintext-key"}]))
    with pytest.raises(AuthConfigurationError, match="not a list of API key entries"):
        await ApiKeyStore(path, allow_development_keys=False).load()
    with pytest.raises(AuthConfigurationError, match="cannot be read"):
        await ApiKeyStore(tmp_path / "missing.json", allow_development_keys=False).load()


async def test_the_file_is_read_again_when_it_changes(tmp_path: Path) -> None:
    old_key, new_key = new_api_key(), new_api_key()
    path = tmp_path / "api-keys.json"
    write_entries(path, [entry(old_key, "old")])
    clock = Clock()
    store = ApiKeyStore(path, allow_development_keys=False, clock=clock)
    await store.load()
    write_entries(path, [entry(new_key, "new")])
    os.utime(path, ns=(1, 1))  # a different mtime, whatever the file system's resolution
    assert await store.principal_for(new_key) is None  # not checked again yet
    clock.now += RECHECK_SECONDS + 1
    assert await store.principal_for(new_key) is not None
    assert await store.principal_for(old_key) is None

    path.write_text("{half a file")
    os.utime(path, ns=(2, 2))
    clock.now += RECHECK_SECONDS + 1
    assert await store.principal_for(new_key) is not None  # a broken file keeps the old keys
