#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# start|stop|status of the codec server (workers/codec-server.ts, http on 127.0.0.1:$CODEC_PORT), which decodes the stack's
# encrypted payloads for the Web UI and the temporal CLI of whoever holds its token. On first run, generates the payload
# key and the token into $CODEC_ENV (mode 600): never printed, never on a command line.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

NODE_BIN="$(command -v node)" || die "node not found: the codec server is a Node program (Node 20+)"

# Up when it refuses a request without the token.
answering() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 3 -X POST "$CODEC_URL/decode")" = 401 ]; }

ensure_codec_env() {
  mkdir -p "$PROD_STATE"
  if [ ! -f "$CODEC_ENV" ]; then
    command -v openssl >/dev/null || die "openssl not found (it generates the payload key): apt-get install openssl"
    (
      umask 077
      {
        printf 'PIVOTRL_PAYLOAD_KEYS=k%s:' "$(date -u +%Y%m%d)"
        openssl rand -base64 32
        printf 'PIVOTRL_CODEC_TOKEN='
        openssl rand -hex 32
      } >"$CODEC_ENV.tmp"
    )
    mv "$CODEC_ENV.tmp" "$CODEC_ENV"
    log "generated the payload key and the codec server's token into $CODEC_ENV (mode 600; keep it: without its keys" \
      "the stack's workflow inputs and results cannot be read)"
  fi
  [ "$(stat -c %a "$CODEC_ENV")" = 600 ] || die "$CODEC_ENV must be readable by its owner only: chmod 600 $CODEC_ENV"
}

start() {
  local pid
  ensure_codec_env
  if pid="$(live_pid codec "$NODE_BIN")"; then
    log "codec server already running (pid $pid, $CODEC_URL)"
  else
    port_free "$CODEC_PORT" "the codec server"
    log "starting the codec server on $CODEC_URL (log: $PROD_LOGS/codec.log)"
    (
      set -a
      # shellcheck source=/dev/null
      source "$CODEC_ENV"
      set +a
      export PIVOTRL_CODEC_HOST=127.0.0.1 PIVOTRL_CODEC_PORT="$CODEC_PORT" PIVOTRL_CODEC_CORS_ORIGINS="$PROD_UI_URL"
      cd "$PIVOTRL_REPO"
      start_daemon codec "$NODE_BIN" --import tsx workers/codec-server.ts
    )
    pid="$(cat "$PROD_RUN/codec.pid")"
  fi
  wait_until codec "$pid" 30 answering
}

stop() { stop_daemon codec "$NODE_BIN"; }

status() {
  local pid
  if pid="$(live_pid codec "$NODE_BIN")" && answering; then echo "codec server running at $CODEC_URL (pid $pid)"; else
    echo "codec server not running at $CODEC_URL"
    return 3
  fi
}

case "${1:-}" in
  start | stop | status) "$1" ;;
  *) die "usage: $0 start|stop|status" ;;
esac
