#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Ensures a headless browser for the UI test (test/integration/ui.test.ts drives it with playwright-core):
# Debian's chromium at /usr/bin/chromium. Idempotent; as root it installs the package when the binary is missing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

CHROMIUM=/usr/bin/chromium

if [ -x "$CHROMIUM" ]; then
  log "chromium present ($("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM"))"
  exit 0
fi
if ! is_root; then
  # Only the UI test needs it: say so, and let the rest of the stack come up.
  log "WARNING: no $CHROMIUM; the UI test needs it (sudo apt-get install chromium, or re-run this script as root)"
  exit 0
fi
log "installing chromium (Debian package) for the UI test"
apt_install chromium
[ -x "$CHROMIUM" ] || die "chromium installed but $CHROMIUM is missing"
log "chromium ready ($("$CHROMIUM" --version 2>/dev/null || echo "$CHROMIUM"))"
