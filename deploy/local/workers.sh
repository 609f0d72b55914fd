#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# start|stop|status of the workers on this machine: PIVOTRL_CPU_WORKERS CPU workers (workflows, ingest, sandboxed
# verification; default 2) and one GPU worker (generation and updates, at most PIVOTRL_GPUS at once; default 1),
# all against the Temporal server at TEMPORAL_ADDRESS. On a machine without a GPU, set PIVOTRL_ALLOW_CPU=1 to run
# the GPU worker on the CPU tensor backend. Logs and pid files in $PIVOTRL_STATE/workers/. Idempotent.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

cd "$PIVOTRL_REPO"
DIR="$PIVOTRL_STATE/workers"
CPU_WORKERS="${PIVOTRL_CPU_WORKERS:-2}"
export TEMPORAL_ADDRESS
# The dev server is plain gRPC on loopback: a shell that sourced the production stack's stack.env keeps its mTLS
# settings for itself, not for these workers.
unset TEMPORAL_TLS TEMPORAL_TLS_CLIENT_CERT_PATH TEMPORAL_TLS_CLIENT_KEY_PATH TEMPORAL_TLS_SERVER_CA_CERT_PATH \
  TEMPORAL_TLS_SERVER_NAME TEMPORAL_API_KEY TEMPORAL_PROFILE TEMPORAL_CONFIG_FILE

# Prints the pid in a pid file when that process is alive.
alive() {
  local pid
  pid="$(cat "$1" 2>/dev/null)" || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

# start_one NAME KIND: `npx tsx workers/KIND.ts` in its own session (its pid is its process group).
start_one() {
  local name="$1" kind="$2" pid
  if pid="$(alive "$DIR/$name.pid")"; then
    log "$name already running (pid $pid)"
    return
  fi
  log "starting $name (log: $DIR/$name.log)"
  setsid npx tsx "workers/$kind.ts" >>"$DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$DIR/$name.pid"
  for _ in $(seq 120); do
    # the worker's log line "polling ...": JSON (the log is a file) or readable
    grep -Eq "\"name\":\"$kind-worker\".*\"msg\":\"polling|\[$kind-worker\] polling" "$DIR/$name.log" 2>/dev/null && return
    alive "$DIR/$name.pid" >/dev/null || { tail -n 20 "$DIR/$name.log" >&2; die "$name exited; see $DIR/$name.log"; }
    sleep 0.5
  done
  die "$name not polling after 60 s; see $DIR/$name.log"
}

start() {
  mkdir -p "$DIR"
  local i
  for i in $(seq "$CPU_WORKERS"); do start_one "cpu-$i" cpu; done
  start_one gpu gpu
}

# SIGTERM to each worker's process group: it drains, closes its sandboxes and model threads, and exits.
stop() {
  local f pid
  for f in "$DIR"/*.pid; do
    [ -e "$f" ] || continue
    if pid="$(alive "$f")"; then
      log "stopping $(basename "$f" .pid) (pid $pid)"
      kill -TERM -- "-$pid" 2>/dev/null || true
      for _ in $(seq 120); do
        kill -0 -- "-$pid" 2>/dev/null || break
        sleep 0.25
      done
      kill -0 -- "-$pid" 2>/dev/null && { log "still running after 30 s; SIGKILL"; kill -KILL -- "-$pid" 2>/dev/null || true; }
    fi
    rm -f "$f"
  done
}

status() {
  local f pid any=0
  for f in "$DIR"/*.pid; do
    [ -e "$f" ] || continue
    any=1
    if pid="$(alive "$f")"; then echo "$(basename "$f" .pid): running (pid $pid)"; else echo "$(basename "$f" .pid): not running"; fi
  done
  [ "$any" = 1 ] || { echo "no workers started by this script"; return 3; }
}

case "${1:-}" in
  start | stop | status) "$1" ;;
  *) die "usage: $0 start|stop|status" ;;
esac
