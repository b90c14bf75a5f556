#!/usr/bin/env bash
# Builds the images the real node needs without a registry, and caches them:
#   pause    localhost/opscopilot/pause:3.10      the pod sandbox (hack/images/pause/pause.c, static)
#   busybox  localhost/opscopilot/busybox:1.35.0  Debian's busybox-static with every applet linked,
#                                                  /etc/passwd (root, nobody) and /tmp; for test workloads
# Prints one line per image: "NAME ARCHIVE". The archives are OCI layouts
# that `hack/cluster.sh import-image` (ctr images import) loads.
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE_ROOT="${OPSCOPILOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/opscopilot}"
OUT="$CACHE_ROOT/images"
PAUSE_IMAGE="localhost/opscopilot/pause:3.10"
BUSYBOX_IMAGE="localhost/opscopilot/busybox:1.35.0"
mkdir -p "$OUT"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

base_rootfs() { # DIR: the files every image gets
  mkdir -p "$1"/{etc,tmp,proc,sys,dev}
  chmod 1777 "$1/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$1/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$1/etc/group"
}

build_pause() {
  local key="$(cat "$HACK_DIR/images/pause/pause.c" "$HACK_DIR/lib/oci_image.py" | sha256sum | cut -c1-16)"
  local archive="$OUT/pause-$key.tar"
  if [ ! -f "$archive" ]; then
    command -v gcc >/dev/null || { echo "node-images: gcc is needed (hack/install-deps.sh)" >&2; exit 1; }
    base_rootfs "$work/pause"
    gcc -static -Os -s -o "$work/pause/pause" "$HACK_DIR/images/pause/pause.c"
    python3 "$HACK_DIR/lib/oci_image.py" --rootfs "$work/pause" --name "$PAUSE_IMAGE" \
      --entrypoint '["/pause"]' --user 65535:65535 --output "$archive" >/dev/null
  fi
  echo "$PAUSE_IMAGE $archive"
}

build_busybox() {
  local deb version
  mkdir -p "$CACHE_ROOT/debs"
  deb="$(ls "$CACHE_ROOT"/debs/busybox-static_*.deb 2>/dev/null | head -n1 || true)"
  if [ -z "$deb" ]; then
    (cd "$CACHE_ROOT/debs" && apt-get download busybox-static >/dev/null 2>&1) || {
      apt-get update -qq >/dev/null 2>&1 || true
      (cd "$CACHE_ROOT/debs" && apt-get download busybox-static >/dev/null)
    }
    deb="$(ls "$CACHE_ROOT"/debs/busybox-static_*.deb | head -n1)"
  fi
  local key="$(cat "$deb" "$HACK_DIR/lib/oci_image.py" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)"
  local archive="$OUT/busybox-$key.tar"
  if [ ! -f "$archive" ]; then
    dpkg-deb -x "$deb" "$work/deb"
    local root="$work/busybox"
    base_rootfs "$root"
    mkdir -p "$root/bin"
    cp "$work/deb/bin/busybox" "$root/bin/busybox"
    local applet
    for applet in $("$root/bin/busybox" --list); do
      [ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
    done
    python3 "$HACK_DIR/lib/oci_image.py" --rootfs "$root" --name "$BUSYBOX_IMAGE" \
      --cmd '["/bin/sh"]' --env PATH=/bin --output "$archive" >/dev/null
  fi
  echo "$BUSYBOX_IMAGE $archive"
}

build_pause
build_busybox
