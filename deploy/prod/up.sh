#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Brings up the production stack on one machine: Debian's PostgreSQL, Temporal's server on it (namespace `pivotrl`, retention
# 7 days, the project's search attributes), its Web UI server behind a login proxy (https) and the S3 object store (bucket
# `pivotrl`); writes $PIVOTRL_STATE/prod/stack.env for clients and workers. Its secrets have no default: generated into
# $PIVOTRL_STATE/prod/secrets.env (mode 600) on first run, or the operator's (a known default or weak one is refused).
# Idempotent: a second run checks each step and changes nothing.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/common.sh"

ensure_secrets
"$here/binaries.sh"
"$here/../local/temporal-cli.sh"
"$here/postgres.sh" start
"$here/temporal.sh" start
"$here/ui.sh" start
"$here/ui-proxy.sh" start
"$here/objectstore.sh" start

mkdir -p "$PROD_STATE"
umask 077
cat >"$PROD_STATE/stack.env.tmp" <<ENV
PIVOTRL_TEMPORAL_ADDRESS=$PROD_TEMPORAL_ADDRESS
PIVOTRL_TEMPORAL_NAMESPACE=$PROD_NAMESPACE
PIVOTRL_S3_ENDPOINT=$S3_URL
PIVOTRL_S3_BUCKET=$S3_BUCKET
AWS_ACCESS_KEY_ID=$PIVOTRL_S3_WORKER_ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$PIVOTRL_S3_WORKER_SECRET_KEY
AWS_REGION=$S3_REGION
PIVOTRL_UI_URL=$PROD_UI_URL
PIVOTRL_UI_CERT=$PROD_STATE/ui-proxy/tls.crt
ENV
mv "$PROD_STATE/stack.env.tmp" "$PROD_STATE/stack.env"

log "ready: Temporal at $PROD_TEMPORAL_ADDRESS (namespace $PROD_NAMESPACE), Web UI at $PROD_UI_URL (users viewer and ops," \
  "passwords in $SECRETS_ENV), S3 at $S3_URL (bucket $S3_BUCKET); client and worker settings in $PROD_STATE/stack.env"
