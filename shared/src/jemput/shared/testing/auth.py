"""Credentials for tests: a key pair made per test session whose public key file the services
under test trust, and tokens signed with it (admin by default)."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from jemput.shared.security.local_issuer import LocalIssuer
from jemput.shared.settings import ServiceSettings

TEST_ISSUER = "jemput-test"
TEST_CLIENT = "test-admin"
TOKEN_LIFETIME = timedelta(hours=12)  # longer than any test session

S = TypeVar("S", bound=ServiceSettings)


class IssuerForTests:
    def __init__(self, folder: Path) -> None:
        self.local = LocalIssuer.generate(issuer=TEST_ISSUER, key_id_prefix="test-")
        folder.mkdir(parents=True, exist_ok=True)
        self.public_key_file = folder / "test-signing-key.pub.pem"
        self.public_key_file.write_bytes(self.local.public_pem())

    def configure(self, settings: S) -> S:
        """The settings, trusting this issuer's tokens."""
        return settings.model_copy(
            update={"auth_public_key_file": self.public_key_file, "auth_issuer": TEST_ISSUER}
        )

    def token(
        self,
        scopes: str | Iterable[str] = "admin",
        *,
        client_id: str = TEST_CLIENT,
        areas: Iterable[str] | None = None,
        lifetime: timedelta = TOKEN_LIFETIME,
    ) -> str:
        scope_list = scopes.split() if isinstance(scopes, str) else list(scopes)
        return self.local.token(client_id, scope_list, areas=areas, lifetime=lifetime)

    def headers(
        self,
        scopes: str | Iterable[str] = "admin",
        *,
        client_id: str = TEST_CLIENT,
        areas: Iterable[str] | None = None,
    ) -> dict[str, str]:
        token = self.token(scopes, client_id=client_id, areas=areas)
        return {"Authorization": f"Bearer {token}"}


@functools.cache
def shared_issuer() -> IssuerForTests:
    """One issuer per test process, for clients that do not bring their own."""
    folder = Path(tempfile.mkdtemp(prefix="jemput-test-auth-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return IssuerForTests(folder)
