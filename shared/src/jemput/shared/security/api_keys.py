"""API keys for simple clients (`X-API-Key`), kept in a JSON file of hashed entries (an ops
Secret or ConfigMap in Kubernetes):

    [{"client_id": "dukcapil-kiosk", "key_sha256": "<hex>", "scopes": ["residents:status"],
      "areas": ["16.02.05"]}]

Only the SHA-256 of a key is stored: a key is 32 random bytes, so a fast hash is enough (there
is nothing to guess that a slow hash would protect). The file is read again when it changes.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError

from jemput.shared.reference.areas import AreaCode
from jemput.shared.security.errors import AuthConfigurationError
from jemput.shared.security.principal import Principal

log = structlog.get_logger(__name__)

KEY_PREFIX = "jk_"
MAX_KEY_LENGTH = 128
RECHECK_SECONDS = 30.0


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKeyEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    client_id: str = Field(min_length=1, max_length=128)
    key_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    scopes: list[str] = Field(default_factory=list)
    areas: list[AreaCode] | None = None
    # Written by `jemput auth init`; a production service refuses to start with such an entry.
    development: bool = False

    def principal(self) -> Principal:
        return Principal(
            client_id=self.client_id,
            scopes=frozenset(self.scopes),
            areas=None if self.areas is None else tuple(self.areas),
            kind="api_key",
        )


ENTRIES = TypeAdapter(list[ApiKeyEntry])


def read_entries(path: Path) -> list[ApiKeyEntry]:
    """The file's entries (blocking: call in a thread from async code)."""
    try:
        return ENTRIES.validate_json(path.read_bytes())
    except OSError as exc:
        raise AuthConfigurationError(
            f"auth_api_keys_file {path} cannot be read: {exc.strerror}"
        ) from exc
    except ValidationError as exc:
        # The error count and places only: the entries hold no secrets, but keep it short.
        places = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
        raise AuthConfigurationError(
            f"auth_api_keys_file {path} is not a list of API key entries ({places})"
        ) from exc


class ApiKeyStore:
    def __init__(
        self,
        path: Path,
        *,
        allow_development_keys: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self._allow_development_keys = allow_development_keys
        self._clock = clock
        self._entries: Sequence[ApiKeyEntry] = ()
        self._mtime_ns: int | None = None
        self._checked_at = 0.0

    async def load(self) -> None:
        """Read the file; raises `AuthConfigurationError` (the service must not start)."""
        mtime_ns = await asyncio.to_thread(self._mtime)
        entries = await asyncio.to_thread(read_entries, self.path)
        development = [e.client_id for e in entries if e.development]
        if development and not self._allow_development_keys:
            raise AuthConfigurationError(
                f"auth_api_keys_file {self.path} holds development keys made by "
                f"`jemput auth init` ({', '.join(development)}), refused outside development"
            )
        self._entries, self._mtime_ns, self._checked_at = entries, mtime_ns, self._clock()

    async def principal_for(self, key: str) -> Principal | None:
        await self._reload_if_changed()
        if not key.startswith(KEY_PREFIX) or len(key) > MAX_KEY_LENGTH:
            return None
        digest = hash_api_key(key)
        found = None
        # Every entry is compared, in constant time, so timing tells nothing about the hashes.
        for entry in self._entries:
            if hmac.compare_digest(entry.key_sha256, digest):
                found = entry
        return None if found is None else found.principal()

    async def _reload_if_changed(self) -> None:
        if self._clock() - self._checked_at < RECHECK_SECONDS:
            return
        self._checked_at = self._clock()
        try:
            if await asyncio.to_thread(self._mtime) != self._mtime_ns:
                await self.load()
                log.info("auth.api_keys_reloaded", path=str(self.path))
        except (OSError, AuthConfigurationError) as exc:
            # Keep the keys we have: a half-written file must not lock every client out.
            log.error("auth.api_keys_reload_failed", path=str(self.path), error=str(exc))

    def _mtime(self) -> int:
        try:
            return self.path.stat().st_mtime_ns
        except OSError as exc:
            raise AuthConfigurationError(
                f"auth_api_keys_file {self.path} cannot be read: {exc.strerror}"
            ) from exc


def write_entries(path: Path, entries: Sequence[ApiKeyEntry]) -> None:
    """Replace the file at once (write beside it, then rename): a service reading it never
    sees half a file. Blocking: for the CLI."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(ENTRIES.dump_json(list(entries), indent=2) + b"\n")
    partial.replace(path)
