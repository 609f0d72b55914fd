#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Brings up the local stack: Temporal CLI, Docker engine, sandbox images, a headless browser (UI test), Temporal dev server.
# Idempotent: a second run checks each step and changes nothing.
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
source "$here/common.sh"

"$here/temporal-cli.sh"
"$here/docker-engine.sh"
"$here/images.sh"
"$here/docker-proxy.sh"
"$here/browser.sh"
"$here/temporal-server.sh" start

log "ready: Temporal at $TEMPORAL_ADDRESS, Web UI at http://127.0.0.1:$TEMPORAL_UI_PORT"
