"""`jemput auth init|token|api-key`: credentials for development on this machine. Messages in
Bahasa Indonesia: office staff and developers read them.

    jemput auth init                         # key pair + admin API key under var/auth
    jemput auth token --client puskesmas --scope "residents:status" --area 16.02.05
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer

from jemput.shared.reference.areas import is_area_code, load_area_table
from jemput.shared.security.api_keys import (
    ApiKeyEntry,
    hash_api_key,
    new_api_key,
    read_entries,
    write_entries,
)
from jemput.shared.security.development import (
    API_KEYS_FILE,
    DEV_ISSUER,
    DEV_SIGNING_KEY_FILE,
)
from jemput.shared.security.errors import AuthConfigurationError
from jemput.shared.security.local_issuer import LocalIssuer
from jemput.shared.security.scopes import Scope

DEV_ADMIN = "dev-admin"
DEFAULT_FOLDER = Path("var/auth")

app = typer.Typer(
    help="Kredensial lokal untuk pengembangan: kunci penandatangan token, token, kunci API.",
    no_args_is_help=True,
)

FolderOption = typer.Option(DEFAULT_FOLDER, "--dir", help="Folder kredensial lokal.")
ClientOption = typer.Option(..., "--client", help="Nama klien (client_id).")
ScopeOption = typer.Option(
    ..., "--scope", help='Cakupan dipisah spasi, mis. "residents:read residents:status".'
)
AreaOption = typer.Option(
    None, "--area", help="Kode wilayah Kemendagri yang boleh dilihat (boleh diulang)."
)


@app.command()
def init(folder: Path = FolderOption) -> None:
    """Buat pasangan kunci RSA penandatangan token dan kunci API admin (sekali saja)."""
    if (folder / DEV_SIGNING_KEY_FILE).exists():
        typer.echo(f"Kunci penandatangan sudah ada: {folder / DEV_SIGNING_KEY_FILE}")
    else:
        private, public = LocalIssuer.generate().write(folder)
        typer.echo(f"Kunci penandatangan dibuat: {private} (kunci publik: {public})")
    keys_file = folder / API_KEYS_FILE
    entries = _entries(keys_file)
    if any(entry.client_id == DEV_ADMIN for entry in entries):
        typer.echo(
            f"Kunci API admin sudah ada di {keys_file} (kuncinya hanya ditampilkan saat dibuat; "
            "buat yang baru dengan `jemput auth api-key`)."
        )
        return
    key = new_api_key()
    admin = ApiKeyEntry(
        client_id=DEV_ADMIN,
        key_sha256=hash_api_key(key),
        scopes=[Scope.ADMIN],
        development=True,
    )
    write_entries(keys_file, [*entries, admin])
    typer.echo(f"Kunci API admin ({DEV_ADMIN}) dibuat; simpan sekarang, tidak ditampilkan lagi:")
    typer.echo(f"  {key}")


@app.command()
def token(
    client: str = ClientOption,
    scope: str = ScopeOption,
    area: list[str] | None = AreaOption,
    minutes: int = typer.Option(60, min=1, max=24 * 60, help="Masa berlaku token (menit)."),
    folder: Path = FolderOption,
) -> None:
    """Cetak token akses (JWT RS256, penerbit jemput-dev) bertanda tangan kunci lokal."""
    scopes = _scopes(scope)
    areas = _areas(area)
    try:
        issuer = LocalIssuer.from_folder(folder, issuer=DEV_ISSUER)
    except FileNotFoundError:
        typer.echo(
            f"Kunci penandatangan tidak ada di {folder}: jalankan `jemput auth init`.", err=True
        )
        raise typer.Exit(2) from None
    typer.echo(issuer.token(client, scopes, areas=areas, lifetime=timedelta(minutes=minutes)))


@app.command("api-key")
def api_key(
    client: str = ClientOption,
    scope: str = ScopeOption,
    area: list[str] | None = AreaOption,
    folder: Path = FolderOption,
) -> None:
    """Buat kunci API baru: hash-nya disimpan di api-keys.json, kuncinya dicetak sekali."""
    keys_file = folder / API_KEYS_FILE
    entries = _entries(keys_file)
    key = new_api_key()
    entry = ApiKeyEntry(
        client_id=client, key_sha256=hash_api_key(key), scopes=_scopes(scope), areas=_areas(area)
    )
    write_entries(keys_file, [*entries, entry])
    typer.echo(f"Kunci API untuk {client} disimpan di {keys_file}; simpan sekarang:", err=True)
    typer.echo(key)


def _scopes(text: str) -> list[str]:
    scopes = text.split()
    known = {str(s) for s in Scope}
    unknown = [s for s in scopes if s not in known]
    if not scopes or unknown:
        typer.echo(
            f"Cakupan tidak dikenal: {' '.join(unknown) or '(kosong)'}. "
            f"Yang dikenal: {' '.join(sorted(known))}.",
            err=True,
        )
        raise typer.Exit(2)
    return scopes


def _areas(codes: list[str] | None) -> list[str] | None:
    if not codes:
        return None
    table = load_area_table()
    unknown = [c for c in codes if not is_area_code(c) or c not in table]
    if unknown:
        typer.echo(f"Kode wilayah tidak dikenal: {', '.join(unknown)}.", err=True)
        raise typer.Exit(2)
    return codes


def _entries(keys_file: Path) -> list[ApiKeyEntry]:
    if not keys_file.exists():
        return []
    try:
        return read_entries(keys_file)
    except AuthConfigurationError as exc:
        typer.echo(f"Berkas kunci API tidak bisa dibaca: {exc}", err=True)
        raise typer.Exit(2) from exc
