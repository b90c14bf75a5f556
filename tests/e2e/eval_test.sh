#!/usr/bin/env bash
# The eval (eval/README.md) in CI, through the command a user runs:
#   1. the built-in model over the whole catalog (hack/eval.sh): every
#      scenario becomes broken as it says, and no category passes fewer runs
#      than eval/baseline.json records;
#   2. the harness with a model: hack/eval.sh --model scripted --repeat 2
#      against the scripted model server (rules answer every conversation:
#      the planner reads Events, the answer names "Insufficient cpu" whatever
#      the question). The report must show the model's calls, tokens and cost
#      per run, two runs per scenario, the right answer passing and the same
#      answer on another scenario failing its root cause, the model's
#      requests searched for the planted password, and --min-score making the
#      command fail.
#
# Prints one line per case and "N passed, M failed" at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
LLM_PID=""
OPERATOR_PID=""
REPORT_DIR="${EVAL_REPORT_DIR:-$WORK}"
trap 'e2e_cleanup' EXIT
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

# --- 1. the built-in eval, against the recorded baseline ----------------------------
status=0
bash "$ROOT/hack/eval.sh" --baseline "$ROOT/eval/baseline.json" --report "$REPORT_DIR/eval-builtin.json" \
  >"$WORK/builtin.out" 2>&1 || status=$?
sed -n '/^category /,$p' "$WORK/builtin.out" | sed 's/^/    /'
case "$status" in
  0) ok "built-in eval: $(jq -r '"\(.score)% (\(.total.passed) of \(.total.runs) runs) in \(.seconds)s"' "$REPORT_DIR/eval-builtin.json"), no category below eval/baseline.json" ;;
  1) bad "built-in eval fell below eval/baseline.json: $(grep 'below the baseline\|below --min' "$WORK/builtin.out" | tr '\n' ' ')" ;;
  *) bad "built-in eval could not run (exit $status): $(grep -v '^eval: ' "$WORK/builtin.out" | grep -E 'ERROR|opscopilot-eval|eval:' | head -5 | tr '\n' ' ')" ;;
esac
if [ -s "$REPORT_DIR/eval-builtin.json" ] &&
   jq -e '[.results[] | select(.error)] | length == 0' "$REPORT_DIR/eval-builtin.json" >/dev/null &&
   [ "$(jq '.total.runs' "$REPORT_DIR/eval-builtin.json")" -ge 40 ]; then
  ok "every one of $(jq '.total.runs' "$REPORT_DIR/eval-builtin.json") scenarios became broken (or healthy) as its facts say"
else
  bad "scenarios that never became broken: $(jq -r '[.results[] | select(.error) | .scenario] | join(", ")' "$REPORT_DIR/eval-builtin.json" 2>&1)"
fi

# --- 2. the harness with a model ----------------------------------------------------
start_model_server || { bad "scripted model server starts"; finish; }
cat >"$WORK/rules.json" <<'EOF'
{"rules": [
  {"match": {"message_contains": "Draft answer to review"}, "content": "{\"ok\": true}"},
  {"match": {"message_contains": ["Decide what to read next", "<evidence id="]}, "content": "DONE"},
  {"match": {"message_contains": "Decide what to read next"},
   "tool_calls": [{"name": "get_events", "arguments": {"warningsOnly": true}}]},
  {"match": {"message_contains": "Write the answer in markdown"},
   "content": "**Root cause:** the pod cannot be scheduled: Insufficient cpu on every node [E1].\n\n**Fix:** lower resources.requests.cpu."}
], "default": {"content": "unexpected request"}}
EOF
curl -sf -X POST "$LLM/_script" -H 'content-type: application/json' --data-binary @"$WORK/rules.json" >/dev/null ||
  { bad "the rules script is accepted"; finish; }
cat >"$WORK/operator.yaml" <<EOF
workers: 2
defaultModel: builtin
models:
  builtin: {provider: builtin}
  scripted:
    provider: openai
    baseURL: $LLM/v1
    model: scripted-model
    price: {inputPerMTok: "2.50", outputPerMTok: "10.00"}
EOF
status=0
bash "$ROOT/hack/eval.sh" --operator-config "$WORK/operator.yaml" --model scripted --repeat 2 \
  --only insufficient-cpu --only crash-missing-env --only termination-message-secret \
  --model-requests "$LLM/_requests" --min-score 100 --report "$REPORT_DIR/eval-scripted.json" \
  >"$WORK/model.out" 2>&1 || status=$?
R="$REPORT_DIR/eval-scripted.json"
sed -n '/^scenario /,/^$/p' "$WORK/model.out" | sed 's/^/    /'
if [ "$status" = 1 ]; then ok "--min-score 100 fails the command (exit 1) when a model answer misses"; else bad "exit $status, not 1: $(tail -3 "$WORK/model.out")"; fi
if [ -s "$R" ] && [ "$(jq '[.results[] | select(.run)] | length' "$R")" = 6 ] &&
   jq -e '[.results[] | select(.run) | .usage | .llmCalls > 0 and .tokens > 0 and .costUSD > 0] | all' "$R" >/dev/null; then
  ok "two runs per scenario, each with its model calls, tokens and cost ($(jq -r '[.results[] | select(.run) | .usage.costUSD] | add' "$R") USD in all)"
else
  bad "runs and usage: $(jq -c '[.results[] | {scenario, run, usage, error}]' "$R" 2>&1)"
fi
if jq -e '[.results[] | select(.scenario == "insufficient-cpu")] | length == 2 and all(.passed)' "$R" >/dev/null; then
  ok "the model's right answer passes every check"
else
  bad "insufficient-cpu: $(jq -c '[.results[] | select(.scenario == "insufficient-cpu") | .checks]' "$R" 2>&1)"
fi
if jq -e '[.results[] | select(.scenario == "crash-missing-env")] | length == 2 and all(.checks.rootCause.ok | not)' "$R" >/dev/null; then
  ok "the same answer on a crash loop fails its root cause: $(jq -r '[.results[] | select(.scenario == "crash-missing-env")][0].checks.rootCause.detail' "$R")"
else
  bad "crash-missing-env: $(jq -c '[.results[] | select(.scenario == "crash-missing-env") | .checks]' "$R" 2>&1)"
fi
if jq -e '.searched | index("model requests") != null' "$R" >/dev/null &&
   jq -e '[.results[] | select(.scenario == "termination-message-secret")] | length == 2 and all(.checks.noSecret.ok)' "$R" >/dev/null &&
   [ "$(curl -sf "$LLM/_requests" | jq '.requests | length')" -gt 0 ]; then
  ok "the planted password reached neither the model's requests nor the status, Events or log"
else
  bad "secret check: $(jq -c '{searched, checks: [.results[] | select(.scenario == "termination-message-secret") | .checks.noSecret]}' "$R" 2>&1)"
fi
finish
