#!/usr/bin/env bash
# Builds hack/tools/argocd-health (the DiagnosticRun health check run in
# gopher-lua, as Argo CD runs it) and caches it outside the tree keyed by its
# sources and the Go version (seconds cold). Prints the binary's path.
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOD_DIR="$HACK_DIR/tools/argocd-health"
CACHE_ROOT="${OPSCOPILOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/opscopilot}"

command -v go >/dev/null || { echo "argocd-health-build: go is not installed" >&2; exit 1; }
key="$({ go env GOVERSION GOARCH; cat "$MOD_DIR"/go.mod "$MOD_DIR"/go.sum "$MOD_DIR"/*.go "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)"
dir="$CACHE_ROOT/tools/argocd-health-$key"
if [ ! -x "$dir/argocd-health" ]; then
  tmp="$dir.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  (cd "$MOD_DIR" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -o "$tmp/argocd-health" .)
  rm -rf "$dir"
  mv "$tmp" "$dir"
fi
echo "$dir/argocd-health"
