"""Who may call the services and what they may see: authentication (bearer JWTs, API keys),
scopes per capability, areas for district staff, rate and body-size limits.

The guard middleware (`guard.py`) authenticates every request outside the public paths; the
routes declare their scope with `require_scope` (`dependencies.py`) and check areas with
`Principal.may_see`. `jemput auth init|token` (`cli.py`) makes development credentials.
"""

from jemput.shared.security.dependencies import (
    ensure_may_see,
    ensure_may_see_resident,
    principal_of,
    require_scope,
)
from jemput.shared.security.principal import Principal, area_contains
from jemput.shared.security.scopes import Scope

__all__ = [
    "Principal",
    "Scope",
    "area_contains",
    "ensure_may_see",
    "ensure_may_see_resident",
    "principal_of",
    "require_scope",
]
