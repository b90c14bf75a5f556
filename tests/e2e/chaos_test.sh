#!/usr/bin/env bash
# Chaos: the operator is SIGKILLed at random moments and restarted, and
# kube-apiserver is restarted once, while 100 runs (built-in, and model runs
# against the scripted model server) are created and investigated. Then:
#   - every run finishes (Succeeded, with an answer);
#   - no step is repeated in any run's status (step IDs 1..n, each once; no
#     tool called twice with the same arguments);
#   - no Event is duplicated (one Started and at most one Completed Event per
#     run, each with count 1);
#   - every model call the model server received was on record in its run's
#     status (usage.llmCallsStarted) before it was sent, so none goes
#     uncounted; a call a kill cut off before its answer was saved is made
#     again, and both are counted (llmCallsStarted minus llmCalls): printed.
# Prints the counts. The fault timing is random (CHAOS_SEED fixes it); the
# waits on outcomes are conditions with deadlines.
#
#   OPSCOPILOT_OPERATOR=build/opscopilot-operator bash tests/e2e/chaos_test.sh
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
NS="e2e-chaos-$RUN_ID"
OPERATOR_PID=""
LLM_PID=""
RUNS="${CHAOS_RUNS:-100}"
MODEL_EVERY=5  # every fifth run uses the model
RANDOM="${CHAOS_SEED:-$$}"

cleanup() {
  kubectl delete clusterlogs "e2e-chaos-$RUN_ID" >/dev/null 2>&1
  e2e_cleanup "$NS"
}
trap cleanup EXIT

# --- the model server: every call answers after 150 ms -------------------------------
start_model_server || { bad "scripted model server starts"; exit 1; }
curl -sf -X POST "$LLM/_script" -H 'content-type: application/json' --data-binary \
  '{"turns": [], "default": {"content": "DONE", "delay_ms": 150, "usage": {"prompt_tokens": 1000, "completion_tokens": 10}}}' >/dev/null

cat >"$WORK/operator.yaml" <<EOF
workers: 4
defaultModel: builtin
models:
  builtin: {provider: builtin}
  scripted:
    provider: openai
    baseURL: $LLM/v1
    model: scripted-model
    maxAttempts: 3
    breakerFailures: 1000
    price: {inputPerMTok: "2.50", outputPerMTok: "10.00"}
limits:
  default: {maxSteps: 16, timeoutSeconds: 600, maxTokens: 200000, maxCostUSD: "5.00"}
EOF

# --- cluster side ----------------------------------------------------------------------
install_crds_and_policies || { echo "FAIL the CRDs and admission policies are not ready"; exit 1; }
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null
reader_namespace "$NS" || exit 1
kubectl apply -n "$NS" -f "$SCENARIOS/crashloop.yaml" >/dev/null
cat <<EOF | kubectl apply -f - >/dev/null
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata: {name: e2e-chaos-$RUN_ID}
spec:
  selector: {matchNamespaces: [$NS]}
  logs:
  - containers: [checkout]
    logsFile: $ROOT/config/samples/logs/checkout.log
    previousLogsFile: $ROOT/config/samples/logs/checkout.previous.log
EOF
wait_until 60 scenario_ready "$NS" crashloop || { bad "the crash-looping workload appears"; exit 1; }

start_operator() {
  "$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$WORK/operator.yaml" --namespace "$NS" --health-address 127.0.0.1:0 \
    >>"$WORK/operator.log" 2>&1 &
  OPERATOR_PID=$!
  starts=$((starts + 1))
}
create_run() {  # create_run I: retried while kube-apiserver restarts
  local model=builtin
  [ $(($1 % MODEL_EVERY)) = 0 ] && model=scripted
  local body="{\"apiVersion\":\"opscopilot.io/v1alpha1\",\"kind\":\"DiagnosticRun\",\"metadata\":{\"name\":\"chaos-$1\"},
    \"spec\":{\"question\":\"Why is checkout crash-looping? ($1)\",\"target\":{\"kind\":\"Deployment\",\"name\":\"checkout\"},\"model\":\"$model\"}}"
  local deadline=$((SECONDS + 60))
  until echo "$body" | kubectl -n "$NS" create -f - >/dev/null 2>&1 || kubectl -n "$NS" get dr "chaos-$1" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

# --- chaos: runs arrive ten at a time while the operator is killed at random ---------------
starts=0
kills=0
apiserver_restarts=0
start_operator
i=0
while [ "$i" -lt "$RUNS" ]; do
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    [ "$i" -ge "$RUNS" ] && break
    i=$((i + 1))
    create_run "$i" || bad "run chaos-$i could not be created"
  done
  # Fault timing (not synchronisation): 0.2 to 1.4 s of work, then SIGKILL.
  sleep "0.$((RANDOM % 9 + 2))$((RANDOM % 10))"
  [ $((RANDOM % 2)) = 0 ] && sleep 0.$((RANDOM % 10))
  kill -9 "$OPERATOR_PID" 2>/dev/null && kills=$((kills + 1))
  wait "$OPERATOR_PID" 2>/dev/null
  if [ "$i" -ge $((RUNS / 2)) ] && [ "$apiserver_restarts" = 0 ]; then
    # Mid-run: the operator comes back while kube-apiserver goes away.
    start_operator
    bash "$ROOT/hack/cluster.sh" restart-apiserver >>"$WORK/apiserver-restart.log" 2>&1 &&
      apiserver_restarts=1 || bad "kube-apiserver restarts: $(tail -3 "$WORK/apiserver-restart.log")"
    continue
  fi
  start_operator
done
# The last operator keeps running until every run has finished.
finished_count() {
  kubectl -n "$NS" get dr -o json | jq '[.items[] | select(.status.completionTime != null)] | length'
}
all_finished() { [ "$(finished_count)" = "$RUNS" ]; }
if wait_until 300 all_finished; then
  ok "all $RUNS runs finished after $kills SIGKILLs, $starts operator starts and $apiserver_restarts kube-apiserver restart"
else
  bad "only $(finished_count) of $RUNS runs finished"
fi
kubectl -n "$NS" get dr -o json >"$WORK/runs.json"

# --- what the runs say ------------------------------------------------------------------------
succeeded="$(jq '[.items[] | select(.status.phase == "Succeeded" and (.status.answer // "") != "")] | length' "$WORK/runs.json")"
if [ "$succeeded" = "$RUNS" ]; then
  ok "every run Succeeded with an answer"
else
  bad "$succeeded of $RUNS Succeeded: $(jq -c '[.items[] | select(.status.phase != "Succeeded") | {n: .metadata.name, p: .status.phase, r: .status.reason, m: .status.message}] | .[:3]' "$WORK/runs.json")"
fi
repeated="$(jq '[.items[] | select(
    ([.status.steps[]?.id] != [range(1; (.status.steps | length) + 1)]) or
    ([.status.steps[]? | select(.node == "tool") | [.tool, (.args | tostring)]] | (length != (unique | length))))
  | .metadata.name]' "$WORK/runs.json")"
steps="$(jq '[.items[].status.steps | length] | add' "$WORK/runs.json")"
if [ "$(echo "$repeated" | jq length)" = 0 ]; then
  ok "no step repeated: $steps steps over $RUNS runs, IDs 1..n in every run, no tool called twice with the same arguments"
else
  bad "steps repeated in $(echo "$repeated" | jq -c '.[:5]')"
fi

kubectl -n "$NS" get events -o json >"$WORK/events.json"
dups="$(jq '[.items[] | select(.involvedObject.kind == "DiagnosticRun")]
  | (map(select(.count != 1)) | length) as $counted
  | (group_by([.involvedObject.uid, .reason, .message]) | map(select(length > 1)) | length) as $same
  | (map(select(.reason == "Started")) | group_by(.involvedObject.uid) | map(select(length > 1)) | length) as $started
  | (map(select(.reason == "Completed")) | group_by(.involvedObject.uid) | map(select(length > 1)) | length) as $completed
  | $counted + $same + $started + $completed' "$WORK/events.json")"
started_events="$(jq '[.items[] | select(.involvedObject.kind == "DiagnosticRun" and .reason == "Started")] | length' "$WORK/events.json")"
completed_events="$(jq '[.items[] | select(.involvedObject.kind == "DiagnosticRun" and .reason == "Completed")] | length' "$WORK/events.json")"
if [ "$dups" = 0 ]; then
  ok "no Event duplicated: $started_events Started and $completed_events Completed Events for $RUNS runs, each once, count 1"
else
  bad "$dups duplicated Events: $(jq -c '[.items[] | select(.involvedObject.kind == "DiagnosticRun") | [.involvedObject.name, .reason, .count]] | group_by(.[0:2]) | map(select(length > 1)) | .[:3]' "$WORK/events.json")"
fi

sent="$(curl -sf "$LLM/_requests" | jq '.requests | length')"
kept="$(jq '[.items[].status.usage.llmCalls // 0] | add' "$WORK/runs.json")"
started="$(jq '[.items[].status.usage.llmCallsStarted // 0] | add' "$WORK/runs.json")"
model_runs="$(jq '[.items[] | select(.spec.model == "scripted")] | length' "$WORK/runs.json")"
# Every request the model server received was on record (llmCallsStarted)
# before it was sent; a kill between that save and the send leaves a call
# counted that was never sent (at most one per worker per kill).
if [ "$kept" -ge "$model_runs" ] && [ "$kept" -le "$sent" ] && [ "$started" -ge "$sent" ] &&
   [ $((started - sent)) -le $((kills * 4)) ]; then
  ok "model calls: $sent received by the model server, $started on record before they were sent, $kept kept; $((started - kept)) lost to a kill (counted, made again)"
else
  bad "model calls: $sent received, $started on record, $kept kept over $model_runs model runs ($kills kills)"
fi
if grep -q '"level":"error"' "$WORK/operator.log"; then
  echo "operator errors (expected while kube-apiserver restarts):"
  grep '"level":"error"' "$WORK/operator.log" | jq -r '.msg' 2>/dev/null | sort | uniq -c | sort -rn | head -5
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
