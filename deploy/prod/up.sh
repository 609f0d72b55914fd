#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Brings up the production stack on one machine: Debian's PostgreSQL, Temporal's server on it (namespace `pivotrl`, retention
# 7 days, the project's search attributes; mTLS with the stack's own CA, deploy/prod/tls.sh), its Web UI server behind a
# login proxy (https, certificate of the same CA) and the S3 object store (bucket `pivotrl`); writes
# $PIVOTRL_STATE/prod/stack.env for clients (cli certificate) and worker.env for workers (worker certificate), both with
# the workers' S3 key (limited to the bucket). Its secrets have no default: generated into $PIVOTRL_STATE/prod/secrets.env
# (mode 600) on first run, or the operator's (a known default or weak one is refused); the S3 root keys stay there, for
# these scripts. Payloads are encrypted (workers/payload-codec.ts) with the key codec.sh generates on first run
# (codec.env); its codec server decodes them for the temporal CLI and, through the login proxy's /codec/ route, the UI.
# Idempotent: a second run checks each step and changes nothing (but near-expiry certificates).
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/common.sh"

ensure_secrets
"$here/binaries.sh"
"$here/../local/temporal-cli.sh"
"$here/postgres.sh" start
"$here/tls.sh"
"$here/temporal.sh" start
"$here/ui.sh" start
"$here/codec.sh" start
"$here/ui-proxy.sh" start
"$here/objectstore.sh" start

# env_file FILE CERT: the settings of a client or worker of the stack, as `export` lines in Temporal's own names
# (TEMPORAL_*: workers/connection.ts and the temporal CLI read them), with certificate CERT (cli or worker). Both get the
# workers' S3 key (read and write on the bucket only): ops' CLI needs no more; the root keys stay in secrets.env.
env_file() {
  local file=$1 cert=$2
  cat >"$file.tmp" <<ENV
# Settings for a $cert of the production stack (deploy/prod/up.sh writes it): . $file
export TEMPORAL_ADDRESS='$PROD_TEMPORAL_ADDRESS'
export TEMPORAL_NAMESPACE='$PROD_NAMESPACE'
export TEMPORAL_TLS_SERVER_CA_CERT_PATH='$PROD_TLS/ca.pem'
export TEMPORAL_TLS_CLIENT_CERT_PATH='$PROD_TLS/$cert.pem'
export TEMPORAL_TLS_CLIENT_KEY_PATH='$PROD_TLS/$cert.key'
export PIVOTRL_S3_ENDPOINT='$S3_URL'
export PIVOTRL_S3_BUCKET='$S3_BUCKET'
export AWS_ACCESS_KEY_ID='$PIVOTRL_S3_WORKER_ACCESS_KEY'
export AWS_SECRET_ACCESS_KEY='$PIVOTRL_S3_WORKER_SECRET_KEY'
export AWS_REGION='$S3_REGION'
export PIVOTRL_UI_URL='$PROD_UI_URL'
export PIVOTRL_UI_CERT='$PROD_TLS/ca.pem'
export PIVOTRL_PAYLOAD_KEYS='$PIVOTRL_PAYLOAD_KEYS'
export TEMPORAL_CODEC_ENDPOINT='$CODEC_URL'
export TEMPORAL_CODEC_AUTH='Bearer $PIVOTRL_CODEC_TOKEN'
ENV
  mv "$file.tmp" "$file"
}

mkdir -p "$PROD_STATE"
umask 077
# shellcheck source=/dev/null
source "$CODEC_ENV" # the payload key(s) and the codec server's token, for clients and workers
[[ "$PROD_STATE$PIVOTRL_S3_WORKER_ACCESS_KEY$PIVOTRL_S3_WORKER_SECRET_KEY$PIVOTRL_PAYLOAD_KEYS$PIVOTRL_CODEC_TOKEN" != *"'"* ]] ||
  die "the state path, S3 keys, payload keys and codec token must not contain a single quote"
env_file "$PROD_STATE/stack.env" cli
env_file "$PROD_STATE/worker.env" worker

log "ready: Temporal at $PROD_TEMPORAL_ADDRESS (namespace $PROD_NAMESPACE), Web UI at $PROD_UI_URL (users viewer and ops," \
  "passwords in $SECRETS_ENV; its certificate's CA $PROD_TLS/ca.pem), S3 at $S3_URL (bucket $S3_BUCKET), codec server at" \
  "$CODEC_URL (the UI's through $PROD_UI_URL/codec), mTLS certificates in $PROD_TLS; client settings in" \
  "$PROD_STATE/stack.env, worker settings in $PROD_STATE/worker.env"
