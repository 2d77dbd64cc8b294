#!/usr/bin/env bash
# Make sure Debian's Chromium is installed for the browser tests (Playwright drives
# /usr/bin/chromium; `playwright install` would download a browser, which we do not).
#
#   deploy/browser/chromium.sh ensure    install the Debian package 'chromium' if missing (root)
#   deploy/browser/chromium.sh path      print the browser's path
set -euo pipefail

CHROMIUM=${JEMPUT_CHROMIUM:-/usr/bin/chromium}

log() { echo "chromium.sh: $*" >&2; }
die() { log "$*"; exit 1; }

ensure() {
    if [[ -x $CHROMIUM ]]; then
        return 0
    fi
    [[ $(id -u) -eq 0 ]] ||
        die "$CHROMIUM not found. Install it first (Debian: sudo apt-get install -y chromium)."
    command -v apt-get >/dev/null 2>&1 || die "apt-get not available; install Chromium and set JEMPUT_CHROMIUM"
    log "$CHROMIUM not found; installing the Debian package 'chromium' ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium >/dev/null
    [[ -x $CHROMIUM ]] || die "installed 'chromium', but $CHROMIUM is still missing"
    log "installed $("$CHROMIUM" --version 2>/dev/null || echo chromium)"
}

case ${1:-} in
    ensure) ensure ;;
    path) echo "$CHROMIUM" ;;
    *) die "usage: $0 ensure|path" ;;
esac
