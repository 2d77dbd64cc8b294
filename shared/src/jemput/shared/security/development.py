"""How development credentials (made by `jemput auth init`) are marked, so that a production
service can recognise and refuse them: file names and key ids start with `dev-`, the issuer is
`jemput-dev`, and API key entries say `"development": true`."""

from __future__ import annotations

from pathlib import Path

DEV_MARK = "dev-"
DEV_ISSUER = "jemput-dev"
DEV_SIGNING_KEY_FILE = "dev-signing-key.pem"
DEV_PUBLIC_KEY_FILE = "dev-signing-key.pub.pem"
API_KEYS_FILE = "api-keys.json"


def is_development_key_file(path: Path) -> bool:
    return path.name.startswith(DEV_MARK)


def is_development_key_id(kid: object) -> bool:
    return isinstance(kid, str) and kid.startswith(DEV_MARK)
