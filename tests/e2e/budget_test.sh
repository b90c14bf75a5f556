#!/usr/bin/env bash
# Namespace budgets (DiagnosticBudget) on the real control plane, with the
# scripted model server charging by its fixed token rule and the real
# kubectl: a model run is charged to its namespace's budget and the spend is
# visible with `kubectl get dbudget`; once the period's budget is spent a
# model run ends Failed (BudgetExhausted) without a model call, with an Event
# and a message that says when it resets; the built-in model is never
# refused; runs started at once never spend more than the budget together;
# an invalid budget is refused at admission.
#
# Prints one line per check and "N passed, M failed" at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
NS="e2e-budget-$RUN_ID"
OPERATOR_PID=""
LLM_PID=""
trap 'e2e_cleanup "$NS"' EXIT
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

start_model_server || { bad "scripted model server starts"; finish; }
requests() { curl -sf "$LLM/_requests" | jq '.requests | length'; }
# Every conversation answered the same way, each call billed 1000 prompt and
# 100 completion tokens: $0.0035 at the profile's price.
U='"usage": {"prompt_tokens": 1000, "completion_tokens": 100}'
cat >"$WORK/rules.json" <<EOF
{"rules": [
  {"match": {"message_contains": "Draft answer to review"}, "content": "{\"ok\": true}", $U},
  {"match": {"message_contains": "Decide what to read next"}, "content": "DONE", $U},
  {"match": {"message_contains": "Write the answer in markdown"},
   "content": "**Root cause:** checkout exits with code 1 [E1].\n\n**Fix:** set DATABASE_URL.", $U}
], "default": {"content": "unexpected request"}}
EOF
curl -sf -X POST "$LLM/_script" -H 'content-type: application/json' --data-binary @"$WORK/rules.json" >/dev/null ||
  { bad "the rules script is accepted"; finish; }
cat >"$WORK/operator.yaml" <<EOF
workers: 4
defaultModel: builtin
models:
  builtin: {provider: builtin}
  scripted:
    provider: openai
    baseURL: $LLM/v1
    model: scripted-model
    price: {inputPerMTok: "2.50", outputPerMTok: "10.00"}
limits:
  default: {maxSteps: 8, timeoutSeconds: 120, maxTokens: 60000, maxCostUSD: "0.50"}
EOF

install_crds_and_policies || { echo "FAIL the CRDs and admission policies are not ready"; exit 1; }
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null
reader_namespace "$NS"
kubectl apply -n "$NS" -f "$SCENARIOS/crashloop.yaml" >/dev/null
wait_until 60 scenario_ready "$NS" crashloop || { bad "the crash-looping workload appears"; finish; }

# Admission: one budget per namespace, named default; dollars as decimals.
out="$(kubectl apply -n "$NS" -f - 2>&1 <<'EOF'
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticBudget
metadata: {name: team}
spec: {maxCostUSD: "5", period: Day}
EOF
)"
out2="$(kubectl apply -n "$NS" -f - 2>&1 <<'EOF'
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticBudget
metadata: {name: default}
spec: {maxCostUSD: "five dollars", period: Day}
EOF
)"
out3="$(kubectl apply -n "$NS" -f - 2>&1 <<'EOF'
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticBudget
metadata: {name: default}
spec: {maxCostUSD: "5", period: Fortnight}
EOF
)"
if grep -q 'must be named "default"' <<<"$out" && grep -q 'must be a non-negative decimal string' <<<"$out2" &&
   grep -q 'supported values: "Day", "Week", "Month"' <<<"$out3"; then
  ok "an invalid budget is refused at admission with a readable message"
else
  bad "invalid budgets: $out / $out2 / $out3"
fi
kubectl apply -n "$NS" -f - >/dev/null <<'EOF'
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticBudget
metadata: {name: default}
spec: {maxCostUSD: "1.00", period: Day}
EOF

"$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$WORK/operator.yaml" --namespace "$NS" --health-address 127.0.0.1:0 \
  >"$WORK/operator.log" 2>&1 &
OPERATOR_PID=$!
wait_until 20 grep -q '"cache synced"' "$WORK/operator.log" || { bad "operator starts"; cat "$WORK/operator.log"; finish; }

status_is() { [ "$(kubectl -n "$NS" get dbudget default -o jsonpath="$1")" = "$2" ]; }
if wait_until 20 status_is '{.status.spentUSD}' 0.0000; then
  ok "a new budget shows its period at once: $(kubectl -n "$NS" get dbudget default -o jsonpath='{.status.periodStart} to {.status.resetsAt}')"
else
  bad "the budget's status was not written: $(kubectl -n "$NS" get dbudget default -o json | jq -c .status)"
fi

create_run() {  # create_run NAME MODEL
  cat <<EOF | kubectl apply -n "$NS" -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: $1}
spec: {question: "Why is checkout crash-looping?", target: {kind: Deployment, name: checkout}, model: $2}
EOF
}
finished() { [ -n "$(kubectl -n "$NS" get dr "$1" -o jsonpath='{.status.completionTime}' 2>/dev/null)" ]; }
field() { kubectl -n "$NS" get dr "$1" -o jsonpath="$2"; }

# 1. A model run is charged to the namespace.
create_run first scripted
wait_until 60 finished first || { bad "the first run did not finish"; finish; }
cost1="$(field first '{.status.usage.costUSD}')"
if [ "$(field first '{.status.phase}/{.status.reason}')" = Succeeded/Completed ] && [ "$cost1" = 0.0105 ]; then
  ok "a model run completed and cost \$$cost1 (3 calls at \$0.0035)"
else
  bad "first run: $(field first '{.status.phase} {.status.reason} {.status.message} cost {.status.usage.costUSD}')"
fi
if wait_until 20 status_is '{.status.spentUSD}/{.status.runs}' "0.0105/1"; then
  ok "the budget shows the spend: $(kubectl -n "$NS" get dbudget | tr -s ' ' | tail -1)"
else
  bad "the budget does not show the spend: $(kubectl -n "$NS" get dbudget default -o json | jq -c .status)"
fi
printed="$(kubectl -n "$NS" get dbudget)"
if head -1 <<<"$printed" | grep -q "LIMIT *PERIOD *SPENT *REFUSED *RESETS"; then
  ok "kubectl get dbudget prints LIMIT PERIOD SPENT REFUSED RESETS"
else
  bad "kubectl get dbudget: $printed"
fi

# 2. A spent budget refuses the next model run before any model call.
kubectl -n "$NS" patch dbudget default --type merge -p '{"spec":{"maxCostUSD":"0.0105"}}' >/dev/null
before="$(requests)"
create_run second scripted
wait_until 60 finished second || { bad "the second run did not finish"; finish; }
message="$(field second '{.status.message}')"
if [ "$(field second '{.status.phase}/{.status.reason}')" = Failed/BudgetExhausted ] && [ "$(requests)" = "$before" ] &&
   grep -q "namespace $NS has spent its DiagnosticBudget of \$0.0105 a day" <<<"$message" && grep -q "it resets at 20" <<<"$message"; then
  ok "a model run on a spent budget ends BudgetExhausted without a model call: $message"
else
  bad "second run: $(field second '{.status.phase} {.status.reason}') $message (model requests $before -> $(requests))"
fi
if wait_until 20 sh -c "kubectl -n '$NS' get events --field-selector involvedObject.name=second,reason=BudgetExhausted -o name | grep -q ."; then
  ok "a Warning Event BudgetExhausted on the run"
else
  bad "no BudgetExhausted Event"
fi
if wait_until 20 status_is '{.status.refusedRuns}' 1; then ok "the budget counts the refused run"; else bad "refusedRuns: $(kubectl -n "$NS" get dbudget default -o jsonpath='{.status}')"; fi

# 3. The built-in model costs nothing and is never refused.
create_run third builtin
wait_until 60 finished third || { bad "the built-in run did not finish"; finish; }
if [ "$(field third '{.status.phase}/{.status.reason}')" = Succeeded/Completed ]; then
  ok "a built-in run on a spent budget completes"
else
  bad "built-in run: $(field third '{.status.phase} {.status.reason} {.status.message}')"
fi

# 4. Runs at once share what is left and never pass the budget together.
kubectl -n "$NS" patch dbudget default --type merge -p '{"spec":{"maxCostUSD":"0.0400"}}' >/dev/null
for i in 1 2 3 4; do create_run "burst-$i" scripted; done
all_finished() { for i in 1 2 3 4; do finished "burst-$i" || return 1; done; }
wait_until 90 all_finished || { bad "the burst did not finish"; finish; }
total="$(kubectl -n "$NS" get dr -o json | jq -r '[.items[].status.usage.costUSD // "0" | tonumber] | add * 10000 | round')"
outcomes="$(for i in 1 2 3 4; do field "burst-$i" '{.status.reason} '; done)"
if [ "$total" -le 400 ] && grep -qE "BudgetExhausted|BudgetExceeded" <<<"$outcomes"; then
  ok "with four runs started at once, the period's runs spent \$$(python3 -c "print($total/10000)") of the \$0.04 budget; outcomes: $outcomes"
else
  bad "the burst spent \$$(python3 -c "print($total/10000)") of \$0.04: $outcomes"
fi
spent="$(kubectl -n "$NS" get dbudget default -o jsonpath='{.status.spentUSD}')"
if wait_until 20 sh -c "[ \"\$(kubectl -n '$NS' get dbudget default -o jsonpath='{.status.spentUSD}' | tr -d .)\" -le 400 ]"; then
  ok "the budget's status never shows more than the budget (spent \$$(kubectl -n "$NS" get dbudget default -o jsonpath='{.status.spentUSD}'))"
else
  bad "the budget's status shows \$$spent"
fi

# 5. A deleted run stays charged.
kubectl -n "$NS" delete dr first >/dev/null
kubectl -n "$NS" patch dbudget default --type merge -p '{"spec":{"maxCostUSD":"0.0410"}}' >/dev/null
if wait_until 20 sh -c "kubectl -n '$NS' get dbudget default -o jsonpath='{.status.observedGeneration}' | grep -qx \"\$(kubectl -n '$NS' get dbudget default -o jsonpath='{.metadata.generation}')\"" &&
   [ "$(kubectl -n "$NS" get dbudget default -o jsonpath='{.status.spentUSD}' | tr -d .)" -ge 105 ]; then
  ok "deleting a run does not give its spend back (spent \$$(kubectl -n "$NS" get dbudget default -o jsonpath='{.status.spentUSD}'))"
else
  bad "after deleting a run: $(kubectl -n "$NS" get dbudget default -o jsonpath='{.status}')"
fi
finish
