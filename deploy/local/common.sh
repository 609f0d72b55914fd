# shellcheck shell=bash disable=SC2034
# Shared settings and helpers for deploy/local/*.sh (sourced, not run).

PIVOTRL_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PIVOTRL_CACHE="${PIVOTRL_CACHE:-${HOME:-/root}/.cache/pivotrl}"
PIVOTRL_STATE="${PIVOTRL_STATE:-$PIVOTRL_REPO/.pivotrl}"
TEMPORAL_CLI_VERSION=1.5.1
TEMPORAL_BIN="$PIVOTRL_CACHE/bin/temporal"
TEMPORAL_PORT="${TEMPORAL_PORT:-7233}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
TEMPORAL_ADDRESS="127.0.0.1:$TEMPORAL_PORT"

log() { echo "[pivotrl-setup] $*" >&2; }
die() { log "ERROR: $*"; exit 1; }
is_root() { [ "$(id -u)" -eq 0 ]; }

# apt_install PKG...: Debian packages, running `apt-get update` only when a package is unknown.
apt_install() {
  is_root || die "installing $* needs root (or install it yourself: sudo apt-get install $*)"
  command -v apt-get >/dev/null || die "no apt-get here: install $* with your system's package manager"
  mkdir -p "$PIVOTRL_STATE"
  local p apt_log="$PIVOTRL_STATE/apt.log"
  {
    for p in "$@"; do
      if ! apt-cache show "$p" >/dev/null 2>&1; then
        apt-get update
        break
      fi
    done
    # A stale package list can name files the mirror no longer has: refresh once and retry.
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$@" ||
      { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "$@"; }
  } >>"$apt_log" 2>&1 || {
    tail -n 20 "$apt_log" >&2
    die "apt-get install $* failed; see $apt_log"
  }
}
