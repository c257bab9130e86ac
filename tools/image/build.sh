#!/usr/bin/env bash
# `make image`: builds the operator image from the Dockerfile, unchanged, with Debian's buildah (no
# Docker engine, no registry: the bases come from tools/image/build-bases.sh), and writes it as an
# OCI archive that `ctr images import`, `skopeo copy oci-archive:…` or `podman load` read.
#   tools/image/build.sh [IMAGE [ARCHIVE]]
# IMAGE defaults to the reference deploy/kustomization.yaml pins; ARCHIVE to dist/image.oci.tar.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=tools/image/buildah.sh
source "$here/buildah.sh"

version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$repo/package.json")"
image="${1:-ghcr.io/planasonix/webhook-operator:$version}"
archive="${2:-$repo/dist/image.oci.tar}"

# An archive built from the same inputs is reused (a second `make image`, or the second test that
# needs it): its key is the hash of everything the build reads from the checkout.
key="$(cd "$repo" && {
  sha256sum Dockerfile .dockerignore package.json package-lock.json tsconfig.json tsconfig.build.json tools/node.sh tools/image/*.sh
  find src -type f -print0 | sort -z | xargs -0 sha256sum
  echo "$image"
} | sha256sum | cut -c1-16)"
if [ -f "$archive" ] && [ "$(cat "$archive.key" 2>/dev/null)" = "$key" ]; then
  echo "$image in $archive is up to date" >&2
  echo "$archive"
  exit 0
fi

mapfile -t bases < <("$here/build-bases.sh")
start=$(date +%s)
# --network host: the build stage's `npm ci` reaches the npm registry as this machine does.
bah bud --pull-never --network host --format oci \
  --build-arg "RUNTIME_IMAGE=${bases[0]}" --build-arg "BUILD_IMAGE=${bases[1]}" \
  -f "$repo/Dockerfile" -t "$image" "$repo" >&2
mkdir -p "$(dirname "$archive")"
rm -f "$archive" "$archive.key"
bah push -q "$image" "oci-archive:$archive:$image" >&2
echo "$key" > "$archive.key"
echo "built $image into $archive in $(( $(date +%s) - start ))s" >&2
echo "$archive"
