#!/usr/bin/env bash
# Benchmark (not a test): what the model is sent per investigation on the
# sample scenarios, with the scripted model server standing in for the model
# (its token count is characters/4). Prints prompt tokens per investigation,
# the largest tool result in tokens, and the gateway's own overhead per call.
#   tests/bench/llm_bench.sh
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
source tests/e2e/lib.sh
bench_setup opscopilot-operator gateway_bench
WORK="$(mktemp -d)"
NSS=()
trap 'kill $OP $LLM 2>/dev/null; for n in "${NSS[@]}"; do kubectl delete ns "$n" --wait=false >/dev/null 2>&1; done; kubectl delete clusterlogs llm-bench-$$ >/dev/null 2>&1; rm -rf "$WORK"' EXIT

# Every model turn answers "DONE [E1]": the planner stops, the draft cites E1,
# the critic's reply is not JSON so the draft's own citation check decides.
echo '{"turns": [], "default": {"content": "DONE [E1]"}}' >"$WORK/script.json"
python3 tests/llm_server/scripted_llm.py --port 0 --port-file "$WORK/port" --script "$WORK/script.json" >/dev/null 2>&1 &
LLM=$!
wait_until 20 test -s "$WORK/port"
cat >"$WORK/operator.yaml" <<YAML
models:
  builtin: {provider: builtin}
  bench: {provider: openai, baseURL: "http://127.0.0.1:$(cat "$WORK/port")/v1", model: bench,
          price: {inputPerMTok: "2.50", outputPerMTok: "10.00"}}
health: {address: ""}
YAML
./build/opscopilot-operator --kubeconfig "$KUBECONFIG" --config "$WORK/operator.yaml" >"$WORK/operator.log" 2>&1 &
OP=$!

printf '%-14s %8s %10s %12s %14s\n' scenario calls prompt-tok largest-tool cost-USD
for file in tests/e2e/scenarios/*.run.yaml; do
  name="$(basename "$file" .run.yaml)"
  ns="llm-bench-$name-$$"
  NSS+=("$ns")
  kubectl create ns "$ns" >/dev/null
  kubectl apply -n "$ns" -f config/rbac/namespace-reader.yaml -f "tests/e2e/scenarios/$name.yaml" >/dev/null
  if [ "$name" = crashloop ]; then
    cat <<YAML | kubectl apply -f - >/dev/null
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata: {name: llm-bench-$$}
spec:
  selector: {matchNamespaces: [$ns]}
  logs: [{containers: [checkout], logsFile: $ROOT/config/samples/logs/checkout.log, previousLogsFile: $ROOT/config/samples/logs/checkout.previous.log}]
YAML
  fi
  wait_until 90 scenario_ready "$ns" "$name" || true
  sed 's/^spec:/spec:\n  model: bench/' "$file" | kubectl apply -n "$ns" -f - >/dev/null
  run="$(kubectl -n "$ns" get dr -o jsonpath='{.items[0].metadata.name}')"
  kubectl -n "$ns" wait "dr/$run" --for=jsonpath='{.status.completionTime}' --timeout=60s >/dev/null 2>&1 || true
  kubectl -n "$ns" get dr "$run" -o json | jq -r --arg n "$name" '
    [$n, .status.usage.llmCalls, .status.usage.promptTokens,
     ([.status.evidence[].excerpt | length] | max / 4 | ceil), .status.usage.costUSD] | @tsv' |
    awk -F'\t' '{printf "%-14s %8s %10s %12s %14s\n", $1, $2, $3, $4, $5}'
done
./build/tests/bench/gateway_bench
