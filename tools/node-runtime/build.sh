#!/usr/bin/env bash
# Builds the local node's container runtime once per machine, cached outside the repository and
# keyed by a hash of this script and the pause source, and prints the directory of the binaries:
#   containerd, containerd-shim-runc-v2, ctr   github.com/containerd/containerd/v2 (pinned below)
#   bridge, host-local, loopback, portmap      github.com/containernetworking/plugins (pinned below)
#   pause                                      tools/node-runtime/pause, the sandbox image's only program
# runc itself comes from Debian (see `make node-tools`); the kubelet comes from tools/controlplane.
# Everything is fetched through the Go module proxy, the only source these machines reach.
set -euo pipefail
CONTAINERD_VERSION=v2.4.2
CNI_PLUGINS_VERSION=v1.9.0

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${PLANASONIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/planasonix}"
key="$(cat "$here/build.sh" "$here/pause/go.mod" "$here/pause/main.go" | sha256sum | cut -c1-16)"
out="$cache_root/node-$key"
if [ ! -x "$out/bin/containerd" ]; then
  echo "building the node runtime (containerd $CONTAINERD_VERSION, CNI plugins $CNI_PLUGINS_VERSION, pause) into $out; the first build takes a few minutes" >&2
  start=$(date +%s)
  # A private work directory, then an atomic rename: concurrent first builds cannot corrupt the cache.
  work="$(mktemp -d "$cache_root/node-build.XXXXXX")"
  trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
  mkdir -p "$work/bin"
  export CGO_ENABLED=0 GOFLAGS=-mod=mod
  # The module cache is read-only and module zips carry no vendor/ tree: build from a writable copy
  # that resolves its dependencies through its own go.mod and go.sum.
  copy() {
    local src
    src="$(go mod download -json "$1@$2" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
    [ -n "$src" ] || { echo "go mod download $1@$2 failed" >&2; exit 1; }
    mkdir -p "$work/src/$3" && cp -a "$src/." "$work/src/$3/" && chmod -R u+w "$work/src/$3"
  }
  copy github.com/containerd/containerd/v2 "$CONTAINERD_VERSION" containerd
  ( cd "$work/src/containerd" &&
    go build -trimpath -tags 'urfave_cli_no_docs no_btrfs no_devmapper no_zfs osusergo netgo static_build' \
      -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
      -o "$work/bin/" ./cmd/containerd ./cmd/containerd-shim-runc-v2 ./cmd/ctr )
  copy github.com/containernetworking/plugins "$CNI_PLUGINS_VERSION" cni
  ( cd "$work/src/cni" &&
    go build -trimpath -ldflags "-s -w" -o "$work/bin/" \
      ./plugins/main/bridge ./plugins/main/loopback ./plugins/ipam/host-local ./plugins/meta/portmap )
  ( cd "$here/pause" && GOFLAGS= go build -trimpath -ldflags "-s -w" -o "$work/bin/pause" . )
  mkdir -p "$(dirname "$out")"
  rm -rf "$out.old"; [ -d "$out" ] && mv "$out" "$out.old"
  mv "$work/bin" "$out.tmp.$$" && mkdir -p "$out" && mv "$out.tmp.$$" "$out/bin" && rm -rf "$out.old"
  echo "node runtime built in $(( $(date +%s) - start ))s" >&2
fi
echo "$out/bin"
