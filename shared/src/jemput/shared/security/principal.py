"""Who is calling: a client with its scopes and, for district staff, the areas it may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from jemput.shared.security.scopes import Scope

CredentialKind = Literal["jwt", "api_key"]
# Where the guard middleware leaves the principal in the ASGI scope. Not `request.state`: a
# lifespan state may be shared between requests (asgi-lifespan does), a principal never.
PRINCIPAL_SCOPE_KEY = "jemput.principal"


def area_contains(outer: str, inner: str) -> bool:
    """`inner` is `outer` or lies under it (Kemendagri codes nest by dotted prefix:
    16.02 ⊃ 16.02.05 ⊃ 16.02.05.1001, but 16.02.05 does not contain 16.02.051)."""
    return inner == outer or inner.startswith(outer + ".")


@dataclass(frozen=True, slots=True)
class Principal:
    client_id: str
    scopes: frozenset[str]
    # The Kemendagri areas this client may see; None means every area.
    areas: tuple[str, ...] | None
    kind: CredentialKind

    def has(self, scope: str) -> bool:
        return scope in self.scopes or Scope.ADMIN in self.scopes

    def may_see(self, area_code: str) -> bool:
        """The area (a village, district, regency ...) lies wholly inside the client's areas."""
        if self.areas is None:
            return True
        return any(area_contains(allowed, area_code) for allowed in self.areas)

    @property
    def limited_to_areas(self) -> bool:
        return self.areas is not None
