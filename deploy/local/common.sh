# shellcheck shell=bash disable=SC2034
# Shared settings and helpers for deploy/local/*.sh (sourced, not run).

PIVOTRL_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PIVOTRL_CACHE="${PIVOTRL_CACHE:-${HOME:-/root}/.cache/pivotrl}"
PIVOTRL_STATE="${PIVOTRL_STATE:-$PIVOTRL_REPO/.pivotrl}"
TEMPORAL_CLI_VERSION=1.5.1
TEMPORAL_BIN="$PIVOTRL_CACHE/bin/temporal"
TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"
# The temporal CLI's connection flags in these scripts: the address is always passed, and the caller's TEMPORAL_*
# variables and profile are ignored (the dev server is plain gRPC on loopback); deploy/prod/common.sh adds its mTLS files.
TEMPORAL_CLI_CONN=(--disable-config-env --disable-config-file)

log() { echo "[pivotrl-setup] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# apt_install PKG...: Debian packages, running `apt-get update` only when a package is unknown.
apt_install() {
  is_root || die "installing $* needs root (or install it yourself: sudo apt-get install $*)"
  command -v apt-get >/dev/null || die "no apt-get here: install $* with your system's package manager"
  mkdir -p "$PIVOTRL_STATE"
  local p apt_log="$PIVOTRL_STATE/apt.log"
  {
    for p in "$@"; do
      if ! apt-cache show "$p" >/dev/null 2>&1; then
        apt-get update
        break
      fi
    done
    # A stale package list can name files the mirror no longer has: refresh once and retry.
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" ||
      { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"; }
  } >>"$apt_log" 2>&1 || {
    tail -n 20 "$apt_log" >&2
    die "apt-get install $* failed; see $apt_log"
  }
}

# `--search-attribute NAME=Type` pairs from the one list in workflows/search-attributes.ts, into SA_FLAGS.
SA_FLAGS=()
read_search_attribute_flags() {
  local out
  out="$(cd "$PIVOTRL_REPO" && npx tsx deploy/search-attribute-flags.ts)"
  mapfile -t SA_FLAGS <<<"$out"
}

# ensure_search_attributes ADDRESS NAMESPACE: registers the project's search attributes the namespace lacks, or has with
# another type (idempotent; creating one that is present with another type fails). SQL visibility keeps them per namespace.
ensure_search_attributes() {
  local address=$1 namespace=$2 existing i name type missing=()
  [ ${#SA_FLAGS[@]} -gt 0 ] || read_search_attribute_flags
  # A namespace created a moment ago may not be in the server's namespace cache yet ("Namespace X is not found").
  for i in $(seq 40); do
    existing="$("$TEMPORAL_BIN" operator search-attribute list --address "$address" "${TEMPORAL_CLI_CONN[@]}" --namespace "$namespace" --command-timeout 10s -o json 2>&1)" &&
      break
    if ! grep -q 'is not found' <<<"$existing" || [ "$i" -eq 40 ]; then
      die "cannot list search attributes of $namespace at $address: $existing"
    fi
    sleep 0.5
  done
  for ((i = 1; i < ${#SA_FLAGS[@]}; i += 2)); do
    name="${SA_FLAGS[i]%%=*}"
    type="${SA_FLAGS[i]#*=}"
    # KeywordList -> INDEXED_VALUE_TYPE_KEYWORD_LIST
    grep -q "\"$name\": \"INDEXED_VALUE_TYPE_$(sed -E 's/([a-z])([A-Z])/\1_\2/g' <<<"$type" | tr '[:lower:]' '[:upper:]')\"" \
      <<<"$existing" || missing+=(--name "$name" --type "$type")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    log "search attributes present ($((${#SA_FLAGS[@]} / 2)))"
    return
  fi
  log "registering search attributes in $namespace: ${missing[*]}"
  "$TEMPORAL_BIN" operator search-attribute create --address "$address" "${TEMPORAL_CLI_CONN[@]}" --namespace "$namespace" --command-timeout 10s "${missing[@]}" >&2 ||
    die "could not register search attributes in $namespace (one present with another type, or more of one type than SQL visibility has columns for?)"
}

# terminate NAME PID SECONDS: SIGTERM, then SIGKILL if it still runs after SECONDS.
terminate() {
  local name=$1 pid=$2 seconds=$3
  log "stopping $name (pid $pid)"
  kill "$pid"
  for _ in $(seq $((seconds * 4))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.25
  done
  if kill -0 "$pid" 2>/dev/null; then
    log "$name still running after $seconds s; sending SIGKILL"
    kill -9 "$pid"
  fi
}
