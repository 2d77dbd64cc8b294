#!/usr/bin/env bash
# pg.sh - a throwaway local PostgreSQL server for the Jemput tests.
#
# Usage: deploy/postgres/pg.sh {start|stop|status|dsn}
#
#   start    create (initdb) and start the server if needed, then make sure the
#            role "jemput" (password "jemput", superuser) and the databases
#            jemput_residents, jemput_outreach, jemput_inventory and
#            jemput_analytics exist (idempotent)
#   stop     stop the server and delete its data (JEMPUT_PG_KEEP=1 keeps it)
#   status   exit 0 and print the base DSN if running, else exit 1
#   dsn      print the base DSN, e.g. postgresql://jemput:jemput@127.0.0.1:55432/
#            (append the database name)
#
# Environment:
#   JEMPUT_PG_PORT     TCP port on 127.0.0.1 (default 55432)
#   JEMPUT_PG_KEEP=1   with "stop": keep the data folder
#   JEMPUT_PG_DIR      server folder (default /tmp/jemput-pg-<port>)
#   JEMPUT_PG_BIN      folder with pg_ctl/initdb (default: newest
#                      /usr/lib/postgresql/<version>/bin, Debian's layout)
#   JEMPUT_PG_LIBDIR   where Debian's versioned folders live (default /usr/lib/postgresql)
#
# The data is disposable: fsync and full-page writes are off for speed.
set -euo pipefail

PG_PORT=${JEMPUT_PG_PORT:-55432}
[[ $PG_PORT =~ ^[0-9]+$ ]] || { echo "pg.sh: ERROR: JEMPUT_PG_PORT must be a number, got '$PG_PORT'" >&2; exit 1; }
PG_KEEP=${JEMPUT_PG_KEEP:-0}
PG_LIBDIR=${JEMPUT_PG_LIBDIR:-/usr/lib/postgresql}
# Under /tmp rather than the repository: when we run as root the server runs as
# the "postgres" user, which cannot enter a repository cloned into a private
# (0700) folder. The unix socket lives here too.
BASE_DIR=${JEMPUT_PG_DIR:-/tmp/jemput-pg-$PG_PORT}
DATA_DIR=$BASE_DIR/data
LOG_FILE=$BASE_DIR/postgres.log
LOCK_FILE=$BASE_DIR/.pg.sh.lock

DB_USER=jemput
DB_PASSWORD=jemput
DATABASES=(jemput_residents jemput_outreach jemput_inventory jemput_analytics)
DSN="postgresql://$DB_USER:$DB_PASSWORD@127.0.0.1:$PG_PORT/"

START_TIMEOUT=30

log() { printf 'pg.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

is_root() { [[ $(id -u) -eq 0 ]]; }

# --------------------------------------------------------------------------
# binaries

PG_BIN=
find_pg_bin() { # sets PG_BIN; returns 1 if no server binaries are found
    if [[ -n ${JEMPUT_PG_BIN:-} ]]; then
        [[ -x $JEMPUT_PG_BIN/pg_ctl && -x $JEMPUT_PG_BIN/initdb ]] ||
            die "JEMPUT_PG_BIN=$JEMPUT_PG_BIN does not contain pg_ctl and initdb"
        PG_BIN=$JEMPUT_PG_BIN
        return 0
    fi
    local d found=()
    for d in "$PG_LIBDIR"/*/bin; do
        [[ -x $d/pg_ctl && -x $d/initdb && -x $d/psql && -x $d/pg_isready ]] && found+=("$d")
    done
    ((${#found[@]} > 0)) || return 1
    # Several major versions may be installed side by side: take the newest.
    PG_BIN=$(printf '%s\n' "${found[@]}" | sort -V | tail -n 1)
}

install_postgres() {
    log "PostgreSQL server binaries not found in $PG_LIBDIR/*/bin; installing the Debian package 'postgresql' ..."
    command -v apt-get >/dev/null 2>&1 ||
        die "apt-get not available; install the PostgreSQL server (initdb, pg_ctl) and set JEMPUT_PG_BIN"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    # Install postgresql-common first and switch off the creation of the
    # default "main" cluster (the trick the official postgres Docker image
    # uses): we run our own throwaway server, so an auto-started system
    # cluster on port 5432 would only waste memory. Even if one exists, it
    # does not interfere: we use our own data folder and port.
    apt-get install -y --no-install-recommends postgresql-common
    if [[ -f /etc/postgresql-common/createcluster.conf ]]; then
        sed -ri 's/^#?[[:space:]]*create_main_cluster[[:space:]]*=.*/create_main_cluster = false/' \
            /etc/postgresql-common/createcluster.conf
    fi
    apt-get install -y --no-install-recommends postgresql
}

ensure_pg_bin() {
    find_pg_bin && return 0
    is_root ||
        die "PostgreSQL server binaries not found in $PG_LIBDIR/*/bin. Install them first (Debian: sudo apt-get install -y postgresql) or set JEMPUT_PG_BIN."
    install_postgres
    find_pg_bin || die "installed 'postgresql', but still no server binaries in $PG_LIBDIR/*/bin"
}

# --------------------------------------------------------------------------
# running commands as the server's user

# PostgreSQL refuses to run as root, so as root we run the server tools as the
# "postgres" system user (created by the Debian package).
RUN_AS=$(id -un)
setup_user() {
    if is_root; then
        id postgres >/dev/null 2>&1 ||
            die "running as root, but there is no 'postgres' system user to run the server as (install the Debian package 'postgresql')"
        RUN_AS=postgres
    fi
}

as_pg() { # command... : run as the server's user, from a folder it can enter
    # 9>&-: never pass our lock descriptor on (pg_ctl start forks the server).
    if is_root; then
        (cd / && runuser -u postgres -- "$@" 9>&-)
    else
        "$@" 9>&-
    fi
}

# --------------------------------------------------------------------------
# helpers

pg_ready() {
    "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -t 2 >/dev/null 2>&1
}

server_running() { # our server (this data folder) has a live postmaster
    [[ -f $DATA_DIR/postmaster.pid ]] && as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" status >/dev/null 2>&1
}

port_open() {
    # shellcheck disable=SC2016  # $1 is meant to expand in the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$PG_PORT" >/dev/null 2>&1
}

psql_admin() { # psql as the bootstrap superuser over TCP (initdb -A trust)
    "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres
}

show_log_tail() {
    if [[ -s $LOG_FILE ]]; then
        log "last 40 lines of $LOG_FILE:"
        tail -n 40 "$LOG_FILE" >&2
    fi
}

prepare_base_dir() {
    [[ -L $BASE_DIR ]] && die "$BASE_DIR is a symbolic link; refusing to use it"
    if [[ ! -d $BASE_DIR ]]; then
        # 0700: initdb and the unix socket want a private folder.
        install -d -m 0700 -o "$RUN_AS" -g "$(id -gn "$RUN_AS")" "$BASE_DIR"
    fi
    # /tmp is shared: never use a folder someone else created.
    local owner
    owner=$(stat -c %U "$BASE_DIR")
    [[ $owner == "$RUN_AS" ]] ||
        die "$BASE_DIR belongs to '$owner', not '$RUN_AS'; remove it or choose another JEMPUT_PG_PORT"
}

take_lock() {
    # Parallel "start"s (e.g. test workers) must not initdb or CREATE DATABASE
    # twice. The descriptor (9) is closed for pg_ctl (see as_pg), otherwise the
    # server would inherit it and hold the lock for its whole lifetime.
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$LOCK_FILE"
        flock -w 120 9 || die "another pg.sh has held $LOCK_FILE for 120s; giving up"
    fi
}

init_cluster() {
    local major
    major=$("$PG_BIN/pg_ctl" --version | sed -n 's/.* \([0-9][0-9]*\)[.0-9]*.*/\1/p')
    if [[ -f $DATA_DIR/PG_VERSION ]]; then
        # Only possible with JEMPUT_PG_KEEP=1 across a PostgreSQL upgrade.
        [[ $(<"$DATA_DIR/PG_VERSION") == "$major" ]] ||
            die "$DATA_DIR was created by PostgreSQL $(<"$DATA_DIR/PG_VERSION"), binaries are $major; run '$0 stop' to delete it"
        return 0
    fi
    as_pg rm -rf "$DATA_DIR" # leftovers of an interrupted initdb
    log "creating a new PostgreSQL $major cluster in $DATA_DIR"
    local out
    if ! out=$(as_pg "$PG_BIN/initdb" -D "$DATA_DIR" -A trust -U postgres \
        --encoding=UTF8 --locale=C.UTF-8 2>&1); then
        log "initdb with locale C.UTF-8 failed, retrying with locale C"
        as_pg rm -rf "$DATA_DIR"
        out=$(as_pg "$PG_BIN/initdb" -D "$DATA_DIR" -A trust -U postgres \
            --encoding=UTF8 --locale=C 2>&1) || { printf '%s\n' "$out" >&2; die "initdb failed"; }
    fi
    # Appended settings override the defaults earlier in the file. Speed over
    # durability: the data is thrown away after the tests.
    cat >>"$DATA_DIR/postgresql.conf" <<EOF

# ---- added by deploy/postgres/pg.sh (throwaway test server) ----
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$BASE_DIR'
max_connections = 200
shared_buffers = 256MB
fsync = off
synchronous_commit = off
full_page_writes = off
EOF
}

ensure_databases() {
    # The role is a superuser so that tests can create and drop databases.
    # CREATE DATABASE cannot run inside DO/transactions, hence \gexec.
    local names
    names=$(printf "'%s'," "${DATABASES[@]}")
    psql_admin <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$DB_USER') THEN
        CREATE ROLE $DB_USER LOGIN SUPERUSER PASSWORD '$DB_PASSWORD';
    ELSE
        ALTER ROLE $DB_USER LOGIN SUPERUSER PASSWORD '$DB_PASSWORD';
    END IF;
END
\$\$;
SELECT format('CREATE DATABASE %I OWNER $DB_USER', name)
FROM unnest(ARRAY[${names%,}]) AS name
WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = name)
\gexec
SQL
}

# --------------------------------------------------------------------------
# commands

cmd_start() {
    ensure_pg_bin
    setup_user
    prepare_base_dir
    take_lock

    if server_running; then
        local deadline=$((SECONDS + START_TIMEOUT))
        until pg_ready; do
            ((SECONDS < deadline)) || die "the server in $DATA_DIR runs but does not answer on 127.0.0.1:$PG_PORT"
            sleep 0.5
        done
        ensure_databases
        log "PostgreSQL is already running on 127.0.0.1:$PG_PORT (data $DATA_DIR)"
        return 0
    fi

    port_open && die "port $PG_PORT on 127.0.0.1 is already in use by another process (set JEMPUT_PG_PORT)"

    init_cluster
    log "starting PostgreSQL on 127.0.0.1:$PG_PORT (bin $PG_BIN, user $RUN_AS)"
    if ! as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -l "$LOG_FILE" -w -t "$START_TIMEOUT" start >/dev/null; then
        show_log_tail
        die "pg_ctl could not start the server"
    fi

    local deadline=$((SECONDS + START_TIMEOUT))
    until pg_ready; do
        if ((SECONDS >= deadline)); then
            show_log_tail
            die "PostgreSQL did not answer on 127.0.0.1:$PG_PORT within ${START_TIMEOUT}s"
        fi
        sleep 0.5
    done
    ensure_databases
    log "PostgreSQL is up; databases: ${DATABASES[*]}"
    log "DSN: ${DSN}<database>"
}

cmd_stop() {
    if [[ ! -d $BASE_DIR ]]; then
        log "PostgreSQL is not running (no $BASE_DIR)"
        return 0
    fi
    # Stopping needs no install: without binaries nothing of ours can run.
    if find_pg_bin; then
        setup_user
        if server_running; then
            log "stopping PostgreSQL on 127.0.0.1:$PG_PORT ..."
            as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m fast -w -t 60 stop >/dev/null ||
                as_pg "$PG_BIN/pg_ctl" -D "$DATA_DIR" -m immediate -w stop >/dev/null ||
                die "could not stop the server in $DATA_DIR"
            log "PostgreSQL stopped"
        else
            log "PostgreSQL is not running"
        fi
    fi
    if [[ $PG_KEEP == 1 ]]; then
        log "keeping $BASE_DIR (JEMPUT_PG_KEEP=1)"
    else
        rm -rf "$BASE_DIR"
        log "removed $BASE_DIR"
    fi
}

cmd_status() {
    if find_pg_bin && [[ -d $BASE_DIR ]]; then
        setup_user
        if server_running && pg_ready; then
            log "PostgreSQL is running on 127.0.0.1:$PG_PORT (data $DATA_DIR)"
            echo "$DSN"
            return 0
        fi
    fi
    log "PostgreSQL is not running (port $PG_PORT, $BASE_DIR)"
    return 1
}

usage() { # exit code
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit "$1"
}

case ${1:-} in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    dsn) echo "$DSN" ;;
    -h | --help | help) usage 0 ;;
    *)
        log "unknown or missing command '${1:-}'"
        usage 2
        ;;
esac
