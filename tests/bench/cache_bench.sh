#!/usr/bin/env bash
# Benchmark (not a test): the operator's memory with many finished runs in its
# cache. One real run gives a realistic status; N copies of it are written
# with no operator running; then the operator starts, lists them all, and its
# RSS is read once its cache has synced.
#   tests/bench/cache_bench.sh [RUNS]     (default 10000)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUNS="${1:-10000}"
cd "$ROOT"
source tests/e2e/lib.sh
bench_setup opscopilot-operator fill_runs
NS="cache-bench-$$"
WORK="$(mktemp -d)"
OP=""
trap '[ -n "$OP" ] && kill $OP 2>/dev/null; kubectl delete ns "$NS" --wait=false >/dev/null 2>&1; rm -rf "$WORK"' EXIT
bench_scenario "$NS"
PORT=$(free_port)
start_operator() {
  ./build/opscopilot-operator --kubeconfig "$KUBECONFIG" --namespace "$NS" --health-address "127.0.0.1:$PORT" \
    >>"$WORK/operator.log" 2>&1 &
  OP=$!
  wait_until 600 curl -sf "http://127.0.0.1:$PORT/readyz"
}
start_operator
kubectl apply -n "$NS" -f tests/e2e/scenarios/crashloop.run.yaml >/dev/null
kubectl -n "$NS" wait dr/why-crashloop --for=condition=Succeeded --timeout=60s >/dev/null
kubectl -n "$NS" get dr why-crashloop -o json | jq .status >"$WORK/status.json"
kill $OP; wait $OP 2>/dev/null || true; OP=""
echo "status of one finished run: $(wc -c <"$WORK/status.json") bytes"
start_fill=$SECONDS
./build/tests/bench/fill_runs --runs "$RUNS" --namespace "$NS" --status-file "$WORK/status.json"
echo "writing them took $((SECONDS - start_fill)) s"
start_sync=$SECONDS
start_operator
echo "operator cache synced with $RUNS finished runs in $((SECONDS - start_sync)) s"
echo "operator RSS: $(awk '/VmRSS/ {printf "%.1f MiB", $2/1024}' /proc/$OP/status) (peak $(awk '/VmHWM/ {printf "%.1f MiB", $2/1024}' /proc/$OP/status))"
