#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Ensures the base image and builds sandboxes/images/<name>/Dockerfile as pivotrl/<name>:latest, from a copy of
# that directory with the sandbox runner (sandboxes/runner, Go) built into it. An image is rebuilt only when its
# build context (the runner included) or the base image changed: the hash of both is kept in the image label
# pivotrl.context-hash.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SANDBOX_IMAGES_DIR="${SANDBOX_IMAGES_DIR:-$PIVOTRL_REPO/sandboxes/images}"
STAGE="$PIVOTRL_STATE/images"
mkdir -p "$PIVOTRL_STATE"

ensure_base_image() {
  if [ -n "${PIVOTRL_BASE_IMAGE:-}" ]; then
    BASE_IMAGE="$PIVOTRL_BASE_IMAGE"
    log "base image $BASE_IMAGE (from PIVOTRL_BASE_IMAGE)"
    return
  fi
  BASE_IMAGE=pivotrl/base:bookworm
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "base image $BASE_IMAGE already present"
    return
  fi
  is_root || die "building $BASE_IMAGE needs root (debootstrap); re-run as root, or set PIVOTRL_BASE_IMAGE (e.g. debian:bookworm-slim where a registry is reachable)"
  command -v debootstrap >/dev/null || apt_install debootstrap
  local root
  root="$(mktemp -d)"
  # shellcheck disable=SC2064
  trap "rm -rf '$root'" EXIT
  log "building base image $BASE_IMAGE (debootstrap minbase bookworm; a few minutes; log: $PIVOTRL_STATE/debootstrap.log)"
  debootstrap --variant=minbase bookworm "$root" "${DEBIAN_MIRROR:-http://deb.debian.org/debian}" \
    >"$PIVOTRL_STATE/debootstrap.log" 2>&1 || die "debootstrap failed; see $PIVOTRL_STATE/debootstrap.log"
  tar -C "$root" -c . | docker import - "$BASE_IMAGE" >/dev/null
  rm -rf "$root"
  trap - EXIT
}

# sha256 over the context's file names and contents, plus the base image's name and id.
context_hash() {
  {
    (cd "$1" && find . \( -type f -o -type l \) -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum)
    echo "BASE_IMAGE=$BASE_IMAGE $(docker image inspect -f '{{.Id}}' "$BASE_IMAGE" 2>/dev/null || true)"
  } | sha256sum | cut -d' ' -f1
}

# The runner is a static binary built without VCS stamp or paths, so it changes (and the images with it) only
# when its source or the Go release does. Go is found as the Temporal CLI's build finds it (temporal-cli.sh runs
# before this script in up.sh).
build_runner() {
  command -v go >/dev/null ||
    die "go not found: Go >= 1.22 is needed to build the sandbox runner (sandboxes/runner; https://go.dev/dl/)"
  mkdir -p "$STAGE"
  (cd "$PIVOTRL_REPO/sandboxes/runner" &&
    CGO_ENABLED=0 GOOS=linux GOTOOLCHAIN=local go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$STAGE/runner" .) ||
    die "building the sandbox runner (sandboxes/runner) failed"
}

ensure_base_image
build_runner

shopt -s nullglob
dockerfiles=("$SANDBOX_IMAGES_DIR"/*/Dockerfile)
[ ${#dockerfiles[@]} -gt 0 ] || log "no sandbox images under $SANDBOX_IMAGES_DIR"
for dockerfile in "${dockerfiles[@]}"; do
  name="$(basename "$(dirname "$dockerfile")")"
  context="$STAGE/$name"
  rm -rf "$context"
  mkdir -p "$context"
  cp -a "$(dirname "$dockerfile")/." "$context/"
  cp "$STAGE/runner" "$context/runner"
  image="pivotrl/$name:latest"
  hash="$(context_hash "$context")"
  current="$(docker image inspect -f '{{index .Config.Labels "pivotrl.context-hash"}}' "$image" 2>/dev/null || true)"
  if [ "$current" = "$hash" ]; then
    log "image $image up to date"
    continue
  fi
  build_log="$PIVOTRL_STATE/build-$name.log"
  log "building image $image (log: $build_log)"
  if ! docker build --build-arg "BASE_IMAGE=$BASE_IMAGE" --label "pivotrl.context-hash=$hash" \
    -t "$image" "$context" >"$build_log" 2>&1; then
    tail -n 30 "$build_log" >&2
    die "building $image failed; see $build_log"
  fi
done
