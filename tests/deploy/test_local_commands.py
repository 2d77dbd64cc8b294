"""The commands a newcomer is given work in a new shell, where nothing the project installed is
on PATH (uv is in .tools, the CLI in .venv): the token command `make up` prints, the README's
commands of the same form, and `make setup`'s own install of uv with the machine's python3."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path
from types import ModuleType

import pytest

from jemput.shared.security.development import DEV_ISSUER, DEV_PUBLIC_KEY_FILE
from jemput.shared.security.keys import PemKeySource
from jemput.shared.security.tokens import JwtVerifier

ROOT = Path(__file__).resolve().parents[2]
NEW_SHELL_PATH = "/usr/bin:/bin"  # a stock machine's: no ~/.local/bin, no venv
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def load_stack() -> ModuleType:
    spec = importlib.util.spec_from_file_location("local_stack", ROOT / "deploy/local/stack.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def new_shell(line: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": NEW_SHELL_PATH, "HOME": str(home), "LANG": "C.UTF-8"}
    return subprocess.run(
        ["/bin/bash", "-c", line], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


async def verified_client(token: str, auth: Path) -> tuple[str, frozenset[str]]:
    keys = PemKeySource(auth / DEV_PUBLIC_KEY_FILE)
    await keys.load()
    principal = await JwtVerifier(keys, issuer=DEV_ISSUER, audience="jemput").verify(token)
    return principal.client_id, principal.scopes


@pytest.mark.parametrize("where", ["repository", "elsewhere"])
async def test_the_token_command_make_up_prints_works_in_a_new_shell(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    stack = load_stack()
    var = tmp_path / "var"
    stack.init_credentials(var)  # as `make up` does
    cwd = ROOT if where == "repository" else tmp_path
    monkeypatch.chdir(cwd)
    line = stack.token_command(var)  # the very text `make up` prints
    shell = new_shell(f'{line} && printf "%s" "$TOKEN"', cwd, tmp_path)
    assert shell.returncode == 0, f"{line}\n{shell.stderr}"
    client, scopes = await verified_client(shell.stdout, var / "auth")
    assert client == "petugas"
    assert scopes == {"residents:read", "residents:write"}


async def test_the_readmes_token_commands_have_the_printed_form_and_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = load_stack()
    var = tmp_path / "var"
    stack.init_credentials(var)
    monkeypatch.chdir(ROOT)
    printed = re.search(r"\$\((\S+) auth token", stack.token_command(var))
    assert printed and printed.group(1) == "./jemput"
    readme = (ROOT / "README.md").read_text()
    # The docker compose form runs jemput inside a container, where it is installed.
    lines = [
        line
        for line in re.findall(r"^TOKEN=\$\(.*\)$", readme, flags=re.MULTILINE)
        if "docker" not in line
    ]
    assert len(lines) >= 3
    for line in lines:
        program = re.search(r"\$\((\S+) auth token", line)
        assert program and program.group(1) == printed.group(1), line
        # README's commands use var/auth by default; the same line, pointed at this test's.
        line = line.removesuffix(")") + f" --dir {var / 'auth'})"
        shell = new_shell(f'{line} && printf "%s" "$TOKEN"', ROOT, tmp_path)
        assert shell.returncode == 0, f"{line}\n{shell.stderr}"
        await verified_client(shell.stdout, var / "auth")


def test_the_docs_never_tell_a_reader_to_run_a_bare_uv() -> None:
    for doc in DOCS:
        found = re.findall(r"(?<![\w/.-])uv (?:run|sync)\b.*", doc.read_text())
        assert not found, f"{doc.relative_to(ROOT)}: {found}"


def test_make_setup_installs_the_uv_version_the_images_use() -> None:
    makefile = (ROOT / "Makefile").read_text()
    dockerfile = (ROOT / "deploy/docker/Dockerfile").read_text()
    ours = re.search(r"^UV_VERSION := (\S+)$", makefile, flags=re.MULTILINE)
    images = re.search(r"^ARG UV_VERSION=(\S+)$", dockerfile, flags=re.MULTILINE)
    assert ours and images
    assert ours.group(1) == images.group(1)


@pytest.mark.slow
def test_uv_installs_with_only_the_machines_python3_on_path(tmp_path: Path) -> None:
    version = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert version
    tools = tmp_path / "tools"
    install = f"deploy/local/install-uv.sh {tools} {version.group(1)}"
    done = new_shell(install, ROOT, tmp_path)
    assert done.returncode == 0, done.stderr
    uv = new_shell(f"{tools}/bin/uv --version", ROOT, tmp_path)
    assert uv.stdout.startswith(f"uv {version.group(1)}"), uv.stdout + uv.stderr
    # Installed already: a second run is a no-op.
    again = new_shell(install, ROOT, tmp_path)
    assert again.returncode == 0
    assert "Installing" not in again.stderr


def test_without_the_venv_module_setup_says_what_to_install(tmp_path: Path) -> None:
    # Debian's python3 without python3-venv, on a machine where apt-get cannot install it.
    stubs = tmp_path / "bin"
    stubs.mkdir()
    for name in ("python3", "apt-get"):
        (stubs / name).write_text("#!/bin/sh\nexit 1\n")
        (stubs / name).chmod(0o755)
    tools = tmp_path / "tools"
    env_path = f"{stubs}:{NEW_SHELL_PATH}"
    done = subprocess.run(
        ["deploy/local/install-uv.sh", str(tools), "0.13.9"],
        cwd=ROOT,
        env={"PATH": env_path, "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert "apt-get install python3-venv" in done.stderr
    assert not tools.exists()
