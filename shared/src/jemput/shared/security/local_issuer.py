"""A token issuer on this machine, for development and tests: an RSA key pair in files and
RS256 access tokens shaped like the identity provider's (client credentials)."""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from jemput.shared.security.development import (
    DEV_ISSUER,
    DEV_MARK,
    DEV_PUBLIC_KEY_FILE,
    DEV_SIGNING_KEY_FILE,
)
from jemput.shared.security.tokens import ALGORITHM, AREAS_CLAIM

RSA_BITS = 2048


class LocalIssuer:
    def __init__(
        self,
        private_key: rsa.RSAPrivateKey,
        *,
        issuer: str = DEV_ISSUER,
        audience: str = "jemput",
        key_id_prefix: str = DEV_MARK,
    ) -> None:
        self.private_key = private_key
        self.issuer = issuer
        self.audience = audience
        digest = hashlib.sha256(self.public_pem()).hexdigest()[:16]
        self.key_id = key_id_prefix + digest

    @classmethod
    def generate(cls, **options: str) -> LocalIssuer:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS), **options)

    @classmethod
    def from_folder(cls, folder: Path, **options: str) -> LocalIssuer:
        """The key pair `jemput auth init` wrote (blocking file I/O: for the CLI and tests)."""
        pem = (folder / DEV_SIGNING_KEY_FILE).read_bytes()
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError(f"{folder / DEV_SIGNING_KEY_FILE} is not an RSA private key")
        return cls(key, **options)

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def private_pem(self) -> bytes:
        return self.private_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def write(self, folder: Path) -> tuple[Path, Path]:
        """Write the private key (readable by its owner only) and the public key."""
        folder.mkdir(parents=True, exist_ok=True)
        private, public = folder / DEV_SIGNING_KEY_FILE, folder / DEV_PUBLIC_KEY_FILE
        descriptor = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(self.private_pem())
        public.write_bytes(self.public_pem())
        return private, public

    def token(
        self,
        client_id: str,
        scopes: Iterable[str],
        *,
        areas: Iterable[str] | None = None,
        lifetime: timedelta = timedelta(minutes=60),
        now: datetime | None = None,
        **extra_claims: object,
    ) -> str:
        issued = now or datetime.now(UTC)
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": client_id,
            "azp": client_id,
            "client_id": client_id,
            "scope": " ".join(scopes),
            "iat": issued,
            "nbf": issued,
            "exp": issued + lifetime,
        }
        if areas is not None:
            claims[AREAS_CLAIM] = list(areas)
        claims.update(extra_claims)
        return jwt.encode(
            claims, self.private_key, algorithm=ALGORITHM, headers={"kid": self.key_id}
        )
