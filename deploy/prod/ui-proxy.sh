#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# start|stop|status of the UI's login proxy (deploy/ui-proxy/): https on $PIVOTRL_BIND_ADDRESS:$PROD_UI_PORT in front of
# the Temporal UI server (loopback), with a certificate made here and the users viewer (reads) and ops (also write
# actions), their passwords PIVOTRL_UI_VIEWER_PASSWORD / PIVOTRL_UI_OPS_PASSWORD in secrets.env. Needs ui.sh start first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PROXY_DIR="$PROD_STATE/ui-proxy"
CERT="$PROXY_DIR/tls.crt"
KEY="$PROXY_DIR/tls.key"
USERS="$PROXY_DIR/users"
NODE_BIN="$(command -v node)" || die "node not found (the UI's login proxy runs on Node 20+)"

answering() { [ "$(curl -s --cacert "$CERT" -o /dev/null --max-time 3 -w '%{http_code}' "$PROD_UI_URL$1")" = 200 ]; }

# ensure_ui_certificate: the proxy's TLS certificate for $CLIENT_HOST (self-signed, a year), made again when missing,
# expiring within a day or for another address. To use a CA's certificate instead, put it and its key at $CERT, $KEY.
ensure_ui_certificate() {
  if [ -f "$CERT" ] && openssl x509 -in "$CERT" -noout -checkend 86400 >/dev/null &&
    openssl x509 -in "$CERT" -noout -ext subjectAltName | grep -q "IP Address:$CLIENT_HOST\b"; then
    return
  fi
  log "making the UI's TLS certificate for $CLIENT_HOST ($CERT, self-signed)"
  (
    umask 077
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 365 -subj "/CN=pivotrl UI" \
      -addext "subjectAltName=IP:$CLIENT_HOST,IP:127.0.0.1,DNS:localhost" -keyout "$KEY" -out "$CERT" 2>>"$PROD_LOGS/ui-proxy.log"
  ) || die "openssl could not make the UI's certificate; see $PROD_LOGS/ui-proxy.log"
  chmod 644 "$CERT"
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
    (cd "$PIVOTRL_REPO" && PIVOTRL_UI_PROXY_HOST="$BIND_ADDRESS" PIVOTRL_UI_PROXY_PORT="$PROD_UI_PORT" \
      PIVOTRL_UI_PROXY_UPSTREAM="http://127.0.0.1:$PROD_UI_BACKEND_PORT" PIVOTRL_UI_PROXY_CERT="$CERT" PIVOTRL_UI_PROXY_KEY="$KEY" \
      PIVOTRL_UI_PROXY_USERS="$USERS" start_daemon ui-proxy "$NODE_BIN" --import tsx deploy/ui-proxy/main.ts)
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
