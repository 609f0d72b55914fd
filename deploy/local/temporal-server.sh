#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# start|stop|status of the Temporal dev server (state in $PIVOTRL_STATE, Web UI on $TEMPORAL_UI_PORT).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

DB_FILE="$PIVOTRL_STATE/temporal.db"
LOG_FILE="$PIVOTRL_STATE/temporal.log"
PID_FILE="$PIVOTRL_STATE/temporal.pid"
UI_URL="http://127.0.0.1:$TEMPORAL_UI_PORT"

healthy() {
  "$TEMPORAL_BIN" operator cluster health --address "$TEMPORAL_ADDRESS" "${TEMPORAL_CLI_CONN[@]}" --command-timeout 3s >/dev/null 2>&1
}

# Prints the pid from the pid file if that process is alive and is a temporal server.
server_pid() {
  local pid
  pid="$(cat "$PID_FILE" 2>/dev/null)" || return 1
  [ -n "$pid" ] && grep -qa start-dev "/proc/$pid/cmdline" 2>/dev/null || return 1
  echo "$pid"
}

start() {
  local pid
  read_search_attribute_flags
  if healthy; then
    pid="$(server_pid)" || pid="not started by these scripts"
    log "temporal server already running on $TEMPORAL_ADDRESS (pid $pid)"
    ensure_search_attributes "$TEMPORAL_ADDRESS" default
    return
  fi
  mkdir -p "$PIVOTRL_STATE"
  if pid="$(server_pid)"; then
    log "temporal server (pid $pid) is not answering yet; waiting"
  else
    log "starting temporal dev server on $TEMPORAL_ADDRESS (db: $DB_FILE, log: $LOG_FILE)"
    setsid "$TEMPORAL_BIN" server start-dev --db-filename "$DB_FILE" \
      --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" --ip 127.0.0.1 --log-level warn \
      "${SA_FLAGS[@]}" >>"$LOG_FILE" 2>&1 </dev/null &
    pid=$!
    echo "$pid" >"$PID_FILE"
  fi
  for _ in $(seq 120); do
    healthy && break
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      tail -n 5 "$LOG_FILE" >&2
      die "the temporal server exited; see $LOG_FILE"
    fi
    sleep 0.5
  done
  healthy || die "the temporal server (pid $pid) did not become healthy within 60 s; see $LOG_FILE"
  # start-dev registers --search-attribute only when it creates the db; an existing db keeps its old set.
  ensure_search_attributes "$TEMPORAL_ADDRESS" default
}

stop() {
  local pid
  if ! pid="$(server_pid)"; then
    rm -f "$PID_FILE"
    log "temporal server not running (no live pid in $PID_FILE)"
    return
  fi
  terminate 'temporal server' "$pid" 10
  rm -f "$PID_FILE"
}

status() {
  local pid
  if healthy; then
    pid="$(server_pid)" || pid="not started by these scripts"
    echo "temporal server running on $TEMPORAL_ADDRESS (pid $pid), UI $UI_URL"
  else
    echo "temporal server not running on $TEMPORAL_ADDRESS"
    return 3
  fi
}

case "${1:-}" in
  start | stop | status) "$1" ;;
  *) die "usage: $0 start|stop|status" ;;
esac
