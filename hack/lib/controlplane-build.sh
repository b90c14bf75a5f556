#!/usr/bin/env bash
# Builds the local cluster's binaries (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, kubelet, kube-proxy, kwok,
# helm) from the Go modules
# pinned under hack/tools/ and caches them outside the tree, keyed by the
# pinned versions and the Go version. A second call with the same pins returns
# at once. Prints the directory that holds the binaries.
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS_DIR="$HACK_DIR/tools"
CACHE_ROOT="${OPSCOPILOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/opscopilot}"

kube_version() { (cd "$TOOLS_DIR/kubernetes" && go list -m -f "{{.Version}}" k8s.io/kubernetes); }

cache_key() {
  # Only the control plane's modules: hack/tools/prometheus has its own cache
  # (prometheus-build.sh).
  local mods=() gos=() m
  for m in etcd helm kubernetes kwok; do mods+=("$TOOLS_DIR/$m/go.mod"); done
  for m in etcd helm kubernetes kwok; do mods+=("$TOOLS_DIR/$m/go.sum"); done
  for m in etcd helm kubernetes kwok; do gos+=("$TOOLS_DIR/$m"/*.go); done
  { go env GOVERSION GOARCH; cat "${mods[@]}"; for m in "${gos[@]}"; do [ -f "$m" ] && cat "$m"; done; } \
    | sha256sum | cut -c1-16
}

build_into() {
  local out="$1" kv major minor date
  kv="$(kube_version)"
  major="$(echo "${kv#v}" | cut -d. -f1)"
  minor="$(echo "${kv#v}" | cut -d. -f2)"
  date="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$kv -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date -X $pkg.gitCommit=0000000000000000000000000000000000000000"
  done
  export CGO_ENABLED=0 GOFLAGS=-mod=mod
  echo "controlplane-build: building etcd" >&2
  (cd "$TOOLS_DIR/etcd" && go build -trimpath -ldflags "-s -w" -o "$out/etcd" .)
  echo "controlplane-build: building kwok" >&2
  (cd "$TOOLS_DIR/kwok" && go build -trimpath -ldflags "-s -w" -o "$out/kwok" sigs.k8s.io/kwok/cmd/kwok)
  echo "controlplane-build: building helm" >&2
  (cd "$TOOLS_DIR/helm" && go build -trimpath -ldflags "-s -w" -o "$out/helm" helm.sh/helm/v3/cmd/helm)
  echo "controlplane-build: building Kubernetes $kv (kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kubelet, kube-proxy)" >&2
  (cd "$TOOLS_DIR/kubernetes" && go build -trimpath -ldflags "$ldflags" -o "$out/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl \
      k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy)
}

main() {
  command -v go >/dev/null || { echo "controlplane-build: go is not installed" >&2; exit 1; }
  local dir="$CACHE_ROOT/controlplane/$(kube_version)-$(cache_key)"
  if [ ! -f "$dir/.complete" ]; then
    local tmp="$dir.tmp.$$"
    rm -rf "$tmp"; mkdir -p "$tmp"
    local start=$SECONDS
    build_into "$tmp"
    touch "$tmp/.complete"
    rm -rf "$dir"; mv "$tmp" "$dir"
    echo "controlplane-build: built in $((SECONDS - start))s into $dir" >&2
  fi
  echo "$dir"
}

main "$@"
