# shellcheck shell=bash disable=SC2034
# Shared settings and helpers for deploy/prod/*.sh (sourced, not run): the production stack on one machine.
# shellcheck source-path=SCRIPTDIR
source "$(dirname "${BASH_SOURCE[0]}")/../local/common.sh"

PROD_STATE="$PIVOTRL_STATE/prod"
PROD_LOGS="$PROD_STATE/logs"
PROD_RUN="$PROD_STATE/run"
BIN_DIR="$PIVOTRL_CACHE/bin"

# Where the stack's services listen (the Temporal frontend, the UI's login proxy, S3): one address, loopback by default.
# 0.0.0.0 opens them to every network; the clients of this machine then use loopback. PostgreSQL and the UI server
# behind the proxy stay on loopback whatever it is (only this machine's services talk to them).
BIND_ADDRESS="${PIVOTRL_BIND_ADDRESS:-127.0.0.1}"
[[ "$BIND_ADDRESS" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ ]] ||
  die "PIVOTRL_BIND_ADDRESS='$BIND_ADDRESS': expected an IPv4 address (127.0.0.1, the default; a host address; or 0.0.0.0 for all)"
CLIENT_HOST="$BIND_ADDRESS"
[ "$BIND_ADDRESS" != 0.0.0.0 ] || CLIENT_HOST=127.0.0.1

PG_HOST=127.0.0.1
PG_PORT="${PIVOTRL_PG_PORT:-5432}"
PG_USER=temporal
PG_DATA="$PROD_STATE/pg"
PG_SOCKET_DIR="$PROD_STATE/pg-socket"

PROD_TEMPORAL_PORT="${PIVOTRL_PROD_TEMPORAL_PORT:-7243}"
# Frontend membership, then history, matching and worker (gRPC, membership): 7244-7250 by default.
PROD_TEMPORAL_PORT_BASE="${PIVOTRL_PROD_TEMPORAL_PORT_BASE:-7244}"
PROD_TEMPORAL_ADDRESS="$CLIENT_HOST:$PROD_TEMPORAL_PORT"
PROD_NAMESPACE=pivotrl
PROD_RETENTION=7d
# The UI's login proxy (https) listens on PROD_UI_PORT; the Temporal UI server behind it on loopback.
PROD_UI_PORT="${PIVOTRL_PROD_UI_PORT:-8243}"
PROD_UI_BACKEND_PORT="${PIVOTRL_PROD_UI_BACKEND_PORT:-$((PROD_UI_PORT + 1))}"
PROD_UI_URL="https://$CLIENT_HOST:$PROD_UI_PORT"
S3_PORT="${PIVOTRL_S3_PORT:-7070}"
S3_URL="http://$CLIENT_HOST:$S3_PORT"
S3_BUCKET=pivotrl
S3_REGION=us-east-1
S3_ROOT="$PROD_STATE/s3"
S3_IAM_DIR="$PROD_STATE/s3-iam"

# The stack's secrets. None has a default: ensure_secrets takes each from the operator's environment, else from
# $SECRETS_ENV, else generates it there on first run. The S3 root keys stay with these scripts; workers get the
# worker keys (stack.env), limited to the bucket.
SECRETS_ENV="$PROD_STATE/secrets.env"
SECRET_NAMES=(PIVOTRL_PG_PASSWORD PIVOTRL_S3_ACCESS_KEY PIVOTRL_S3_SECRET_KEY PIVOTRL_S3_WORKER_ACCESS_KEY
  PIVOTRL_S3_WORKER_SECRET_KEY PIVOTRL_UI_VIEWER_PASSWORD PIVOTRL_UI_OPS_PASSWORD)
# Defaults this project or its tools once shipped, and other well-known ones: refused wherever they come from.
KNOWN_DEFAULT_SECRETS=(temporal pivotrl pivotrl-secret replace-me password changeme secret admin root postgres minioadmin)

# secret_problem NAME VALUE: why VALUE cannot be NAME's value (nothing when it can). Key ids need only not be a known
# default; secrets need 16 characters or more. Only characters that survive `source` and KEY=value parsing unquoted.
secret_problem() {
  local name=$1 value=$2 known
  [ -n "$value" ] || { echo "it is empty"; return; }
  for known in "${KNOWN_DEFAULT_SECRETS[@]}"; do
    [ "${value,,}" != "$known" ] || { echo "it is a known default ('$known')"; return; }
  done
  [[ "$value" =~ ^[A-Za-z0-9._~+/=-]+$ ]] || { echo "it has characters other than A-Z a-z 0-9 . _ ~ + / = -"; return; }
  [[ "$name" == *ACCESS_KEY ]] || [ ${#value} -ge 16 ] || echo "it is shorter than 16 characters"
}

new_secret() {
  if [[ "$1" == *ACCESS_KEY ]]; then openssl rand -hex 10; else openssl rand -hex 24; fi
}

# ensure_secrets: sets every SECRET_NAMES variable (the operator's environment wins over $SECRETS_ENV; the file is
# written, mode 600, on first run only) and PG_PASSWORD, S3_ACCESS_KEY, S3_SECRET_KEY; dies on a default or weak one.
ensure_secrets() {
  local line name value problem
  for name in "${SECRET_NAMES[@]}"; do
    [ -n "${!name+set}" ] || continue
    problem="$(secret_problem "$name" "${!name}")"
    [ -z "$problem" ] ||
      die "$name from the environment is refused: $problem. Unset it to have deploy/prod/up.sh generate one into" \
        "$SECRETS_ENV on first run, or set a random value (e.g. \`export $name=\$(openssl rand -hex 24)\`)"
  done
  if [ ! -f "$SECRETS_ENV" ]; then
    command -v openssl >/dev/null || die "openssl not found (it generates the stack's secrets): apt-get install openssl"
    mkdir -p "$PROD_STATE"
    (
      umask 077
      for name in "${SECRET_NAMES[@]}"; do printf '%s=%s\n' "$name" "${!name:-$(new_secret "$name")}"; done >"$SECRETS_ENV.tmp"
    )
    mv "$SECRETS_ENV.tmp" "$SECRETS_ENV"
    log "generated the stack's secrets into $SECRETS_ENV (mode 600; keep it, it is the only copy)"
  fi
  [ "$(stat -c %a "$SECRETS_ENV")" = 600 ] || die "$SECRETS_ENV must be readable by its owner only: chmod 600 $SECRETS_ENV"
  while IFS= read -r line; do
    name="${line%%=*}" value="${line#*=}"
    [[ " ${SECRET_NAMES[*]} " == *" $name "* ]] || die "$SECRETS_ENV: unexpected line for '$name' (expected ${SECRET_NAMES[*]})"
    [ -n "${!name+set}" ] || printf -v "$name" '%s' "$value"
  done <"$SECRETS_ENV"
  for name in "${SECRET_NAMES[@]}"; do
    problem="$(secret_problem "$name" "${!name:-}")"
    [ -z "$problem" ] || die "$name in $SECRETS_ENV is refused: $problem. Set a random value there (e.g. \`openssl rand -hex 24\`)"
  done
  PG_PASSWORD="$PIVOTRL_PG_PASSWORD"
  S3_ACCESS_KEY="$PIVOTRL_S3_ACCESS_KEY"
  S3_SECRET_KEY="$PIVOTRL_S3_SECRET_KEY"
}

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
