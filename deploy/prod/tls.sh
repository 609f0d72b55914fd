#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# The production stack's CA and certificates for mTLS (openssl), in $PIVOTRL_STATE/prod/tls, keys mode 600:
#   ca.pem/ca.key          the stack's own CA (10 years); only it is trusted, by the server and by every client
#   server.pem/server.key  the Temporal server: frontend, internal services and its system worker (serverAuth + clientAuth),
#                          SANs DNS:localhost, IP:127.0.0.1, the frontend's host and PIVOTRL_TLS_SANS (e.g. IP:10.0.0.5,DNS:temporal.example)
#   worker.pem/worker.key  workers;  cli.pem/cli.key  the CLI and these scripts;  ui.pem/ui.key  the Web UI server
#   ui-proxy.pem/ui-proxy.key  the UI's https login proxy (serverAuth), SANs DNS:localhost, IP:127.0.0.1, the bind address's
#                          client host and PIVOTRL_TLS_SANS; browsers trust ca.pem
# Idempotent: a certificate is kept while it is signed by the CA, names the SANs asked for and stays valid for more than
# PIVOTRL_TLS_RENEW_DAYS (default 30) days; otherwise it is issued again. A new CA (delete ca.pem) re-issues them all.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

command -v openssl >/dev/null || die "openssl not found: install it (apt-get install openssl)"
RENEW_DAYS="${PIVOTRL_TLS_RENEW_DAYS:-30}"
[[ "$RENEW_DAYS" =~ ^[0-9]+$ ]] || die "PIVOTRL_TLS_RENEW_DAYS must be a whole number of days, got '$RENEW_DAYS'"
LEAF_DAYS=365
[ "$RENEW_DAYS" -le "$LEAF_DAYS" ] || die "PIVOTRL_TLS_RENEW_DAYS ($RENEW_DAYS) must be at most the certificates' $LEAF_DAYS days"

# new_key PATH: an EC P-256 private key, created with mode 600.
new_key() { (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null); }

# fresh NAME: the certificate exists, the CA signed it and it outlives the renewal window.
fresh() {
  [ -f "$PROD_TLS/$1.pem" ] && [ -f "$PROD_TLS/$1.key" ] &&
    openssl verify -CAfile "$PROD_TLS/ca.pem" "$PROD_TLS/$1.pem" >/dev/null 2>&1 &&
    openssl x509 -in "$PROD_TLS/$1.pem" -noout -checkend $((RENEW_DAYS * 86400)) >/dev/null
}

ensure_ca() {
  if [ -f "$PROD_TLS/ca.pem" ] && [ -f "$PROD_TLS/ca.key" ] &&
    openssl x509 -in "$PROD_TLS/ca.pem" -noout -checkend $(((LEAF_DAYS + RENEW_DAYS) * 86400)) >/dev/null; then
    return
  fi
  log "creating the stack's certificate authority ($PROD_TLS/ca.pem)"
  new_key "$PROD_TLS/ca.key"
  openssl req -x509 -new -key "$PROD_TLS/ca.key" -sha256 -days 3650 -subj "/O=pivotrl/CN=pivotrl stack CA" \
    -addext 'basicConstraints=critical,CA:TRUE' -addext 'keyUsage=critical,keyCertSign,cRLSign' \
    -out "$PROD_TLS/ca.pem" 2>/dev/null
}

# issue NAME CN EXTENDED_KEY_USAGE [SANS]: the certificate NAME.pem/NAME.key, signed by the CA, unless fresh and the
# same SANs (recorded beside it in NAME.sans) were asked for.
issue() {
  local name=$1 cn=$2 eku=$3 sans=${4:-} ext
  if fresh "$name" && [ "$(cat "$PROD_TLS/$name.sans" 2>/dev/null)" = "$sans" ]; then return; fi
  log "issuing the $name certificate ($cn${sans:+, $sans}; $LEAF_DAYS days)"
  ext="basicConstraints=CA:FALSE"$'\n'"keyUsage=critical,digitalSignature"$'\n'"extendedKeyUsage=$eku"
  [ -z "$sans" ] || ext+=$'\n'"subjectAltName=$sans"
  new_key "$PROD_TLS/$name.key.new"
  openssl req -new -key "$PROD_TLS/$name.key.new" -subj "/O=pivotrl/CN=$cn" -out "$PROD_TLS/$name.csr" 2>/dev/null
  openssl x509 -req -in "$PROD_TLS/$name.csr" -CA "$PROD_TLS/ca.pem" -CAkey "$PROD_TLS/ca.key" -CAcreateserial \
    -sha256 -days "$LEAF_DAYS" -extfile <(printf '%s\n' "$ext") -out "$PROD_TLS/$name.pem.new" 2>/dev/null
  # Key first, then certificate: a reader that sees the new certificate finds its key.
  mv "$PROD_TLS/$name.key.new" "$PROD_TLS/$name.key"
  mv "$PROD_TLS/$name.pem.new" "$PROD_TLS/$name.pem"
  printf '%s' "$sans" >"$PROD_TLS/$name.sans"
  rm -f "$PROD_TLS/$name.csr"
}

# server_sans HOST: the SANs of a server certificate: loopback, HOST (the address clients use), and PIVOTRL_TLS_SANS.
server_sans() {
  local host=$1 sans="DNS:localhost,IP:127.0.0.1" extra
  if [[ "$host" =~ ^[0-9.]+$ ]]; then extra="IP:$host"; else extra="DNS:$host"; fi
  [[ ",$sans," == *",$extra,"* ]] || sans+=",$extra"
  [ -z "${PIVOTRL_TLS_SANS:-}" ] || sans+=",$PIVOTRL_TLS_SANS"
  [[ "$sans" =~ ^((DNS:[A-Za-z0-9.*-]+|IP:[0-9A-Fa-f.:]+)(,|$))+$ ]] ||
    die "PIVOTRL_TLS_SANS must be a comma-separated list of DNS:name and IP:address, got '${PIVOTRL_TLS_SANS:-}'"
  echo "$sans"
}

mkdir -p "$PROD_TLS"
chmod 700 "$PROD_TLS"
sans="$(server_sans "${PROD_TEMPORAL_ADDRESS%:*}")"
proxy_sans="$(server_sans "$CLIENT_HOST")"
ensure_ca
issue server "pivotrl temporal server" serverAuth,clientAuth "$sans"
issue ui-proxy "pivotrl UI" serverAuth "$proxy_sans"
issue worker "pivotrl worker" clientAuth
issue cli "pivotrl cli" clientAuth
issue ui "pivotrl ui" clientAuth
chmod 600 "$PROD_TLS"/*.key
log "certificates valid: $(openssl x509 -in "$PROD_TLS/server.pem" -noout -enddate | cut -d= -f2) at the latest ($PROD_TLS)"
