#!/usr/bin/env bash
# Installs, with apt-get, what the C++ build and the tests need. Idempotent:
# when every package is already present it does nothing and exits quickly.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git curl ca-certificates openssl
  libboost1.81-dev libre2-dev libssl-dev rapidjson-dev libyaml-cpp-dev prometheus-cpp-dev
  libgtest-dev libgmock-dev jq procps python3 python3-yaml python3-venv binutils
  # hack/fuzz.sh: clang with libFuzzer (compiler-rt).
  clang-14 libclang-rt-14-dev
  # The real node of hack/cluster.sh: containerd, runc, CNI plugins, and what
  # the kubelet and kube-proxy call (iptables, nft, conntrack, ip, mount).
  containerd runc containernetworking-plugins iptables nftables conntrack iproute2 util-linux
  # The web timeline's test: headless Chromium.
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

if ! command -v go >/dev/null 2>&1; then
  echo "install-deps: Go is needed to build the local control plane; installing golang-go" >&2
  $SUDO apt-get install -y -qq --no-install-recommends golang-go >/dev/null
fi
