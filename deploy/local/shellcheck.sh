#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Ensures shellcheck for `make lint` (Debian's package). Idempotent; as root it installs the package when it is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

command -v shellcheck >/dev/null && exit 0
is_root || die "no shellcheck; install it (sudo apt-get install shellcheck), or re-run this script as root"
log "installing shellcheck (Debian package) for make lint"
apt_install shellcheck
command -v shellcheck >/dev/null || die "shellcheck installed but not on PATH"
