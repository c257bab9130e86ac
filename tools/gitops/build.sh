#!/usr/bin/env bash
# Builds the GitOps tools the tests drive, once per machine, cached outside the repository and keyed
# by a hash of their sources (like tools/controlplane/build.sh), and prints the directory holding:
#   helm           helm.sh/helm/v4's own command, at the version go.mod pins (helm lint, template, package)
#   kstatus        Flux's health reading (sigs.k8s.io/cli-utils kstatus) of objects on stdin
#   argocd-health  an Argo CD Lua health script run on objects, with gopher-lua as Argo CD embeds it
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${PLANASONIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/planasonix}"
key="$(cat "$here/go.mod" "$here/go.sum" "$here/build.sh" "$here"/*/main.go | sha256sum | cut -c1-16)"
out="$cache_root/gitops-tools-$key"
if [ ! -x "$out/helm" ] || [ ! -x "$out/kstatus" ] || [ ! -x "$out/argocd-health" ]; then
  echo "building helm, kstatus and argocd-health into $out; the first build takes a few minutes" >&2
  start=$(date +%s)
  helm_version="$(awk '$1 == "helm.sh/helm/v4" { print $2 }' "$here/go.mod")"
  # Stamp helm's version so `helm version` and the charts' .Capabilities.HelmVersion are true.
  ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version"
  # A private temporary directory, then an atomic rename: concurrent first builds cannot corrupt the cache.
  tmp="$out.tmp.$$"
  mkdir -p "$tmp"
  ( cd "$here" && CGO_ENABLED=0 go build -trimpath -ldflags="$ldflags" -o "$tmp/" \
      helm.sh/helm/v4/cmd/helm ./kstatus ./argocd-health )
  rm -rf "$out"
  mv -f "$tmp" "$out"
  echo "gitops tools built in $(( $(date +%s) - start ))s" >&2
fi
echo "$out"
