"""Start and stop the four services on this machine (no Docker): `make up` / `make down`.

Each service is migrated, then started as its own uvicorn process with its SQLite file (or the
database URLs in the environment) under the var folder; `up` waits until every service answers
/readyz and prints the URLs. Callers authenticate: `up` first makes local credentials with
`jemput auth init` (a token signing key pair and an admin API key under var/auth) and points the
services at them, unless the environment names an identity provider (..._AUTH_JWKS_URL).
Messages are in Bahasa Indonesia for office staff.

    python deploy/local/stack.py up|down|status [--var DIR] [--base-port 8001]
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from jemput.shared.security.development import API_KEYS_FILE, DEV_ISSUER, DEV_PUBLIC_KEY_FILE

SERVICES = ("residents", "outreach", "inventory", "analytics")
ROOT = Path(__file__).resolve().parents[2]


def _paths(var: Path, service: str) -> tuple[Path, Path]:
    return var / "run" / f"{service}.pid", var / "log" / f"{service}.log"


def _env(var: Path, service: str, kafka: str) -> dict[str, str]:
    env = dict(os.environ)
    prefix = f"JEMPUT_{service.upper()}_"
    env.setdefault(f"{prefix}DATABASE_URL", f"sqlite+aiosqlite:///{var / (service + '.db')}")
    env.setdefault(f"{prefix}KAFKA_BOOTSTRAP_SERVERS", kafka)
    if f"{prefix}AUTH_JWKS_URL" not in env:
        auth = _auth_folder(var)
        env.setdefault(f"{prefix}AUTH_PUBLIC_KEY_FILE", str(auth / DEV_PUBLIC_KEY_FILE))
        env.setdefault(f"{prefix}AUTH_ISSUER", DEV_ISSUER)
    env.setdefault(f"{prefix}AUTH_API_KEYS_FILE", str(_auth_folder(var) / API_KEYS_FILE))
    return env


def _auth_folder(var: Path) -> Path:
    return var / "auth"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _read_pid(pid_file: Path) -> int | None:
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


JEMPUT = [sys.executable, "-m", "jemput.shared.cli"]


def init_credentials(var: Path) -> None:
    """`jemput auth init` under VAR: idempotent, so the keys of an earlier `up` stay and tokens
    made then keep working."""
    print("Kredensial lokal:", flush=True)
    subprocess.run([*JEMPUT, "auth", "init", "--dir", str(_auth_folder(var))], check=True)


def up(var: Path, base_port: int, kafka: str, timeout: float) -> int:
    jemput = JEMPUT
    init_credentials(var)
    urls: dict[str, str] = {}
    for offset, service in enumerate(SERVICES):
        pid_file, log_file = _paths(var, service)
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        log_file.parent.mkdir(parents=True, exist_ok=True)
        port = base_port + offset
        urls[service] = f"http://127.0.0.1:{port}"
        if _read_pid(pid_file):
            print(f"{service}: sudah berjalan ({urls[service]})")
            continue
        env = _env(var, service, kafka)
        print(f"{service}: migrasi basis data ...", flush=True)
        with log_file.open("ab") as log:
            subprocess.run(
                [*jemput, service, "migrate"], env=env, check=True, stdout=log, stderr=log
            )
            process = subprocess.Popen(
                [*jemput, service, "serve", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=log,
                start_new_session=True,  # survives the shell that ran `make up`
            )
        pid_file.write_text(str(process.pid))
    deadline = time.monotonic() + timeout
    waiting = dict(urls)
    while waiting and time.monotonic() < deadline:
        for service, url in list(waiting.items()):
            pid = _read_pid(_paths(var, service)[0])
            if pid is None:
                print(f"{service}: proses berhenti; lihat {_paths(var, service)[1]}")
                return 1
            if _ready(url):
                del waiting[service]
        time.sleep(0.3)
    if waiting:
        print("Belum siap: " + ", ".join(waiting) + f" (log di {var / 'log'})")
        return 1
    print("\nJemput berjalan:")
    for service, url in urls.items():
        print(f"  {service:<10} {url}   (dokumentasi API: {url}/docs)")
    _print_how_to_call(var, urls["residents"])
    print(f"\nLog: {var / 'log'}. Hentikan dengan: make down")
    return 0


def cli_command() -> str:
    """How a shell in the repository runs this checkout's `jemput`: the ./jemput wrapper, which
    needs nothing on PATH (uv is in .tools and the CLI in .venv, neither on PATH)."""
    if Path.cwd().resolve() == ROOT:
        return "./jemput"
    return shlex.quote(str(ROOT / "jemput"))


def token_command(var: Path) -> str:
    """The token command `up` prints, a line to paste into a new shell."""
    auth = shlex.quote(str(_auth_folder(var)))
    return (
        f"TOKEN=$({cli_command()} auth token --dir {auth} --client petugas "
        '--scope "residents:read residents:write")'
    )


def _print_how_to_call(var: Path, residents: str) -> None:
    print("\nAPI memerlukan kredensial. Token akses (berlaku 60 menit) untuk, misalnya, petugas:")
    print(f"  {token_command(var)}")
    print(f'  curl -H "Authorization: Bearer $TOKEN" {residents}/v1/residents')
    print("Atau kunci API admin yang dicetak sekali oleh `jemput auth init`:")
    print(f'  curl -H "X-API-Key: jk_..." {residents}/v1/residents')


def down(var: Path) -> int:
    for service in SERVICES:
        pid_file, _ = _paths(var, service)
        pid = _read_pid(pid_file)
        if pid is None:
            pid_file.unlink(missing_ok=True)
            continue
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)
        pid_file.unlink(missing_ok=True)
        print(f"{service}: dihentikan")
    return 0


def status(var: Path) -> int:
    running = 0
    for service in SERVICES:
        pid = _read_pid(_paths(var, service)[0])
        state = f"berjalan (pid {pid})" if pid else "tidak berjalan"
        print(f"{service:<10} {state}")
        running += pid is not None
    return 0 if running == len(SERVICES) else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=("up", "down", "status"))
    parser.add_argument(
        "--var", type=Path, default=Path(os.environ.get("JEMPUT_VAR", ROOT / "var"))
    )
    parser.add_argument(
        "--base-port", type=int, default=int(os.environ.get("JEMPUT_BASE_PORT", 8001))
    )
    parser.add_argument(
        "--kafka", default=os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092")
    )
    parser.add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args()
    var = args.var.resolve()
    if args.command == "up":
        return up(var, args.base_port, args.kafka, args.timeout)
    if args.command == "down":
        return down(var)
    return status(var)


if __name__ == "__main__":
    sys.exit(main())
