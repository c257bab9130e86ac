#!/usr/bin/env bash
# Builds the control-plane binary once per machine, cached outside the repository and keyed by a hash
# of its sources, and prints the binary's path. A cold build on 2 cores takes minutes; a cached one, none.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${PLANASONIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/planasonix}"
key="$(cat "$here/go.mod" "$here/go.sum" "$here"/*.go "$here/build.sh" | sha256sum | cut -c1-16)"
out="$cache_root/controlplane-$key/controlplane"
if [ ! -x "$out" ]; then
  mkdir -p "$(dirname "$out")"
  echo "building the control plane (kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, etcd, kubectl) into $out; the first build takes several minutes" >&2
  start=$(date +%s)
  # Stamp the Kubernetes version so kubectl and clients see v1.35.4 rather than v0.0.0-master.
  k8s="$(awk '$1 == "k8s.io/kubernetes" { print $2 }' "$here/go.mod")"
  minor="$(echo "$k8s" | cut -d. -f2)"
  vpkg=k8s.io/component-base/version
  ldflags="-s -w -X $vpkg.gitVersion=$k8s -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean"
  # A private temporary name, then an atomic rename: concurrent first builds cannot corrupt the cache.
  tmp="$out.tmp.$$"
  ( cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags="$ldflags" -o "$tmp" . )
  mv -f "$tmp" "$out"
  ln -sf controlplane "$(dirname "$out")/kubectl"
  echo "control plane built in $(( $(date +%s) - start ))s" >&2
fi
echo "$out"
