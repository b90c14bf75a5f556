#!/usr/bin/env bash
# hack/image.sh: the operator's container image, built without Docker.
#
#   hack/image.sh                 build _output/opscopilot-operator-VERSION.oci.tar and,
#                                 when hack/cluster.sh's real node is up, import it there
#   hack/image.sh --no-import     only build
#   OUTPUT=FILE hack/image.sh     write the archive elsewhere
#
# The image (docker.io/opscopilot/operator:VERSION, VERSION from CMakeLists.txt)
# holds exactly: the stripped operator binary, the shared libraries it loads
# (as ldd resolves them on this Debian) with their copyright files, the CA
# certificates, /etc/passwd and /etc/group with the non-root user 65532, an
# nsswitch.conf, /tmp, and the default config at /etc/opscopilot/operator.yaml.
# No shell, no package manager. The archive is reproducible: the same binary
# gives the same digest (hack/lib/oci_image.py). The Dockerfile at the
# repository root builds the same layout for people who use Docker.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
import=1
for a in "$@"; do
  case "$a" in
    --no-import) import=0 ;;
    -h | --help) sed -n '2,17p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "image: unknown argument $a" >&2; exit 2 ;;
  esac
done

VERSION="$(sed -n 's/^project(opscopilot .*VERSION \([0-9.]*\)).*/\1/p' CMakeLists.txt)"
[ -n "$VERSION" ] || { echo "image: no version in CMakeLists.txt" >&2; exit 1; }
IMAGE="docker.io/opscopilot/operator:$VERSION"
OUTPUT="${OUTPUT:-$ROOT/_output/opscopilot-operator-$VERSION.oci.tar}"
BUILD_DIR="${BUILD_DIR:-$ROOT/build}"

bash hack/install-deps.sh
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE="${BUILD_TYPE:-RelWithDebInfo}" >/dev/null
fi
cmake --build "$BUILD_DIR" --target opscopilot-operator -j "$(nproc)" >/dev/null
BIN="$BUILD_DIR/opscopilot-operator"

rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs"/{etc/opscopilot,etc/ssl/certs,tmp,usr/local/bin,usr/share/doc}
chmod 1777 "$rootfs/tmp"
strip --strip-unneeded -o "$rootfs/usr/local/bin/opscopilot-operator" "$BIN"

# The shared libraries and the dynamic loader, at the paths ldd resolves.
libs="$(ldd "$BIN" | awk '/=> \// { print $3 } /^\t\/[^ ]+ \(/ { print $1 }' | sort -u)"
for lib in $libs; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
  pkg="$(dpkg -S "$(readlink -f "$lib")" 2>/dev/null | head -n1 | cut -d: -f1)" || pkg=""
  if [ -n "$pkg" ] && [ -f "/usr/share/doc/$pkg/copyright" ]; then
    mkdir -p "$rootfs/usr/share/doc/$pkg"
    cp "/usr/share/doc/$pkg/copyright" "$rootfs/usr/share/doc/$pkg/copyright"
  fi
done
[ -f "$rootfs/lib64/ld-linux-x86-64.so.2" ] || { echo "image: the dynamic loader was not found by ldd" >&2; exit 1; }

cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
cp config/operator.yaml "$rootfs/etc/opscopilot/operator.yaml"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
printf 'hosts: files dns\n' >"$rootfs/etc/nsswitch.conf"
mkdir -p "$rootfs/home/nonroot"
chmod -R u+w,go-w "$rootfs"

mkdir -p "$(dirname "$OUTPUT")"
digest="$(python3 hack/lib/oci_image.py --rootfs "$rootfs" --name "$IMAGE" \
  --entrypoint '["/usr/local/bin/opscopilot-operator"]' \
  --cmd '["--config=/etc/opscopilot/operator.yaml"]' \
  --user 65532:65532 --workdir /home/nonroot \
  --owner home/nonroot=65532:65532 \
  --env PATH=/usr/local/bin --env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
  --label org.opencontainers.image.title=opscopilot-operator \
  --label org.opencontainers.image.version="$VERSION" \
  --label org.opencontainers.image.description="OpsCopilot: bounded, cited Kubernetes diagnostics" \
  --output "$OUTPUT")"
layer_bytes="$(tar -xOf "$OUTPUT" index.json >/dev/null && python3 - "$OUTPUT" <<'EOF'
import json, sys, tarfile
t = tarfile.open(sys.argv[1])
idx = json.load(t.extractfile("index.json"))
m = json.load(t.extractfile("blobs/sha256/" + idx["manifests"][0]["digest"].split(":")[1]))
print(sum(l["size"] for l in m["layers"]))
EOF
)"
echo "image: $IMAGE $digest"
echo "image: $OUTPUT ($((layer_bytes / 1024)) KiB compressed)"

if [ "$import" = 1 ] && bash hack/cluster.sh status >/dev/null 2>&1; then
  bash hack/cluster.sh import-image "$OUTPUT" || echo "image: not imported (is the real node up?)" >&2
fi
