#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# start|stop|status of the S3-compatible object store: versitygw over a directory ($PIVOTRL_STATE/prod/s3, posix backend),
# http on 0.0.0.0:$S3_PORT, root credentials PIVOTRL_S3_ACCESS_KEY / PIVOTRL_S3_SECRET_KEY, with the bucket `pivotrl`.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

GW_BIN="$BIN_DIR/versitygw"
S3_URL="http://127.0.0.1:$S3_PORT"

answering() { [ "$(curl -s -o /dev/null --max-time 3 -w '%{http_code}' "$S3_URL/")" != 000 ]; }

# A signed request with the root credentials (curl signs AWS SigV4 itself).
s3() {
  curl -sS --max-time 10 --aws-sigv4 "aws:amz:$S3_REGION:s3" --user "$S3_ACCESS_KEY:$S3_SECRET_KEY" \
    -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}

ensure_bucket() {
  local code
  code="$(s3 -o /dev/null -w '%{http_code}' -I "$S3_URL/$S3_BUCKET")"
  case "$code" in
    200) log "bucket $S3_BUCKET present" ;;
    404)
      log "creating bucket $S3_BUCKET"
      s3 -f -o /dev/null -X PUT "$S3_URL/$S3_BUCKET" || die "could not create bucket $S3_BUCKET at $S3_URL; see $PROD_LOGS/s3.log"
      ;;
    403) die "the object store at $S3_URL refused the root credentials: PIVOTRL_S3_ACCESS_KEY/PIVOTRL_S3_SECRET_KEY differ from" \
      "those it was started with; run deploy/prod/objectstore.sh stop, then deploy/prod/up.sh" ;;
    *) die "unexpected answer $code from $S3_URL/$S3_BUCKET; see $PROD_LOGS/s3.log" ;;
  esac
}

start() {
  local pid
  [ -x "$GW_BIN" ] || die "$GW_BIN is missing: run deploy/prod/binaries.sh"
  if pid="$(live_pid s3 "$GW_BIN")"; then
    log "object store already running (pid $pid, $S3_URL)"
  else
    port_free "$S3_PORT" "the S3 object store"
    mkdir -p "$S3_ROOT"
    log "starting versitygw on 0.0.0.0:$S3_PORT (posix: $S3_ROOT, log: $PROD_LOGS/s3.log)"
    ROOT_ACCESS_KEY_ID="$S3_ACCESS_KEY" ROOT_SECRET_ACCESS_KEY="$S3_SECRET_KEY" start_daemon s3 "$GW_BIN" \
      --port "0.0.0.0:$S3_PORT" --region "$S3_REGION" --quiet posix "$S3_ROOT"
    pid="$(cat "$PROD_RUN/s3.pid")"
  fi
  wait_until s3 "$pid" 30 answering
  ensure_bucket
}

stop() { stop_daemon s3 "$GW_BIN"; }

status() {
  local pid
  if pid="$(live_pid s3 "$GW_BIN")" && answering; then echo "object store running at $S3_URL (pid $pid)"; else
    echo "object store not running at $S3_URL"
    return 3
  fi
}

case "${1:-}" in
  start | stop | status) "$1" ;;
  *) die "usage: $0 start|stop|status" ;;
esac
