# shellcheck shell=bash disable=SC2034
# Shared settings and helpers for deploy/prod/*.sh (sourced, not run): the production stack on one machine.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../local/common.sh"

PROD_STATE="$PIVOTRL_STATE/prod"
PROD_LOGS="$PROD_STATE/logs"
PROD_RUN="$PROD_STATE/run"
BIN_DIR="$PIVOTRL_CACHE/bin"

PG_HOST=127.0.0.1
PG_PORT="${PIVOTRL_PG_PORT:-5432}"
PG_USER=temporal
PG_PASSWORD="${PIVOTRL_PG_PASSWORD:-temporal}"
PG_DATA="$PROD_STATE/pg"
PG_SOCKET_DIR="$PROD_STATE/pg-socket"

PROD_TEMPORAL_PORT="${PIVOTRL_PROD_TEMPORAL_PORT:-7243}"
# Frontend membership, then history, matching and worker (gRPC, membership): 7244-7250 by default.
PROD_TEMPORAL_PORT_BASE="${PIVOTRL_PROD_TEMPORAL_PORT_BASE:-7244}"
PROD_TEMPORAL_ADDRESS="127.0.0.1:$PROD_TEMPORAL_PORT"
PROD_NAMESPACE=pivotrl
PROD_RETENTION=7d
PROD_UI_PORT="${PIVOTRL_PROD_UI_PORT:-8243}"
# mTLS: the CA and certificates of deploy/prod/tls.sh; the frontend accepts only clients with a certificate of this CA.
PROD_TLS="$PROD_STATE/tls"
# The scripts' temporal CLI calls connect with the cli certificate (paths only: no key material on a command line).
TEMPORAL_CLI_CONN+=(--tls-ca-path "$PROD_TLS/ca.pem" --tls-cert-path "$PROD_TLS/cli.pem" --tls-key-path "$PROD_TLS/cli.key")
S3_PORT="${PIVOTRL_S3_PORT:-7070}"
S3_ACCESS_KEY="${PIVOTRL_S3_ACCESS_KEY:-pivotrl}"
S3_SECRET_KEY="${PIVOTRL_S3_SECRET_KEY:-pivotrl-secret}"
S3_BUCKET=pivotrl
S3_REGION=us-east-1
S3_ROOT="$PROD_STATE/s3"

# The server's module: its schemas (schema/postgresql/v12) and sample configs.
TEMPORAL_SERVER_VERSION=1.29.1
temporal_module_dir() {
  local d
  d="$(go env GOMODCACHE 2>/dev/null)/go.temporal.io/server@v$TEMPORAL_SERVER_VERSION"
  [ -d "$d/schema/postgresql/v12" ] || die "the Temporal server module sources are not at $d: run deploy/prod/binaries.sh (needs Go)"
  echo "$d"
}

# port_free PORT WHAT: dies, naming the listener, when something already listens on PORT.
port_free() {
  local port=$1 what=$2 who
  command -v ss >/dev/null || die "ss not found: install iproute2"
  who="$(ss -ltnpH "sport = :$port" 2>/dev/null)"
  [ -z "$who" ] && return 0
  die "port $port (for $what) is already in use: $(awk '{print $4, $6}' <<<"$who" | head -n 1 | tr -s ' ')." \
    "Stop that process, or move $what with its PIVOTRL_* port variable (deploy/prod/common.sh)"
}

# live_pid NAME BINARY: the pid in $PROD_RUN/NAME.pid when that process is alive and runs BINARY.
live_pid() {
  local pid
  pid="$(cat "$PROD_RUN/$1.pid" 2>/dev/null)" || return 1
  [ -n "$pid" ] && [ "$(readlink "/proc/$pid/exe" 2>/dev/null)" = "$(readlink -f "$2")" ] || return 1
  echo "$pid"
}

# start_daemon NAME CMD...: starts CMD detached, logging to $PROD_LOGS/NAME.log, pid in $PROD_RUN/NAME.pid.
start_daemon() {
  local name=$1
  shift
  mkdir -p "$PROD_LOGS" "$PROD_RUN"
  setsid "$@" >>"$PROD_LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$PROD_RUN/$name.pid"
}

# wait_until NAME PID SECONDS CHECK...: polls CHECK until it succeeds; dies (with the log's tail) if PID exits or time runs out.
wait_until() {
  local name=$1 pid=$2 seconds=$3 i
  shift 3
  for ((i = 0; i < seconds * 4; i++)); do
    "$@" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PROD_RUN/$name.pid"
      tail -n 15 "$PROD_LOGS/$name.log" >&2
      die "$name exited during start-up; see $PROD_LOGS/$name.log"
    fi
    sleep 0.25
  done
  tail -n 15 "$PROD_LOGS/$name.log" >&2
  die "$name (pid $pid) did not become ready within $seconds s; see $PROD_LOGS/$name.log"
}

# stop_daemon NAME BINARY: SIGTERM, then SIGKILL after 15 s.
stop_daemon() {
  local name=$1 pid
  if ! pid="$(live_pid "$1" "$2")"; then
    rm -f "$PROD_RUN/$name.pid"
    log "$name not running"
    return
  fi
  terminate "$name" "$pid" 15
  rm -f "$PROD_RUN/$name.pid"
}
