#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Stops the production stack started by up.sh (its state stays in $PIVOTRL_STATE/prod).
set -euo pipefail
here="$(dirname "${BASH_SOURCE[0]}")"
"$here/objectstore.sh" stop
"$here/ui-proxy.sh" stop
"$here/codec.sh" stop
"$here/ui.sh" stop
"$here/temporal.sh" stop
"$here/postgres.sh" stop
