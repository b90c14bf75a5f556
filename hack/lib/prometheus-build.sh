#!/usr/bin/env bash
# Builds Prometheus from its Go module, pinned in hack/tools/prometheus (only
# static and file service discovery: the remove_all_sd build tag), for the
# tests of query_metrics, and caches it outside the tree keyed by the pin and
# the Go version (about 2 minutes cold on 2 cores). Prints the binary's path.
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOD_DIR="$HACK_DIR/tools/prometheus"
CACHE_ROOT="${OPSCOPILOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/opscopilot}"

command -v go >/dev/null || { echo "prometheus-build: go is not installed" >&2; exit 1; }
key="$({ go env GOVERSION GOARCH; cat "$MOD_DIR/go.mod" "$MOD_DIR/go.sum" "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)"
dir="$CACHE_ROOT/tools/prometheus-$key"
if [ ! -x "$dir/prometheus" ]; then
  tmp="$dir.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  start=$SECONDS
  version="$(cd "$MOD_DIR" && go list -m -f '{{.Version}}' github.com/prometheus/prometheus)"
  echo "prometheus-build: building Prometheus $version" >&2
  (cd "$MOD_DIR" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -tags remove_all_sd -trimpath \
    -ldflags "-s -w -X github.com/prometheus/common/version.Version=${version#v}" \
    -o "$tmp/prometheus" github.com/prometheus/prometheus/cmd/prometheus)
  rm -rf "$dir"
  mv "$tmp" "$dir"
  echo "prometheus-build: built in $((SECONDS - start))s into $dir" >&2
fi
echo "$dir/prometheus"
