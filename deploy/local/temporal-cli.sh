#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Ensures the pinned Temporal CLI (dev server included) at $PIVOTRL_CACHE/bin/temporal.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

installed_version() {
  local v
  v="$("$TEMPORAL_BIN" --version 2>/dev/null | awk '{print $3}')" || true
  # A plain `go install` build reports 0.0.0-DEV: read the module version recorded in the binary.
  if [ "$v" = "0.0.0-DEV" ] && command -v go >/dev/null; then
    v="$(go version -m "$TEMPORAL_BIN" | awk '$1 == "mod" && $2 == "github.com/temporalio/cli" { sub(/^v/, "", $3); print $3 }')"
  fi
  echo "$v"
}

if [ -x "$TEMPORAL_BIN" ] && [ "$(installed_version)" = "$TEMPORAL_CLI_VERSION" ]; then
  log "temporal CLI $TEMPORAL_CLI_VERSION already installed ($TEMPORAL_BIN)"
  exit 0
fi

need_go="Go >= 1.22 is needed to build the Temporal CLI (https://go.dev/dl/; older Go fetches the 1.25 toolchain the module asks for), or put a temporal v$TEMPORAL_CLI_VERSION binary at $TEMPORAL_BIN"
command -v go >/dev/null || die "go not found. $need_go"
go_minor="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
[ "$go_minor" -ge 22 ] 2>/dev/null || die "$(go env GOVERSION) is too old. $need_go"

log "installing temporal CLI $TEMPORAL_CLI_VERSION into $(dirname "$TEMPORAL_BIN") (go install, a few minutes on a cold cache)"
mkdir -p "$(dirname "$TEMPORAL_BIN")"
# Later tags carry a `replace` directive that `go install` refuses, hence the pin.
GOBIN="$(dirname "$TEMPORAL_BIN")" GOTOOLCHAIN=auto go install \
  -ldflags "-X github.com/temporalio/cli/temporalcli.Version=$TEMPORAL_CLI_VERSION" \
  "github.com/temporalio/cli/cmd/temporal@v$TEMPORAL_CLI_VERSION"
log "installed: $("$TEMPORAL_BIN" --version)"
