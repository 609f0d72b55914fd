#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# start|stop|status of Temporal's Web UI server for the production stack's server: http on 127.0.0.1:$PROD_UI_BACKEND_PORT,
# reached from outside only through the login proxy (deploy/prod/ui-proxy.sh); it reaches the server with the ui
# certificate (deploy/prod/tls.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

UI_BIN="$BIN_DIR/temporal-ui-server"
CONFIG_DIR="$PROD_STATE/ui/config"
UI_URL="http://127.0.0.1:$PROD_UI_BACKEND_PORT"

answering() { curl -fs -o /dev/null --max-time 3 "$UI_URL/api/v1/settings"; }

start() {
  local pid
  [ -x "$UI_BIN" ] || die "$UI_BIN is missing: run deploy/prod/binaries.sh"
  if pid="$(live_pid ui "$UI_BIN")"; then
    log "ui server already running (pid $pid, $UI_URL)"
  else
    port_free "$PROD_UI_BACKEND_PORT" "the Temporal UI server"
    (cd "$PIVOTRL_REPO" && PROD_TEMPORAL_ADDRESS="$PROD_TEMPORAL_ADDRESS" PROD_UI_BACKEND_PORT="$PROD_UI_BACKEND_PORT" PROD_NAMESPACE="$PROD_NAMESPACE" \
      PROD_CODEC_ENDPOINT="$UI_CODEC_ENDPOINT" PROD_TLS_DIR="$PROD_TLS" npx tsx deploy/prod/render-config.ts ui "$CONFIG_DIR") || die "could not write the UI server's config into $CONFIG_DIR"
    log "starting the Temporal UI server on 127.0.0.1:$PROD_UI_BACKEND_PORT (log: $PROD_LOGS/ui.log)"
    start_daemon ui "$UI_BIN" --root "$PROD_STATE/ui" --config config --env production start
    pid="$(cat "$PROD_RUN/ui.pid")"
  fi
  wait_until ui "$pid" 30 answering
}

stop() { stop_daemon ui "$UI_BIN"; }

status() {
  local pid
  if pid="$(live_pid ui "$UI_BIN")" && answering; then echo "ui server running at $UI_URL (pid $pid)"; else
    echo "ui server not running at $UI_URL"
    return 3
  fi
}

case "${1:-}" in
  start | stop | status) "$1" ;;
  *) die "usage: $0 start|stop|status" ;;
esac
