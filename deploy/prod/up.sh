#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Brings up the production stack on one machine: Debian's PostgreSQL, Temporal's server on it (namespace `pivotrl`, retention
# 7 days, the project's search attributes), its Web UI server and the S3 object store (bucket `pivotrl`); writes
# $PIVOTRL_STATE/prod/stack.env for clients. Payloads are encrypted (workers/payload-codec.ts) with the key codec.sh
# generates on first run; its codec server decodes them for the UI and the temporal CLI. Idempotent: a second run
# checks each step and changes nothing.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/common.sh"

"$here/binaries.sh"
"$here/../local/temporal-cli.sh"
"$here/postgres.sh" start
"$here/temporal.sh" start
"$here/ui.sh" start
"$here/codec.sh" start
"$here/objectstore.sh" start

mkdir -p "$PROD_STATE"
umask 077
# shellcheck source=/dev/null
source "$CODEC_ENV" # the payload key(s) and the codec server's token, for clients and workers
cat >"$PROD_STATE/stack.env.tmp" <<ENV
PIVOTRL_TEMPORAL_ADDRESS=$PROD_TEMPORAL_ADDRESS
PIVOTRL_TEMPORAL_NAMESPACE=$PROD_NAMESPACE
PIVOTRL_S3_ENDPOINT=http://127.0.0.1:$S3_PORT
PIVOTRL_S3_BUCKET=$S3_BUCKET
AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY
AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
AWS_REGION=$S3_REGION
PIVOTRL_UI_URL=http://127.0.0.1:$PROD_UI_PORT
PIVOTRL_PAYLOAD_KEYS=$PIVOTRL_PAYLOAD_KEYS
TEMPORAL_CODEC_ENDPOINT=$CODEC_URL
TEMPORAL_CODEC_AUTH='Bearer $PIVOTRL_CODEC_TOKEN'
ENV
mv "$PROD_STATE/stack.env.tmp" "$PROD_STATE/stack.env"

log "ready: Temporal at $PROD_TEMPORAL_ADDRESS (namespace $PROD_NAMESPACE), Web UI at http://127.0.0.1:$PROD_UI_PORT," \
  "S3 at http://127.0.0.1:$S3_PORT (bucket $S3_BUCKET), codec server at $CODEC_URL; client settings in $PROD_STATE/stack.env"
