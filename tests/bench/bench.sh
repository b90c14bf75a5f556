#!/usr/bin/env bash
# Benchmark (not a test): N DiagnosticRuns at once against the operator on the
# local control plane. Prints latency, throughput, RSS and requests per run.
#   tests/bench/bench.sh [RUNS]     (default 200)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUNS="${1:-200}"
cd "$ROOT"
source tests/e2e/lib.sh
bench_setup opscopilot-operator run_bench
NS="bench-$$"
kubectl create ns "$NS" >/dev/null
kubectl apply -n "$NS" -f config/rbac/namespace-reader.yaml >/dev/null
kubectl apply -n "$NS" -f tests/e2e/scenarios/crashloop.yaml >/dev/null
wait_until 60 scenario_ready "$NS" crashloop
PORT=$(free_port)
./build/opscopilot-operator --kubeconfig "$KUBECONFIG" --config "${BENCH_CONFIG:-config/operator.yaml}" --namespace "$NS" \
  --health-address "127.0.0.1:$PORT" >/tmp/opscopilot-bench-operator.log 2>&1 &
OP=$!
trap 'kill $OP 2>/dev/null; kubectl delete ns "$NS" --wait=false >/dev/null 2>&1' EXIT
wait_until 60 curl -sf "http://127.0.0.1:$PORT/readyz"
sleep 1  # let the idle RSS settle after start-up
echo "OpsCopilot benchmark: $RUNS runs, builtin model, $(nproc) cores, loopback control plane"
apiserver_pid="$(cat "$OPSCOPILOT_CLUSTER_DIR/run/kube-apiserver.pid")"
etcd_pid="$(cat "$OPSCOPILOT_CLUSTER_DIR/run/etcd.pid")"
cpu() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
before="$(cpu $OP) $(cpu "$apiserver_pid") $(cpu "$etcd_pid")"
./build/tests/bench/run_bench --runs "$RUNS" --namespace "$NS" --operator-pid "$OP" --metrics-port "$PORT"
after="$(cpu $OP) $(cpu "$apiserver_pid") $(cpu "$etcd_pid")"
echo "$before $after" | awk '{printf "CPU seconds during the run: operator %.1f, kube-apiserver %.1f, etcd %.1f\n", $4-$1, $5-$2, $6-$3}'
