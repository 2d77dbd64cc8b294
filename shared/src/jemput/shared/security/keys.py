"""Where the public keys that check bearer tokens come from: a PEM file (here) or a JWKS URL
(`jwks.py`). Only RSA keys: tokens are RS256."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from jemput.shared.security.errors import AuthConfigurationError

MIN_RSA_BITS = 2048


class KeySource(Protocol):
    async def key_for(self, kid: str | None) -> RSAPublicKey:
        """The key that signed a token with this `kid` header; raises `AuthenticationError`
        for an unknown kid, `VerificationUnavailable` when keys cannot be had now."""
        ...


def rsa_public_key(pem: bytes, origin: str) -> RSAPublicKey:
    try:
        key = load_pem_public_key(pem)
    except ValueError as exc:
        raise AuthConfigurationError(f"{origin} is not a PEM public key") from exc
    if not isinstance(key, RSAPublicKey):
        raise AuthConfigurationError(f"{origin} is not an RSA key (tokens are RS256)")
    if key.key_size < MIN_RSA_BITS:
        raise AuthConfigurationError(f"{origin} is shorter than {MIN_RSA_BITS} bits")
    return key


class PemKeySource:
    """One public key from a file, read once at start (a Kubernetes Secret or ConfigMap)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._key: RSAPublicKey | None = None

    async def load(self) -> None:
        try:
            pem = await asyncio.to_thread(self.path.read_bytes)
        except OSError as exc:
            raise AuthConfigurationError(
                f"auth_public_key_file {self.path} cannot be read: {exc.strerror}"
            ) from exc
        self._key = rsa_public_key(pem, f"auth_public_key_file {self.path}")

    async def key_for(self, kid: str | None) -> RSAPublicKey:
        if self._key is None:
            raise AuthConfigurationError("the public key was not loaded; call load() first")
        return self._key
