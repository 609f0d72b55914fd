#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# start|stop|status of the S3-compatible object store: versitygw over a directory ($PIVOTRL_STATE/prod/s3, posix backend),
# http on $PIVOTRL_BIND_ADDRESS:$S3_PORT, root keys PIVOTRL_S3_ACCESS_KEY / PIVOTRL_S3_SECRET_KEY (from the environment:
# never on a command line), with the bucket `pivotrl` owned by the workers' user (PIVOTRL_S3_WORKER_ACCESS_KEY, role
# `user` of versitygw's internal IAM in $PIVOTRL_STATE/prod/s3-iam): it reaches that bucket only and creates none.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

GW_BIN="$BIN_DIR/versitygw"

answering() { [ "$(curl -s -o /dev/null --max-time 3 -w '%{http_code}' "$S3_URL/")" != 000 ]; }

# s3_root BODY CURL_ARGS...: a request signed (AWS SigV4) with the root keys, with BODY ('' for none). The keys and the
# body (it may hold a user's secret) reach curl in a config on its stdin, never on its command line.
s3_root() {
  local body=$1
  shift
  {
    printf 'user = "%s:%s"\n' "$S3_ACCESS_KEY" "$S3_SECRET_KEY"
    [ -z "$body" ] || printf 'data-binary = "%s"\n' "$body"
  } | curl -K - -sS --max-time 10 --aws-sigv4 "aws:amz:$S3_REGION:s3" -H 'x-amz-content-sha256: UNSIGNED-PAYLOAD' "$@"
}

ensure_bucket() {
  local code
  code="$(s3_root '' -o /dev/null -w '%{http_code}' -I "$S3_URL/$S3_BUCKET")"
  case "$code" in
    200) log "bucket $S3_BUCKET present" ;;
    404)
      log "creating bucket $S3_BUCKET"
      s3_root '' -f -o /dev/null -X PUT "$S3_URL/$S3_BUCKET" || die "could not create bucket $S3_BUCKET at $S3_URL; see $PROD_LOGS/s3.log"
      ;;
    403) die "the object store at $S3_URL refused the root keys: PIVOTRL_S3_ACCESS_KEY/PIVOTRL_S3_SECRET_KEY differ from" \
      "those it was started with; run deploy/prod/objectstore.sh stop, then deploy/prod/up.sh" ;;
    *) die "unexpected answer $code from $S3_URL/$S3_BUCKET; see $PROD_LOGS/s3.log" ;;
  esac
}

# admin ACTION [QUERY] [BODY]: a call of versitygw's admin API (on the S3 port) as root; prints its answer.
admin() {
  local action=$1 query=${2:-} body=${3:-} out
  out="$(s3_root "$body" -X PATCH -w '\n%{http_code}' "$S3_URL/$action$query")" || die "versitygw admin $action failed: $out"
  [[ "$out" == *$'\n'2?? ]] || die "versitygw admin $action refused: ${out//$'\n'/ }"
  echo "${out%$'\n'*}"
}

# The workers' user (role `user`: its own buckets only, cannot create one) and its ownership of the bucket.
ensure_worker_user() {
  local worker="$PIVOTRL_S3_WORKER_ACCESS_KEY"
  if admin list-users | grep -q "<Access>$worker</Access>"; then
    log "worker user $worker present"
  else
    log "creating the workers' user $worker (role user)"
    admin create-user '' "<Account><Access>$worker</Access><Secret>$PIVOTRL_S3_WORKER_SECRET_KEY</Secret><Role>user</Role></Account>" >/dev/null
  fi
  if admin list-buckets | grep -q "<Name>$S3_BUCKET</Name><Owner>$worker</Owner>"; then
    log "bucket $S3_BUCKET owned by the workers' user"
  else
    log "giving bucket $S3_BUCKET to the workers' user"
    admin change-bucket-owner "/?bucket=$S3_BUCKET&owner=$worker" >/dev/null
  fi
}

start() {
  local pid
  ensure_secrets
  [ -x "$GW_BIN" ] || die "$GW_BIN is missing: run deploy/prod/binaries.sh"
  if pid="$(live_pid s3 "$GW_BIN")"; then
    log "object store already running (pid $pid, $S3_URL)"
  else
    port_free "$S3_PORT" "the S3 object store"
    mkdir -p "$S3_ROOT" "$S3_IAM_DIR"
    chmod 700 "$S3_IAM_DIR"
    log "starting versitygw on $BIND_ADDRESS:$S3_PORT (posix: $S3_ROOT, users: $S3_IAM_DIR, log: $PROD_LOGS/s3.log)"
    ROOT_ACCESS_KEY_ID="$S3_ACCESS_KEY" ROOT_SECRET_ACCESS_KEY="$S3_SECRET_KEY" start_daemon s3 "$GW_BIN" \
      --port "$BIND_ADDRESS:$S3_PORT" --region "$S3_REGION" --iam-dir "$S3_IAM_DIR" --quiet posix "$S3_ROOT"
    pid="$(cat "$PROD_RUN/s3.pid")"
  fi
  wait_until s3 "$pid" 30 answering
  ensure_bucket
  ensure_worker_user
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
