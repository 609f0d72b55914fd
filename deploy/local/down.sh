#!/usr/bin/env bash
# Stops the workers started by workers.sh and the Temporal dev server started by up.sh (dockerd keeps running).
set -euo pipefail
"$(dirname "${BASH_SOURCE[0]}")/workers.sh" stop
"$(dirname "${BASH_SOURCE[0]}")/temporal-server.sh" stop
