#!/usr/bin/env bash
# Benchmark (not a test): DiagnosticRuns against the operator on the local
# control plane, in three phases printed one after the other:
#   1. one run alone, built-in model: create -> Succeeded, first the first run
#      after the operator started (cold connections, no access decision
#      cached), then a second one;
#   2. RUNS runs at once, built-in model;
#   3. RUNS runs at once on a model (the scripted model server answering
#      each call after MODEL_DELAY_MS), 4 workers, the profile allowing 64
#      calls at once.
# Each prints latency, throughput, the operator's RSS, its API requests and
# status writes per run, and the CPU seconds of the operator, kube-apiserver
# and etcd (and kube-apiserver CPU per run).
#   tests/bench/bench.sh [RUNS]     (default 200; MODEL_DELAY_MS=2000;
#                                    PHASES="one burst model" picks phases;
#                                    BENCH_TRACE=FILE writes each run's create
#                                    and finish, ms from the first create)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUNS="${1:-200}"
MODEL_DELAY_MS="${MODEL_DELAY_MS:-2000}"
cd "$ROOT"
source tests/e2e/lib.sh
bench_setup opscopilot-operator run_bench
NS="bench-$$"
WORK="$(mktemp -d)"
OP="" LLM=""
trap 'kill $OP $LLM 2>/dev/null; [ -n "${BENCH_KEEP:-}" ] || kubectl delete ns "$NS" --wait=false >/dev/null 2>&1; rm -rf "$WORK"' EXIT
bench_scenario "$NS"

# The model phase's server: every turn answers "DONE [E1]" after the delay.
echo "{\"turns\": [], \"default\": {\"content\": \"DONE [E1]\", \"delay_ms\": $MODEL_DELAY_MS}}" >"$WORK/script.json"
python3 tests/llm_server/scripted_llm.py --port 0 --port-file "$WORK/port" --script "$WORK/script.json" >/dev/null 2>&1 &
LLM=$!
wait_until 20 test -s "$WORK/port"
cat >"$WORK/operator.yaml" <<YAML
workers: 4
models:
  builtin: {provider: builtin}
  bench: {provider: openai, baseURL: "http://127.0.0.1:$(cat "$WORK/port")/v1", model: bench, maxConcurrentCalls: 64,
          timeoutSeconds: 60, requestsPerMinute: 0}
YAML

# The operator runs as it does in a cluster: as its ServiceAccount, with the
# RBAC of config/rbac/operator.yaml, authenticated by a bound token (which
# kube-apiserver caches; the admin's client certificate is verified, an
# ECDSA signature check, on every request).
kubectl apply -f config/rbac/operator.yaml >/dev/null
kubectl config view --raw --minify -o jsonpath='{.clusters[0].cluster.certificate-authority-data}' | base64 -d >"$WORK/ca.crt"
OP_KUBECONFIG="$WORK/operator.kubeconfig"
KUBECONFIG="$OP_KUBECONFIG" kubectl config set-cluster bench --embed-certs --certificate-authority="$WORK/ca.crt" \
  --server="$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')" >/dev/null
KUBECONFIG="$OP_KUBECONFIG" kubectl config set-credentials operator \
  --token="$(kubectl create token opscopilot -n opscopilot-system --duration=2h)" >/dev/null
KUBECONFIG="$OP_KUBECONFIG" kubectl config set-context bench --cluster=bench --user=operator >/dev/null
KUBECONFIG="$OP_KUBECONFIG" kubectl config use-context bench >/dev/null

apiserver_pid="$(cat "$OPSCOPILOT_CLUSTER_DIR/run/kube-apiserver.pid")"
etcd_pid="$(cat "$OPSCOPILOT_CLUSTER_DIR/run/etcd.pid")"
cpu() { awk '{print ($14 + $15) / 100}' "/proc/$1/stat"; }
# requests FILE: kube-apiserver's request counts by verb and resource (all
# clients: the operator, the benchmark, and the cluster's own components).
requests() {
  kubectl get --raw /metrics | awk '/^apiserver_request_total\{/ {
    match($0, /resource="[^"]*"/); r = substr($0, RSTART + 10, RLENGTH - 11)
    match($0, /subresource="[^"]*"/); if (RLENGTH > 15) r = r "/" substr($0, RSTART + 13, RLENGTH - 14)
    match($0, /verb="[^"]*"/); v = substr($0, RSTART + 6, RLENGTH - 7)
    n[v " " r] += $NF } END { for (k in n) print k, n[k] }' | sort >"$1"
}

# phase TITLE RUNS [run_bench args...]: a fresh operator for each phase.
phase() {
  local title="$1" runs="$2"
  shift 2
  local port
  port=$(free_port)
  ./build/opscopilot-operator --kubeconfig "$OP_KUBECONFIG" --config "${BENCH_CONFIG:-$WORK/operator.yaml}" --namespace "$NS" \
    --health-address "127.0.0.1:$port" >>"$WORK/operator.log" 2>&1 &
  OP=$!
  wait_until 60 curl -sf "http://127.0.0.1:$port/readyz"
  sleep 1  # let the idle RSS settle after start-up
  echo
  echo "== $title: $runs run(s), $(nproc) cores, loopback control plane"
  local before after
  requests "$WORK/requests.before"
  before="$(cpu $OP) $(cpu "$apiserver_pid") $(cpu "$etcd_pid")"
  ./build/tests/bench/run_bench --runs "$runs" --namespace "$NS" --operator-pid "$OP" --metrics-port "$port" "$@" || true
  if [ "$runs" = 1 ]; then
    echo "-- the same again, on the now warm operator:"
    ./build/tests/bench/run_bench --runs 1 --namespace "$NS" --operator-pid "$OP" --metrics-port "$port" "$@" || true
    # Ten more, one at a time: the warm figure is their median (the machine's
    # noise moves a single run by tens of milliseconds).
    local warm=()
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      warm+=("$(./build/tests/bench/run_bench --runs 1 --namespace "$NS" "$@" | awk '/p50/ {print $3}')")
    done
    printf '%s\n' "${warm[@]}" | sort -n | awk '{v[NR] = $1} END {printf "-- ten more, one at a time: median %.1f ms (min %.1f, max %.1f)\n", (v[5] + v[6]) / 2, v[1], v[NR]}'
    runs=12
  fi
  after="$(cpu $OP) $(cpu "$apiserver_pid") $(cpu "$etcd_pid")"
  echo "$before $after $runs" | awk '{printf "CPU seconds: operator %.1f, kube-apiserver %.1f (%.1f ms per run), etcd %.1f\n", $4-$1, $5-$2, ($5-$2)*1000/$7, $6-$3}'
  requests "$WORK/requests.after"
  echo "kube-apiserver requests per run, all clients (verb resource):"
  awk -v runs="$runs" 'NR == FNR { b[$1 " " $2] = $3; next }
    { d = $3 - b[$1 " " $2]; if (d / runs >= 0.05) printf "  %5.2f  %s %s\n", d / runs, $1, $2 }' \
    "$WORK/requests.before" "$WORK/requests.after" | sort -rn
  kill "$OP"
  wait "$OP" 2>/dev/null || true
  OP=""
}

PHASES=" ${PHASES:-one burst model} "
[[ "$PHASES" != *" one "* ]] || phase "one run alone, builtin" 1
[[ "$PHASES" != *" burst "* ]] || phase "runs at once, builtin" "$RUNS"
[[ "$PHASES" != *" model "* ]] || phase "runs at once, model answering in ${MODEL_DELAY_MS} ms (4 workers, 64 calls at once)" "$RUNS" --model bench
