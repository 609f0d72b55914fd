#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Builds the Docker socket proxy (sandboxes/docker-proxy, Go, stdlib only) into $PIVOTRL_CACHE/bin/pivotrl-docker-proxy.
# A CPU worker's host runs it beside the worker and gives the worker only its socket:
#   pivotrl-docker-proxy /run/pivotrl/docker.sock /var/run/docker.sock &   # as a user that may use the engine
#   DOCKER_HOST=unix:///run/pivotrl/docker.sock npx tsx workers/cpu.ts      # the worker: no access to the engine's socket
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

command -v go >/dev/null ||
  die "go not found: Go >= 1.22 is needed to build the Docker socket proxy (sandboxes/docker-proxy; https://go.dev/dl/)"
mkdir -p "$PIVOTRL_CACHE/bin"
(cd "$PIVOTRL_REPO/sandboxes/docker-proxy" &&
  CGO_ENABLED=0 GOTOOLCHAIN=local go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$PIVOTRL_CACHE/bin/pivotrl-docker-proxy" .) ||
  die "building the Docker socket proxy (sandboxes/docker-proxy) failed"
log "built $PIVOTRL_CACHE/bin/pivotrl-docker-proxy"
