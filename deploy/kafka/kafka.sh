#!/usr/bin/env bash
# kafka.sh - run a real single-node Apache Kafka 4.x broker (KRaft, no ZooKeeper)
# without Docker: the broker jars come from Maven Central (see pom.xml) and the
# broker runs as a plain background JVM.
#
# Usage: deploy/kafka/kafka.sh {fetch|start|stop|status|logs [-f]}
#
#   fetch    download the Kafka jars into <repo>/.cache/kafka/libs (once)
#   start    fetch if needed, format storage if needed, start the broker and
#            wait until it accepts clients (idempotent)
#   stop     stop the broker (SIGTERM, then SIGKILL after KAFKA_STOP_TIMEOUT)
#   status   exit 0 and print the bootstrap address if running, else exit 1
#   logs     print the end of the broker log (-f to follow)
#
# Environment:
#   KAFKA_PORT             client port (default 9092)
#   KAFKA_CONTROLLER_PORT  KRaft controller port (default KAFKA_PORT+1)
#   KAFKA_NUM_PARTITIONS   default partitions of auto-created topics (default 3)
#   KAFKA_HEAP_OPTS        JVM heap options (default "-Xms256m -Xmx768m")
#   KAFKA_OPTS             extra JVM options (optional)
#   KAFKA_START_TIMEOUT    seconds to wait for the broker (default 90)
#   KAFKA_STOP_TIMEOUT     seconds to wait for a clean shutdown (default 30)
#   KAFKA_WIPE=1           with "stop": also delete the instance folder
#   KAFKA_LOG_LINES        lines shown by "logs" (default 100)
#   JEMPUT_VAR             runtime folder (default <repo>/var); the instance
#                          lives in $JEMPUT_VAR/kafka-<port>/
#   JAVA_HOME              used to find java if set
set -euo pipefail

SCRIPT_DIR=$(cd "$(dirname "$0")" && pwd)
REPO_ROOT=$(cd "$(dirname "$0")/../.." && pwd)

POM=$SCRIPT_DIR/pom.xml
LOG4J_CONFIG=$SCRIPT_DIR/log4j2.yaml
# .cache/ is git-ignored: jars and the Maven repository never end up in commits.
CACHE_DIR=$REPO_ROOT/.cache/kafka
LIBS_DIR=$CACHE_DIR/libs
MAVEN_REPO=$REPO_ROOT/.cache/maven

KAFKA_PORT=${KAFKA_PORT:-9092}
KAFKA_CONTROLLER_PORT=${KAFKA_CONTROLLER_PORT:-}
KAFKA_NUM_PARTITIONS=${KAFKA_NUM_PARTITIONS:-3}
KAFKA_HEAP_OPTS=${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m}
KAFKA_OPTS=${KAFKA_OPTS:-}
KAFKA_START_TIMEOUT=${KAFKA_START_TIMEOUT:-90}
KAFKA_STOP_TIMEOUT=${KAFKA_STOP_TIMEOUT:-30}
KAFKA_WIPE=${KAFKA_WIPE:-0}
KAFKA_LOG_LINES=${KAFKA_LOG_LINES:-100}

# Line the broker logs once it is fully up, e.g.
# "[KafkaRaftServer nodeId=1] Kafka Server started (kafka.server.KafkaRaftServer)".
READY_PATTERN='Kafka Server started'

log() { printf 'kafka.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

require_int() { # name value
    [[ $2 =~ ^[0-9]+$ ]] || die "$1 must be a number, got '$2'"
}

require_int KAFKA_PORT "$KAFKA_PORT"
[[ -n $KAFKA_CONTROLLER_PORT ]] || KAFKA_CONTROLLER_PORT=$((KAFKA_PORT + 1))
require_int KAFKA_CONTROLLER_PORT "$KAFKA_CONTROLLER_PORT"
require_int KAFKA_NUM_PARTITIONS "$KAFKA_NUM_PARTITIONS"
require_int KAFKA_START_TIMEOUT "$KAFKA_START_TIMEOUT"
require_int KAFKA_STOP_TIMEOUT "$KAFKA_STOP_TIMEOUT"
[[ $KAFKA_PORT != "$KAFKA_CONTROLLER_PORT" ]] ||
    die "KAFKA_PORT and KAFKA_CONTROLLER_PORT must differ ($KAFKA_PORT)"

VAR_DIR=${JEMPUT_VAR:-$REPO_ROOT/var}
# Absolute path: it is part of the broker command line, which is how we
# recognise "our" broker process later.
[[ $VAR_DIR == /* ]] || VAR_DIR=$PWD/$VAR_DIR
INSTANCE_DIR=$VAR_DIR/kafka-$KAFKA_PORT
DATA_DIR=$INSTANCE_DIR/data
PROPS=$INSTANCE_DIR/server.properties
PID_FILE=$INSTANCE_DIR/kafka.pid
LOG_FILE=$INSTANCE_DIR/kafka.log
# JVM stdout/stderr: normally (almost) empty, but catches JVM start failures
# that happen before log4j is configured.
OUT_FILE=$INSTANCE_DIR/kafka.out
BOOTSTRAP=127.0.0.1:$KAFKA_PORT

# Single source of truth for the version: the pom.
KAFKA_VERSION=$(sed -n 's:.*<kafka\.version>\(.*\)</kafka\.version>.*:\1:p' "$POM")
[[ -n $KAFKA_VERSION ]] || die "cannot read <kafka.version> from $POM"
FETCH_MARKER=$LIBS_DIR/.complete-kafka-$KAFKA_VERSION

JAVA=java
[[ -n ${JAVA_HOME:-} && -x ${JAVA_HOME:-}/bin/java ]] && JAVA=$JAVA_HOME/bin/java

# --------------------------------------------------------------------------
# prerequisites

check_java() {
    command -v "$JAVA" >/dev/null 2>&1 ||
        die "java not found. Kafka $KAFKA_VERSION needs Java 17 or newer (Debian: apt-get install -y openjdk-17-jre-headless)."
    local out version major
    out=$("$JAVA" -version 2>&1) || die "'$JAVA -version' failed: $out"
    # First line looks like: openjdk version "17.0.15" 2025-04-15  (or "1.8.0_392", "21")
    version=$(sed -n 's/.*version "\([^"]*\)".*/\1/p' <<<"$out" | head -n 1)
    [[ $version == 1.* ]] && version=${version#1.}
    major=${version%%[.+_-]*}
    [[ $major =~ ^[0-9]+$ ]] || die "cannot parse the Java version from: ${out%%$'\n'*}"
    ((major >= 17)) ||
        die "Java $major found ($JAVA), but Kafka $KAFKA_VERSION needs Java 17 or newer."
}

check_mvn() {
    command -v mvn >/dev/null 2>&1 ||
        die "mvn (Apache Maven) not found; it is needed once to download the Kafka jars (Debian: apt-get install -y maven)."
}

# --------------------------------------------------------------------------
# helpers

# Exclusive locks (fd 8: jar download, fd 9: this instance) so that parallel
# invocations, e.g. several test workers, do not fetch or start twice. flock is
# part of util-linux; without it we simply run unlocked.
lock_fd() { # fd (already opened by the caller)
    if command -v flock >/dev/null 2>&1; then
        flock -w 600 "$1" || die "another kafka.sh held the lock for 600s; giving up"
    fi
}

port_open() { # port -> 0 if something accepts TCP connections on 127.0.0.1:port
    # shellcheck disable=SC2016  # $1 is meant to expand in the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" >/dev/null 2>&1
}

# True if $1 is the PID of the broker of *this* instance folder (guards against
# stale pid files and PID reuse).
is_our_broker() { # pid
    local pid=$1 cmd
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
    [[ $cmd == *kafka.Kafka* && $cmd == *"$PROPS"* ]]
}

# Print the PID of our broker, from the pid file or, if that is missing or
# stale, by scanning /proc (e.g. after someone deleted the pid file).
find_pid() {
    local pid d
    if [[ -f $PID_FILE ]]; then
        pid=$(<"$PID_FILE")
        if is_our_broker "$pid"; then
            echo "$pid"
            return 0
        fi
    fi
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        if is_our_broker "$pid"; then
            echo "$pid"
            return 0
        fi
    done
    return 1
}

broker_ready() {
    port_open "$KAFKA_PORT" && [[ -f $LOG_FILE ]] && grep -q "$READY_PATTERN" "$LOG_FILE"
}

show_log_tail() {
    if [[ -s $LOG_FILE ]]; then
        log "last 40 lines of $LOG_FILE:"
        tail -n 40 "$LOG_FILE" >&2
    fi
    if [[ -s $OUT_FILE ]]; then
        log "last 40 lines of $OUT_FILE (JVM output):"
        tail -n 40 "$OUT_FILE" >&2
    fi
}

run_tool() { # class args... : run a Kafka command-line class with our classpath
    local cls=$1
    shift
    "$JAVA" -Xmx256m -Dlog4j2.configurationFile="$LOG4J_CONFIG" -Dkafka.logs.dir="$INSTANCE_DIR" \
        -cp "$LIBS_DIR/*" "$cls" "$@"
}

# --------------------------------------------------------------------------
# fetch

libs_complete() {
    [[ -f $FETCH_MARKER && "$(<"$FETCH_MARKER")" == "$(sha256sum <"$POM")" ]]
}

fetch_libs() {
    libs_complete && return 0
    mkdir -p "$CACHE_DIR"
    exec 8>"$CACHE_DIR/.fetch.lock"
    lock_fd 8
    libs_complete && return 0 # another process fetched while we waited
    check_mvn
    log "downloading Apache Kafka $KAFKA_VERSION jars from Maven Central into $LIBS_DIR ..."
    # Fetch into a temporary folder and swap it in at the end, so an interrupted
    # download never looks complete.
    local tmp=$CACHE_DIR/libs.tmp
    rm -rf "$tmp"
    # Output goes to a log file (shown on failure only): even with -q -B,
    # Maven 3.8 prints stray ANSI escape codes.
    local mvn_log=$CACHE_DIR/fetch.log
    if ! mvn -B -q -Dstyle.color=never -f "$POM" dependency:copy-dependencies \
        -DincludeScope=runtime \
        -DoutputDirectory="$tmp" \
        -Dmaven.repo.local="$MAVEN_REPO" >"$mvn_log" 2>&1; then
        tail -n 40 "$mvn_log" >&2
        die "Maven could not download the Kafka jars (is Maven Central reachable?); full output in $mvn_log"
    fi
    ls "$tmp"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1 ||
        die "Maven finished but kafka_2.13-$KAFKA_VERSION.jar is missing in $tmp"
    # The marker holds the pom checksum: editing the pom triggers a new fetch.
    sha256sum <"$POM" >"$tmp/.complete-kafka-$KAFKA_VERSION"
    rm -rf "$LIBS_DIR"
    mv "$tmp" "$LIBS_DIR"
    log "fetched $(find "$LIBS_DIR" -name '*.jar' | wc -l) jars"
}

cmd_fetch() {
    if libs_complete; then
        log "Kafka $KAFKA_VERSION jars already present in $LIBS_DIR"
    else
        fetch_libs
    fi
}

# --------------------------------------------------------------------------
# start

write_properties() {
    # Regenerated on every start so that changed environment settings apply.
    cat >"$PROPS" <<EOF
# Generated by deploy/kafka/kafka.sh - edits are overwritten on the next start.
# Single node in KRaft combined mode: this process is broker and controller.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
controller.listener.names=CONTROLLER

# Loopback only: this broker is for local development and tests.
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT

log.dirs=$DATA_DIR
num.partitions=$KAFKA_NUM_PARTITIONS
auto.create.topics.enable=true

# One broker: every internal topic can only have one replica.
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1

# Consumers in tests should get their partitions immediately (default 3 s).
group.initial.rebalance.delay.ms=0

# Keep the default time-based retention (168 h) but never delete by size.
log.retention.hours=168
log.retention.bytes=-1
EOF
}

format_storage() {
    if [[ -f $DATA_DIR/meta.properties ]]; then
        log "storage already formatted ($DATA_DIR), reusing it"
        return 0
    fi
    local cluster_id
    cluster_id=$(run_tool kafka.tools.StorageTool random-uuid) ||
        die "kafka.tools.StorageTool random-uuid failed"
    log "formatting storage in $DATA_DIR (cluster id $cluster_id)"
    # No --standalone: controller.quorum.voters already defines the quorum.
    run_tool kafka.tools.StorageTool format -t "$cluster_id" -c "$PROPS" >&2 ||
        die "formatting the Kafka storage failed"
}

wait_ready() { # pid
    local pid=$1 deadline=$((SECONDS + KAFKA_START_TIMEOUT))
    log "waiting up to ${KAFKA_START_TIMEOUT}s for the broker on $BOOTSTRAP ..."
    while true; do
        if ! is_our_broker "$pid"; then
            rm -f "$PID_FILE"
            show_log_tail
            die "the broker process ($pid) exited during startup"
        fi
        if broker_ready; then
            log "Kafka $KAFKA_VERSION is up (pid $pid), bootstrap servers: $BOOTSTRAP"
            return 0
        fi
        if ((SECONDS >= deadline)); then
            show_log_tail
            log "the broker (pid $pid) is still running; stop it with: $0 stop"
            die "Kafka did not become ready within ${KAFKA_START_TIMEOUT}s"
        fi
        sleep 1
    done
}

cmd_start() {
    check_java
    fetch_libs
    mkdir -p "$INSTANCE_DIR"
    exec 9>"$INSTANCE_DIR/.lock"
    lock_fd 9

    local pid
    if pid=$(find_pid); then
        if broker_ready; then
            log "Kafka is already running (pid $pid), bootstrap servers: $BOOTSTRAP"
            return 0
        fi
        log "a broker from $INSTANCE_DIR is running (pid $pid) but not ready yet"
        wait_ready "$pid"
        return 0
    fi
    rm -f "$PID_FILE"

    local port
    for port in "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"; do
        ! port_open "$port" ||
            die "port $port on 127.0.0.1 is already in use by another process (set KAFKA_PORT / KAFKA_CONTROLLER_PORT)"
    done

    write_properties
    # Keep the previous run's log aside: readiness is detected by grepping the
    # current log, which must not contain an old "Kafka Server started".
    [[ -f $LOG_FILE ]] && mv -f "$LOG_FILE" "$LOG_FILE.1"
    format_storage

    local heap_opts extra_opts
    read -r -a heap_opts <<<"$KAFKA_HEAP_OPTS"
    read -r -a extra_opts <<<"$KAFKA_OPTS"
    log "starting Kafka $KAFKA_VERSION (KRaft) on $BOOTSTRAP, controller port $KAFKA_CONTROLLER_PORT, data in $INSTANCE_DIR"
    # log4j2.shutdownHookEnabled=false: otherwise log4j's own shutdown hook
    # closes the log while Kafka's hook is still shutting down, and the end of
    # a clean shutdown is missing from kafka.log.
    # setsid + nohup: the broker gets its own session and survives the shell
    # (and CI step) that started it. The small bash wrapper writes its own PID
    # and then exec's java, so the pid file holds the JVM's PID even if setsid
    # had to fork. Lock descriptors 8/9 are closed so the broker does not keep
    # holding our locks.
    # shellcheck disable=SC2016  # $$, $1 and $@ belong to the inner bash
    nohup setsid bash -c 'echo "$$" >"$1"; shift; exec "$@"' kafka-launcher "$PID_FILE" \
        "$JAVA" "${heap_opts[@]}" \
        -server -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -XX:InitiatingHeapOccupancyPercent=35 \
        -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true \
        -Dlog4j2.configurationFile="$LOG4J_CONFIG" -Dkafka.logs.dir="$INSTANCE_DIR" \
        -Dlog4j2.shutdownHookEnabled=false \
        "${extra_opts[@]}" \
        -cp "$LIBS_DIR/*" kafka.Kafka "$PROPS" \
        </dev/null >"$OUT_FILE" 2>&1 8>&- 9>&- &

    # Wait (briefly) for the wrapper to record the PID.
    local i
    for ((i = 0; i < 50; i++)); do
        pid=$(cat "$PID_FILE" 2>/dev/null || true)
        [[ -n $pid ]] && break
        sleep 0.1
    done
    [[ -n $pid ]] || pid=$!
    echo "$pid" >"$PID_FILE"
    wait_ready "$pid"
}

# --------------------------------------------------------------------------
# stop / status / logs

cmd_stop() {
    local pid
    if pid=$(find_pid); then
        log "stopping Kafka (pid $pid) ..."
        kill -TERM "$pid" 2>/dev/null || true
        local deadline=$((SECONDS + KAFKA_STOP_TIMEOUT))
        while is_our_broker "$pid" && ((SECONDS < deadline)); do
            sleep 0.5
        done
        if is_our_broker "$pid"; then
            log "no clean shutdown after ${KAFKA_STOP_TIMEOUT}s, sending SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            while is_our_broker "$pid"; do sleep 0.2; done
        fi
        log "Kafka stopped"
    else
        log "Kafka is not running (nothing to stop for $INSTANCE_DIR)"
    fi
    rm -f "$PID_FILE"
    if [[ $KAFKA_WIPE == 1 && -d $INSTANCE_DIR ]]; then
        rm -rf "$INSTANCE_DIR"
        log "removed $INSTANCE_DIR (KAFKA_WIPE=1)"
    fi
}

cmd_status() {
    local pid
    if pid=$(find_pid); then
        if port_open "$KAFKA_PORT"; then
            log "Kafka is running (pid $pid, data $INSTANCE_DIR)"
            echo "$BOOTSTRAP"
            return 0
        fi
        log "Kafka process $pid exists but does not accept connections on $BOOTSTRAP (starting or stopping?)"
        return 1
    fi
    log "Kafka is not running (port $KAFKA_PORT, $INSTANCE_DIR)"
    return 1
}

cmd_logs() {
    [[ -f $LOG_FILE ]] || die "no log file yet: $LOG_FILE"
    if [[ ${1:-} == -f ]]; then
        exec tail -n "$KAFKA_LOG_LINES" -f "$LOG_FILE"
    fi
    tail -n "$KAFKA_LOG_LINES" "$LOG_FILE"
}

usage() { # exit code
    sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2
    exit "$1"
}

case ${1:-} in
    fetch) cmd_fetch ;;
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    logs) cmd_logs "${2:-}" ;;
    -h | --help | help) usage 0 ;;
    *)
        log "unknown or missing command '${1:-}'"
        usage 2
        ;;
esac
