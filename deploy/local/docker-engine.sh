#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Ensures a Docker engine answers. As root, installs Debian's docker.io and starts dockerd if needed, with user-namespace
# remapping (root in a sandbox is an unprivileged uid on the host; PIVOTRL_USERNS_REMAP, default `default`, empty: off).
# An engine already running is left as it is, with a warning when it does not remap.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

warn_without_remap() {
  docker info --format '{{.SecurityOptions}}' 2>/dev/null | grep -q 'name=userns' ||
    log "warning: the Docker engine runs without user-namespace remapping; turn it on with \"userns-remap\": \"default\" in /etc/docker/daemon.json and a restart (images are then built again by images.sh; SECURITY.md)"
}

if docker info >/dev/null 2>&1; then
  log "docker engine already running"
  warn_without_remap
  exit 0
fi

if ! is_root; then
  if ! command -v docker >/dev/null; then
    die "Docker is not installed. Install Docker Engine (e.g. 'sudo apt-get install docker.io'), start it, then re-run (or re-run this script as root)."
  fi
  die "the Docker engine does not answer 'docker info': it is not running or you may not use its socket. Start it ('sudo systemctl start docker') and/or join the docker group ('sudo usermod -aG docker $USER', then log in again), or re-run this script as root."
fi

if ! command -v dockerd >/dev/null; then
  log "installing docker.io (Debian package)"
  apt_install docker.io
fi

mkdir -p "$PIVOTRL_STATE"
dockerd_log="$PIVOTRL_STATE/dockerd.log"
pid=""
if [ -d /run/systemd/system ] && command -v systemctl >/dev/null; then
  log "starting docker (systemctl start docker)"
  systemctl start docker
elif grep -qx dockerd /proc/[0-9]*/comm 2>/dev/null; then
  log "dockerd is already starting; waiting for it"
else
  # PIVOTRL_DOCKERD_ARGS: extra dockerd flags, e.g. "--iptables=false" where iptables is not allowed.
  remap="${PIVOTRL_USERNS_REMAP-default}"
  log "starting dockerd${remap:+ with --userns-remap=$remap} (log: $dockerd_log)"
  # shellcheck disable=SC2086
  setsid dockerd ${remap:+--userns-remap=$remap} ${PIVOTRL_DOCKERD_ARGS:-} >>"$dockerd_log" 2>&1 </dev/null &
  pid=$!
fi

for _ in $(seq 60); do
  if docker info >/dev/null 2>&1; then
    log "docker engine ready"
    warn_without_remap
    exit 0
  fi
  if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
    tail -n 3 "$dockerd_log" >&2
    die "dockerd exited; see $dockerd_log"
  fi
  sleep 1
done
die "the Docker engine did not answer within 60 s; see $dockerd_log"
