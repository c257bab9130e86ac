# Sourced: `bah` runs Debian's buildah on the project's own storage (outside the repository, beside
# the control plane's cache), with the vfs driver (no overlay mounts needed) and chroot isolation (no
# runc, no user namespaces): what works as root on a machine without a container engine.
cache_root="${PLANASONIX_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/planasonix}"
buildah_root="$cache_root/buildah"
command -v buildah >/dev/null || {
  echo "installing buildah from Debian" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah >&2
}
bah() {
  BUILDAH_ISOLATION=chroot buildah --root "$buildah_root/storage" --runroot "$buildah_root/run" --storage-driver vfs "$@"
}
