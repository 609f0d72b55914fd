#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Ensures the production stack's Go binaries, built from modules at pinned versions, in $PIVOTRL_CACHE/bin.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# name  module@version  package  (two packages are called `server` upstream, hence the rename)
BINARIES=(
  "temporal-server go.temporal.io/server@v$TEMPORAL_SERVER_VERSION cmd/server"
  "temporal-sql-tool go.temporal.io/server@v$TEMPORAL_SERVER_VERSION cmd/tools/sql"
  "temporal-ui-server github.com/temporalio/ui-server/v2@v2.42.1 cmd/server"
  "versitygw github.com/versity/versitygw@v1.8.0 cmd/versitygw"
)

# The module version recorded in a binary (go version -m), empty when there is none.
built_version() {
  go version -m "$1" 2>/dev/null | awk -v m="$2" '$1 == "mod" && $2 == m { print $3 }'
}

command -v go >/dev/null || need_go=1
for entry in "${BINARIES[@]}"; do
  read -r name modver pkg <<<"$entry"
  mod="${modver%@*}"
  version="${modver#*@}"
  target="$BIN_DIR/$name"
  if [ -x "$target" ] && { [ -n "${need_go:-}" ] || [ "$(built_version "$target" "$mod")" = "$version" ]; }; then
    log "$name $version already built ($target)"
    continue
  fi
  [ -z "${need_go:-}" ] || die "go not found: Go >= 1.22 is needed to build $name ($mod/$pkg@$version) into $BIN_DIR"
  log "building $name from $mod/$pkg@$version (go install; minutes on a cold cache)"
  tmp="$(mktemp -d)"
  GOBIN="$tmp" GOTOOLCHAIN=auto go install "$mod/$pkg@$version" || {
    rm -rf "$tmp"
    die "go install $mod/$pkg@$version failed"
  }
  mkdir -p "$BIN_DIR"
  mv "$tmp/$(basename "$pkg")" "$target"
  rm -rf "$tmp"
  log "built $target"
done
