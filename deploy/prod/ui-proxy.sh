#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# start|stop|status of the UI's login proxy (deploy/ui-proxy/): https on $PIVOTRL_BIND_ADDRESS:$PROD_UI_PORT in front of
# the Temporal UI server (loopback), with a certificate of the stack's CA (tls.sh) and the users viewer (reads) and ops
# (also write actions), their passwords PIVOTRL_UI_VIEWER_PASSWORD / PIVOTRL_UI_OPS_PASSWORD in secrets.env. Its /codec/
# route passes a logged-in user's payloads to the codec server with the codec token (codec.env). Needs tls.sh, ui.sh
# start and codec.sh start first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PROXY_DIR="$PROD_STATE/ui-proxy"
CERT="$PROD_TLS/ui-proxy.pem"
KEY="$PROD_TLS/ui-proxy.key"
USERS="$PROXY_DIR/users"
NODE_BIN="$(command -v node)" || die "node not found (the UI's login proxy runs on Node 20+)"

answering() { [ "$(curl -s --cacert "$PROD_TLS/ca.pem" -o /dev/null --max-time 3 -w '%{http_code}' "$PROD_UI_URL$1")" = 200 ]; }

# The proxy's https certificate is issued by the stack's CA (deploy/prod/tls.sh: ui-proxy.pem, SANs loopback, the bind
# address and PIVOTRL_TLS_SANS); browsers and clients trust $PROD_TLS/ca.pem.
ensure_ui_certificate() {
  if [ ! -f "$CERT" ] || [ ! -f "$KEY" ]; then
    die "no https certificate for the UI's login proxy ($CERT): run deploy/prod/tls.sh first"
  fi
}

# The users file, on first run only: afterwards users-cli.ts manages it (README: "The Web UI").
ensure_users() {
  [ -f "$USERS" ] && return
  log "creating the UI's users viewer and ops ($USERS; their passwords are in $SECRETS_ENV)"
  (
    cd "$PIVOTRL_REPO"
    npx tsx deploy/ui-proxy/users-cli.ts set "$USERS" viewer viewer <<<"$PIVOTRL_UI_VIEWER_PASSWORD"
    npx tsx deploy/ui-proxy/users-cli.ts set "$USERS" ops ops <<<"$PIVOTRL_UI_OPS_PASSWORD"
  ) || die "could not write the UI's users into $USERS"
}

start() {
  local pid
  ensure_secrets
  mkdir -p "$PROXY_DIR" "$PROD_LOGS"
  chmod 700 "$PROXY_DIR"
  ensure_users
  if pid="$(live_pid ui-proxy "$NODE_BIN")"; then
    log "ui proxy already running (pid $pid, $PROD_UI_URL)"
  else
    ensure_ui_certificate
    port_free "$PROD_UI_PORT" "the UI's login proxy"
    log "starting the UI's login proxy on https://$BIND_ADDRESS:$PROD_UI_PORT (log: $PROD_LOGS/ui-proxy.log)"
    [ -f "$CODEC_ENV" ] || die "no $CODEC_ENV (the codec server's token): run deploy/prod/codec.sh start first"
    (
      set -a
      # shellcheck source=/dev/null
      source "$CODEC_ENV" # PIVOTRL_CODEC_TOKEN, for the /codec/ route (in the environment, never on a command line)
      set +a
      unset PIVOTRL_PAYLOAD_KEYS # the proxy never decodes itself
      cd "$PIVOTRL_REPO"
      PIVOTRL_UI_PROXY_HOST="$BIND_ADDRESS" PIVOTRL_UI_PROXY_PORT="$PROD_UI_PORT" \
        PIVOTRL_UI_PROXY_UPSTREAM="http://127.0.0.1:$PROD_UI_BACKEND_PORT" PIVOTRL_UI_PROXY_CERT="$CERT" PIVOTRL_UI_PROXY_KEY="$KEY" \
        PIVOTRL_UI_PROXY_USERS="$USERS" PIVOTRL_UI_PROXY_CODEC_UPSTREAM="$CODEC_URL" \
        start_daemon ui-proxy "$NODE_BIN" --import tsx deploy/ui-proxy/main.ts
    )
    pid="$(cat "$PROD_RUN/ui-proxy.pid")"
  fi
  wait_until ui-proxy "$pid" 30 answering /_pivotrl/login
}

stop() { stop_daemon ui-proxy "$NODE_BIN"; }

status() {
  local pid
  if pid="$(live_pid ui-proxy "$NODE_BIN")" && answering /_pivotrl/login; then echo "ui proxy running at $PROD_UI_URL (pid $pid)"; else
    echo "ui proxy not running at $PROD_UI_URL"
    return 3
  fi
}

case "${1:-}" in
  start | stop | status) "$1" ;;
  *) die "usage: $0 start|stop|status" ;;
esac
