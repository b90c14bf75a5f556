#!/usr/bin/env bash
# Builds hack/tools/otelcol (an OpenTelemetry Collector with the OTLP
# receiver and the debug exporter, from the collector's Go modules) and
# caches it outside the tree keyed by its sources and the Go version (a few
# minutes cold on 2 cores). Prints the binary's path.
set -euo pipefail

HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOD_DIR="$HACK_DIR/tools/otelcol"
CACHE_ROOT="${OPSCOPILOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/opscopilot}"

command -v go >/dev/null || { echo "otelcol-build: go is not installed" >&2; exit 1; }
key="$({ go env GOVERSION GOARCH; cat "$MOD_DIR"/go.mod "$MOD_DIR"/go.sum "$MOD_DIR"/*.go "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)"
dir="$CACHE_ROOT/tools/otelcol-$key"
if [ ! -x "$dir/otelcol" ]; then
  tmp="$dir.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  start=$SECONDS
  echo "otelcol-build: building the collector" >&2
  (cd "$MOD_DIR" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$tmp/otelcol" .)
  echo "otelcol-build: built in $((SECONDS - start))s into $dir" >&2
  rm -rf "$dir"
  mv "$tmp" "$dir"
fi
echo "$dir/otelcol"
