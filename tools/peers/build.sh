#!/usr/bin/env bash
# Builds one of the benchmark's peers from its published Go module, once per machine, cached outside
# the repository and keyed by a hash of this script (which pins the versions), and prints the
# directory that holds its binaries and CRDs:
#   tools/peers/build.sh tekton   Tekton Triggers: eventlistenersink, interceptors; CRDs of Triggers
#                                 and of the Tekton Pipelines version it pins (PipelineRun)
#   tools/peers/build.sh flux     Flux notification-controller; its CRDs
# Only the Go module proxy is used (go mod download / go build). A cold build on 2 cores takes minutes.
set -euo pipefail
peer="${1:?usage: build.sh tekton|flux}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${PLANASONIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/planasonix}"
key="$(cat "$here/build.sh" | sha256sum | cut -c1-16)"

TEKTON_TRIGGERS=github.com/tektoncd/triggers@v0.33.0
FLUX_NOTIFICATION=github.com/fluxcd/notification-controller@v1.6.0

out="$cache_root/peers-$key/$peer"
if [ -f "$out/.built" ]; then
  echo "$out"
  exit 0
fi

module_dir() { # the module's extracted (read-only) directory in the module cache
  go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p'
}

echo "building the $peer peer into $out from the Go module proxy; the first build takes several minutes" >&2
start=$(date +%s)
# A private work directory, then an atomic rename: concurrent first builds cannot corrupt the cache.
work="$(mktemp -d "$cache_root/.peer-$peer.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out/crds"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
case "$peer" in
  tekton)
    src="$(module_dir "$TEKTON_TRIGGERS")"
    cp -r "$src" "$work/src" && chmod -R u+w "$work/src"
    ( cd "$work/src" && go build -trimpath -ldflags='-s -w' -o "$work/out/" ./cmd/eventlistenersink ./cmd/interceptors )
    cp "$src"/config/300-*.yaml "$work/out/crds/"
    # The PipelineRun CRD of the Tekton Pipelines version Triggers builds against.
    pipeline="$(cd "$work/src" && go list -m -f '{{.Path}}@{{.Version}}' github.com/tektoncd/pipeline)"
    cp "$(module_dir "$pipeline")/config/300-crds/300-pipelinerun.yaml" "$work/out/crds/"
    echo "$TEKTON_TRIGGERS $pipeline" > "$work/out/VERSION"
    ;;
  flux)
    src="$(module_dir "$FLUX_NOTIFICATION")"
    cp -r "$src" "$work/src" && chmod -R u+w "$work/src"
    # The module's go.mod replaces its api module with ./api, which the published zip does not hold:
    # use the published api module of the same version instead.
    ( cd "$work/src" && go mod edit -dropreplace github.com/fluxcd/notification-controller/api \
        && go build -trimpath -ldflags='-s -w' -o "$work/out/notification-controller" . )
    cp "$src"/config/crd/bases/*.yaml "$work/out/crds/"
    echo "$FLUX_NOTIFICATION" > "$work/out/VERSION"
    ;;
  *)
    echo "unknown peer: $peer (tekton or flux)" >&2
    exit 2
    ;;
esac
touch "$work/out/.built"
mkdir -p "$(dirname "$out")"
rm -rf "$out"
mv "$work/out" "$out"
echo "$peer peer built in $(( $(date +%s) - start ))s" >&2
echo "$out"
