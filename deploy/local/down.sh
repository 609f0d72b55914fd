#!/usr/bin/env bash
# Stops the Temporal dev server started by up.sh (dockerd keeps running).
set -euo pipefail
"$(dirname "${BASH_SOURCE[0]}")/temporal-server.sh" stop
