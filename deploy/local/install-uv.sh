#!/usr/bin/env bash
# Installs uv VERSION into TOOLS, a virtual environment of the machine's python3 inside the
# checkout: `make setup` then needs nothing on PATH but python3, and nothing it installs goes
# on PATH either. A venv because Debian's python3 refuses `pip install --user` (PEP 668,
# "externally managed environment") but allows one; Debian ships venv's pip in python3-venv,
# installed here when missing and run as root.
#
#   deploy/local/install-uv.sh TOOLS VERSION       (PYTHON overrides python3)
set -euo pipefail

tools=${1:?usage: install-uv.sh TOOLS VERSION}
version=${2:?usage: install-uv.sh TOOLS VERSION}
python=${PYTHON:-python3}
uv="$tools/bin/uv"

case "$("$uv" --version 2>/dev/null || true)" in
"uv $version" | "uv $version "*) exit 0 ;;
esac

if ! command -v "$python" >/dev/null 2>&1; then
  echo "$python not found: install Python 3.11+ (Debian: apt-get install python3 python3-venv)" >&2
  exit 1
fi

make_venv() {
  rm -rf "$tools"
  "$python" -m venv "$tools" >/dev/null 2>&1
}

if ! "$tools/bin/python" -m pip --version >/dev/null 2>&1 && ! make_venv; then
  # Debian's python3 lacks ensurepip (so venv's pip) without the python3-venv package.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing python3-venv (python3 -m venv needs it) ..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq python3-venv >/dev/null 2>&1 \
      || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq python3-venv >/dev/null 2>&1; } \
      || true
  fi
  if ! make_venv; then
    rm -rf "$tools"
    echo "'$python -m venv' failed, so uv cannot be installed into $tools." >&2
    echo "On Debian or Ubuntu install the venv module first: sudo apt-get install python3-venv" >&2
    exit 1
  fi
fi

echo "Installing uv $version into $tools ..." >&2
"$tools/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$version"
