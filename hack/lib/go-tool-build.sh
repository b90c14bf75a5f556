#!/usr/bin/env bash
# go-tool-build.sh NAME: builds the Go program in hack/tools/NAME (its own
# module, pinned by its go.mod and go.sum) and caches the binary outside the
# tree, keyed by its sources and the Go version. Prints the binary's path.
#   argocd-health  the DiagnosticRun health check run in gopher-lua, as Argo CD runs it (seconds)
#   otelcol        an OpenTelemetry Collector: OTLP receiver, debug exporter (a few minutes cold)
set -euo pipefail

name="${1:?usage: go-tool-build.sh NAME}"
HACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MOD_DIR="$HACK_DIR/tools/$name"
CACHE_ROOT="${OPSCOPILOT_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/opscopilot}"
[ -f "$MOD_DIR/go.mod" ] || { echo "go-tool-build: no module in $MOD_DIR" >&2; exit 1; }
command -v go >/dev/null || { echo "go-tool-build: go is not installed" >&2; exit 1; }

key="$({ go env GOVERSION GOARCH; cat "$MOD_DIR"/go.mod "$MOD_DIR"/go.sum "$MOD_DIR"/*.go "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-16)"
dir="$CACHE_ROOT/tools/$name-$key"
if [ ! -x "$dir/$name" ]; then
  tmp="$dir.tmp.$$"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  start=$SECONDS
  echo "go-tool-build: building $name" >&2
  (cd "$MOD_DIR" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags "-s -w" -o "$tmp/$name" .)
  echo "go-tool-build: built $name in $((SECONDS - start))s into $dir" >&2
  rm -rf "$dir"
  mv "$tmp" "$dir"
fi
echo "$dir/$name"
