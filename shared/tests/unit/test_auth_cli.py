"""`jemput auth init` and `jemput auth token`: development credentials the services accept."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jemput.shared.security.api_keys import ApiKeyStore
from jemput.shared.security.cli import app
from jemput.shared.security.keys import PemKeySource
from jemput.shared.security.tokens import JwtVerifier

runner = CliRunner()


def test_init_is_idempotent_and_prints_the_admin_key_once(tmp_path: Path) -> None:
    folder = tmp_path / "auth"
    first = runner.invoke(app, ["init", "--dir", str(folder)])
    assert first.exit_code == 0, first.output
    assert "dibuat" in first.output
    key = next(w for w in first.output.split() if w.startswith("jk_"))
    assert (folder / "dev-signing-key.pem").stat().st_mode & 0o077 == 0  # owner only
    entries = json.loads((folder / "api-keys.json").read_text())
    assert [(e["client_id"], e["scopes"], e["development"]) for e in entries] == [
        ("dev-admin", ["admin"], True)
    ]
    assert key not in (folder / "api-keys.json").read_text()

    signing_key = (folder / "dev-signing-key.pem").read_bytes()
    again = runner.invoke(app, ["init", "--dir", str(folder)])
    assert again.exit_code == 0 and "sudah ada" in again.output
    assert "jk_" not in again.output
    assert (folder / "dev-signing-key.pem").read_bytes() == signing_key
    assert len(json.loads((folder / "api-keys.json").read_text())) == 1


async def test_tokens_and_keys_it_makes_are_accepted(tmp_path: Path) -> None:
    folder = tmp_path / "auth"
    runner.invoke(app, ["init", "--dir", str(folder)])
    arguments = ["--client", "bpjs", "--scope", "residents:status", "--area", "16.02.05"]
    made = runner.invoke(app, ["token", "--dir", str(folder), *arguments, "--minutes", "5"])
    assert made.exit_code == 0, made.output
    keys = PemKeySource(folder / "dev-signing-key.pub.pem")
    await keys.load()
    principal = await JwtVerifier(keys, issuer="jemput-dev", audience="jemput").verify(
        made.stdout.strip()
    )
    assert (principal.client_id, principal.scopes, principal.areas) == (
        "bpjs",
        frozenset({"residents:status"}),
        ("16.02.05",),
    )

    issued = runner.invoke(
        app, ["api-key", "--dir", str(folder), "--client", "kiosk", "--scope", "residents:status"]
    )
    assert issued.exit_code == 0, issued.output
    store = ApiKeyStore(folder / "api-keys.json", allow_development_keys=True)
    await store.load()
    kiosk = await store.principal_for(issued.stdout.strip())
    assert kiosk is not None and kiosk.client_id == "kiosk"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--scope", "residents:everything"], "Cakupan tidak dikenal"),
        (["--scope", "residents:read", "--area", "99.99"], "Kode wilayah tidak dikenal"),
    ],
)
def test_unknown_scopes_and_areas_are_refused(
    tmp_path: Path, arguments: list[str], message: str
) -> None:
    runner.invoke(app, ["init", "--dir", str(tmp_path)])
    result = runner.invoke(app, ["token", "--dir", str(tmp_path), "--client", "x", *arguments])
    assert result.exit_code == 2
    assert message in result.output


def test_token_without_init_says_what_to_run(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["token", "--dir", str(tmp_path), "--client", "x", "--scope", "admin"]
    )
    assert result.exit_code == 2
    assert "jemput auth init" in result.output
