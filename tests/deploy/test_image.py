"""deploy/docker/Dockerfile, checked without Docker: its build stage is replayed on this
machine (the files its COPY lines take, less what .dockerignore leaves out; then its `uv sync`
lines, into a fresh environment), and the result must be what the runtime stage needs: the
service installed from wheels, its migrations, and the command the image runs."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "deploy" / "docker" / "Dockerfile"
SERVICES = ("residents", "outreach", "inventory", "analytics")


@dataclass
class Stage:
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, keyword: str) -> list[str]:
        return [arguments for word, arguments in self.instructions if word == keyword]


def stages(dockerfile: Path) -> dict[str, Stage]:
    """The Dockerfile's stages by name, each with its instructions (continuations joined)."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text())
    found: dict[str, Stage] = {}
    current: Stage | None = None
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        keyword, _, arguments = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            name = arguments.split(" AS ")[-1].strip() if " AS " in arguments else arguments
            current = found[name] = Stage(name)
        elif current is not None:
            current.instructions.append((keyword, arguments.strip()))
    return found


def excluded(relative: PurePosixPath, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether .dockerignore leaves the file out, as Docker decides it: the last matching
    pattern wins, and a pattern that matches a parent folder matches the file."""
    candidates = [
        str(relative),
        *(str(parent) for parent in relative.parents if str(parent) != "."),
    ]
    result = False
    for negated, pattern in patterns:
        if any(pattern.fullmatch(candidate) for candidate in candidates):
            result = not negated
    return result


def ignore_patterns(context: Path) -> list[tuple[bool, re.Pattern[str]]]:
    patterns = []
    for line in (context / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        glob = line.removeprefix("!").strip("/")
        regex = ""
        for piece in re.split(r"(\*\*/|\*\*|\*|\?)", glob):
            regex += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(
                piece, re.escape(piece)
            )
        patterns.append((negated, re.compile(regex)))
    return patterns


def copy_from_context(
    context: Path,
    sources: list[str],
    destination: Path,
    into_folder: bool,
    ignored: list[tuple[bool, re.Pattern[str]]],
) -> None:
    """`COPY sources... destination` as Docker does it: a folder's contents go into the
    destination folder; files the .dockerignore leaves out are not in the context at all."""
    for source in sources:
        origin = context / source
        files = sorted(p for p in origin.rglob("*") if p.is_file()) if origin.is_dir() else [origin]
        for file in files:
            relative = PurePosixPath(file.relative_to(context).as_posix())
            if excluded(relative, ignored):
                continue
            if origin.is_dir():
                target = destination / file.relative_to(origin)
            elif into_folder or len(sources) > 1 or destination.is_dir():
                target = destination / file.name
            else:
                target = destination
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)


def container_path(root: Path, path: str) -> Path:
    return root / path.lstrip("/")


def uv_binary() -> str:
    # `uv run` names itself in UV; else the checkout's own (`make setup` puts it in .tools).
    local = ROOT / ".tools" / "bin" / "uv"
    found = os.environ.get("UV") or (str(local) if local.exists() else shutil.which("uv"))
    if not found:
        pytest.fail(f"uv is missing: run `make setup` (it installs uv as {local})")
    return found


def replay_build_stage(service: str, root: Path) -> Path:
    """Runs the build stage for SERVICE with the container's file system under ROOT; returns
    the environment it made (what the runtime stage copies)."""
    build = stages(DOCKERFILE)["build"]
    ignored = ignore_patterns(ROOT)
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env["PATH"] = f"{Path(uv_binary()).parent}{os.pathsep}{env['PATH']}"
    env["SERVICE"] = service
    workdir = root
    for keyword, arguments in build.instructions:
        if keyword == "ENV":
            for assignment in shlex.split(arguments):
                key, _, value = assignment.partition("=")
                env[key] = value
        elif keyword == "WORKDIR":
            workdir = container_path(root, arguments)
            workdir.mkdir(parents=True, exist_ok=True)
        elif keyword == "COPY" and "--from=" not in arguments:
            *sources, destination = shlex.split(arguments)
            target = (
                workdir / destination
                if not destination.startswith("/")
                else (container_path(root, destination))
            )
            copy_from_context(ROOT, sources, target, destination.endswith("/"), ignored)
        elif keyword == "RUN" and "uv sync" in arguments:
            command = re.sub(r"--mount=\S+", "", arguments)
            venv = container_path(root, env["UV_PROJECT_ENVIRONMENT"])
            run_env = {
                **env,
                "UV_PROJECT_ENVIRONMENT": str(venv),
                # Speed only: the image compiles bytecode and copies files; a test need not.
                "UV_COMPILE_BYTECODE": "0",
                "UV_LINK_MODE": "symlink",
            }
            done = subprocess.run(
                ["bash", "-c", command], cwd=workdir, env=run_env, capture_output=True, text=True
            )
            assert done.returncode == 0, f"{command}\n{done.stdout}{done.stderr}"
    return container_path(root, env["UV_PROJECT_ENVIRONMENT"])


def test_the_runtime_stage_runs_as_the_unprivileged_user() -> None:
    runtime = stages(DOCKERFILE)["runtime"]
    assert runtime.all("USER") == ["10001:10001"]  # runAsUser in deploy/k8s
    assert runtime.all("COPY") == ["--from=build /app/.venv /app/.venv"]
    build = stages(DOCKERFILE)["build"]
    syncs = [run for run in build.all("RUN") if "uv sync" in run]
    assert syncs and all("--locked" in run and "--no-dev" in run for run in syncs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.mark.slow
@pytest.mark.kafka
@pytest.mark.parametrize("service", SERVICES)
def test_the_image_build_installs_a_service_that_migrates_and_serves(
    tmp_path: Path, kafka_bootstrap: str, kafka_namespace: str, service: str
) -> None:
    venv = replay_build_stage(service, tmp_path / "image")
    site = next((venv / "lib").glob("python3*/site-packages"))
    # Installed from wheels, not linked to the source tree: the runtime stage copies only this.
    assert (site / "jemput" / service / "migrations" / "env.py").is_file()
    assert not list(site.glob("*.pth")) or all(
        str(ROOT) not in pth.read_text() for pth in site.glob("*.pth")
    )
    others = set(SERVICES) - {service}
    assert not any((site / "jemput" / other).exists() for other in others)
    assert not (venv / "bin" / "pytest").exists()  # --no-dev

    prefix = f"JEMPUT_{service.upper()}_"
    port = free_port()
    env = {
        "PATH": f"{venv / 'bin'}{os.pathsep}/usr/bin:/bin",
        "HOME": str(tmp_path),
        f"{prefix}DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'data' / service}.db",
        f"{prefix}HTTP_PORT": str(port),
        f"{prefix}KAFKA_BOOTSTRAP_SERVERS": kafka_bootstrap,
        f"{prefix}KAFKA_NAMESPACE": kafka_namespace,
        f"{prefix}IMPORT_FOLDER": str(tmp_path / "imports"),
        "JEMPUT_SERVICE": service,  # the image's ENV
    }
    migrate = subprocess.run(
        [str(venv / "bin" / "jemput"), service, "migrate"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr

    # The image's CMD, exactly.
    (cmd,) = stages(DOCKERFILE)["runtime"].all("CMD")
    server = subprocess.Popen(
        json.loads(cmd),
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        # Ready: the database and Kafka answer (the probes' /readyz).
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
                assert time.monotonic() < deadline, "/readyz did not answer 200 within 60 s"
                time.sleep(0.3)
        # It stops on the signal Docker and Kubernetes send, well within their grace period
        # (uvicorn shuts down, then ends by the same signal).
        server.terminate()
        assert server.wait(timeout=30) in (0, -signal.SIGTERM)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()


def test_the_dockerignore_leaves_out_what_the_image_must_not_hold() -> None:
    ignored = ignore_patterns(ROOT)
    kept = [
        "pyproject.toml",
        "uv.lock",
        "shared/pyproject.toml",
        "services/residents/src/jemput/residents/migrations/env.py",
        "shared/src/jemput/shared/reference/data/wilayah.csv",
    ]
    left_out = [
        ".venv/bin/python",
        ".tools/bin/uv",
        "var/residents.db",
        "var/auth/dev-signing-key.pem",
        "services/residents/tests/test_api.py",
        "shared/src/jemput/shared/__pycache__/cli.cpython-311.pyc",
        "deploy/k8s/overlays/production/secrets/api-keys.json",
        ".git/config",
    ]
    for path in kept:
        assert not excluded(PurePosixPath(path), ignored), path
    for path in left_out:
        assert excluded(PurePosixPath(path), ignored), path
