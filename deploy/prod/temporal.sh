#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# start|stop|status of Temporal's own server on PostgreSQL (frontend on $PIVOTRL_BIND_ADDRESS:$PROD_TEMPORAL_PORT, mTLS:
# clients need a certificate of the stack's CA), with the namespace `pivotrl` (retention 7 days) and the project's search
# attributes. Needs postgres.sh start and tls.sh first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SERVER_BIN="$BIN_DIR/temporal-server"
CONFIG_DIR="$PROD_STATE/temporal/config"

cli() { "$TEMPORAL_BIN" "$@" --address "$PROD_TEMPORAL_ADDRESS" "${TEMPORAL_CLI_CONN[@]}" --command-timeout 10s; }
healthy() { cli operator cluster health --command-timeout 3s >/dev/null 2>&1; }

service_ports() {
  local b=$PROD_TEMPORAL_PORT_BASE
  echo "$PROD_TEMPORAL_PORT $b $((b + 1)) $((b + 2)) $((b + 3)) $((b + 4)) $((b + 5)) $((b + 6))"
}

write_config() {
  (cd "$PIVOTRL_REPO" && PROD_PG_ADDRESS="$PG_HOST:$PG_PORT" PROD_PG_PASSWORD="$PG_PASSWORD" PROD_TEMPORAL_PORT="$PROD_TEMPORAL_PORT" \
    PROD_TEMPORAL_PORT_BASE="$PROD_TEMPORAL_PORT_BASE" PROD_BIND_ADDRESS="$BIND_ADDRESS" PROD_CLIENT_HOST="$CLIENT_HOST" \
    PROD_TLS_DIR="$PROD_TLS" npx tsx deploy/prod/render-config.ts temporal "$CONFIG_DIR") ||
    die "could not write the Temporal server's config into $CONFIG_DIR"
}

ensure_namespace() {
  local described
  if described="$(cli operator namespace describe --namespace "$PROD_NAMESPACE" -o json 2>&1)"; then
    # 7d = 604800s
    if grep -q '"workflowExecutionRetentionTtl": "604800s"' <<<"$described"; then
      log "namespace $PROD_NAMESPACE present (retention $PROD_RETENTION)"
    else
      log "setting namespace $PROD_NAMESPACE's retention to $PROD_RETENTION"
      cli operator namespace update --namespace "$PROD_NAMESPACE" --retention "$PROD_RETENTION" >&2
    fi
    return
  fi
  grep -q 'is not found' <<<"$described" || die "cannot describe namespace $PROD_NAMESPACE: $described"
  log "creating namespace $PROD_NAMESPACE (retention $PROD_RETENTION)"
  cli operator namespace create --namespace "$PROD_NAMESPACE" --retention "$PROD_RETENTION" \
    --description 'PivotRL campaigns (deploy/prod)' >&2
}

start() {
  local pid port
  ensure_secrets
  [ -x "$SERVER_BIN" ] || die "$SERVER_BIN is missing: run deploy/prod/binaries.sh"
  [ -x "$TEMPORAL_BIN" ] || die "$TEMPORAL_BIN is missing: run deploy/local/temporal-cli.sh"
  [ -f "$PROD_TLS/server.pem" ] || die "$PROD_TLS/server.pem is missing: run deploy/prod/tls.sh"
  for port in $(service_ports); do
    # Temporal's SQL schema keeps the services' membership ports in a smallint column.
    [ "$port" -le 32767 ] || die "Temporal's ports must be at most 32767 (its PostgreSQL schema stores them as smallint):" \
      "PIVOTRL_PROD_TEMPORAL_PORT=$PROD_TEMPORAL_PORT, PIVOTRL_PROD_TEMPORAL_PORT_BASE=$PROD_TEMPORAL_PORT_BASE give $port"
  done
  if pid="$(live_pid temporal "$SERVER_BIN")"; then
    log "temporal server already running (pid $pid, $PROD_TEMPORAL_ADDRESS)"
    grep -q 'requireClientAuth: true' "$CONFIG_DIR/production.yaml" 2>/dev/null ||
      die "the running temporal server (pid $pid) was started without mTLS: run deploy/prod/temporal.sh stop, then deploy/prod/up.sh"
  else
    for port in $(service_ports); do port_free "$port" "the Temporal server"; done
    write_config
    log "starting temporal server on $BIND_ADDRESS:$PROD_TEMPORAL_PORT (config: $CONFIG_DIR, log: $PROD_LOGS/temporal.log)"
    start_daemon temporal "$SERVER_BIN" --root "$PROD_STATE/temporal" --config config \
      --env production --allow-no-auth start
    pid="$(cat "$PROD_RUN/temporal.pid")"
  fi
  wait_until temporal "$pid" 90 healthy
  ensure_namespace
  ensure_search_attributes "$PROD_TEMPORAL_ADDRESS" "$PROD_NAMESPACE"
}

stop() { stop_daemon temporal "$SERVER_BIN"; }

status() {
  local pid
  if pid="$(live_pid temporal "$SERVER_BIN")" && healthy; then
    echo "temporal server running on $PROD_TEMPORAL_ADDRESS (pid $pid)"
  else
    echo "temporal server not running on $PROD_TEMPORAL_ADDRESS"
    return 3
  fi
}

case "${1:-}" in
  start | stop | status) "$1" ;;
  *) die "usage: $0 start|stop|status" ;;
esac
