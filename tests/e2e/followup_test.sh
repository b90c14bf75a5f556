#!/usr/bin/env bash
# Follow-up runs (spec.previousRun), on the real control plane and the real
# node: a crash-looping Deployment is investigated, then changed (a new
# rollout that fails differently), then asked a follow-up. The follow-up
# starts from the earlier run's answer and cited evidence, reads Events and
# logs only since the earlier run finished, and says which findings are new
# since and which earlier ones are still seen. A follow-up of a run still in
# progress waits for it; of a run that does not exist, it fails with
# PreviousRunNotFound.
#
# Prints one line per check and "N passed, M failed" at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
NS="e2e-followup-$RUN_ID"
OPERATOR_PID=""
trap 'e2e_cleanup "$NS"' EXIT
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

if ! kubectl get node opscopilot-node >/dev/null 2>&1; then
  bad "the real node opscopilot-node is not part of the cluster (OPSCOPILOT_REAL_NODE=0?)"; finish
fi
install_crds_and_policies || { echo "FAIL the CRDs and admission policies are not ready"; exit 1; }
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null
reader_namespace "$NS"

deploy() {  # deploy MESSAGE: checkout exits 1 after logging MESSAGE
  real_node_deployment "$NS" checkout 1 checkout "echo 'starting checkout'; echo '$1' >&2; exit 1"
}
restarted_with() {  # restarted_with TEXT: a checkout pod restarted whose log says TEXT
  local pod
  for pod in $(kubectl -n "$NS" get pods -l app=checkout -o jsonpath='{range .items[?(@.status.containerStatuses[0].restartCount>=1)]}{.metadata.name}{"\n"}{end}'); do
    kubectl -n "$NS" logs "$pod" 2>/dev/null | grep -q "$1" && return 0
  done
  return 1
}
deploy "FATAL required environment variable DATABASE_URL is not set"
if wait_until 120 restarted_with DATABASE_URL; then ok "checkout crash-loops on the real node"; else bad "checkout never crash-looped"; finish; fi

"$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$ROOT/config/operator.yaml" --health-address 127.0.0.1:0 \
  >"$WORK/operator.log" 2>&1 &
OPERATOR_PID=$!

create() {  # create NAME QUESTION [PREVIOUS]
  cat <<EOF | kubectl -n "$NS" apply -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: $1}
spec: {question: "$2", target: {kind: Deployment, name: checkout}${3:+, previousRun: $3}, limits: {maxSteps: 14}}
EOF
}
finished() { kubectl -n "$NS" wait "dr/$1" --for=condition=Succeeded --timeout="${2:-120}s" >/dev/null 2>&1; }

create why-checkout "Why is checkout crash-looping?"
if finished why-checkout; then
  ok "the first run finished: $(kubectl -n "$NS" get dr why-checkout -o jsonpath='{.status.findings[0].title}' | cut -c1-100)"
else
  bad "the first run did not finish: $(kubectl -n "$NS" get dr why-checkout -o jsonpath='{.status.phase} {.status.message}')"; finish
fi

# The cause changes: a new rollout (Recreate: the old pod goes) that fails
# another way.
deploy "FATAL cannot connect to postgres at db.shop:5432: connection refused"
if wait_until 180 restarted_with "db.shop:5432"; then ok "the new rollout crash-loops with another error"; else bad "the new rollout never crashed"; finish; fi

# The follow-up, and a follow-up of the follow-up created at once: it waits.
create and-why "And why did it start failing differently now?" why-checkout
create and-then "Is it still the database?" and-why
for run in and-why and-then; do
  if finished "$run"; then
    kubectl -n "$NS" get dr "$run" -o json >"$WORK/$run.json"
  else
    bad "$run did not finish: $(kubectl -n "$NS" get dr "$run" -o jsonpath='{.status.phase} {.status.reason} {.status.message}')"; finish
  fi
done
J="$WORK/and-why.json"
if [ "$(jq -r '[.status.steps[] | select(.node == "tool")][0].tool' "$J")" = recall_previous_run ] &&
   jq -e '.status.evidence[] | select(.ref == "DiagnosticRun/why-checkout answer") | .excerpt | test("answered: ")' "$J" >/dev/null &&
   jq -e '[.status.evidence[] | select(.ref | test("^DiagnosticRun/why-checkout E[0-9]+ "))] | length > 0' "$J" >/dev/null; then
  ok "the follow-up starts from the earlier run: its answer and the evidence it cited are evidence here"
else
  bad "the follow-up did not read the earlier run: $(jq -c '[.status.steps[] | {tool, summary}] | .[0:3]' "$J")"
fi
logs="$(jq -r '.status.steps[] | select(.tool == "get_pod_logs") | .summary' "$J")"
events="$(jq -r '.status.steps[] | select(.tool == "get_events") | .summary' "$J")"
if grep -q "since the earlier run finished" <<<"$logs" && grep -q "older, read by the earlier run, left out" <<<"$events"; then
  ok "logs and Events are read only since the earlier run finished"
else
  bad "logs or Events were read whole: logs [$logs] events [$events]"
fi
earlier="$(jq -r '.status.findings[] | select(.subject == "DiagnosticRun/why-checkout") | .title' "$J")"
if [[ "$earlier" == "Earlier run why-checkout (finished "*") found: ("*"["*" seen"*"]"* ]]; then
  ok "what the earlier run found is recorded, each marked still seen or not: ${earlier:0:160}"
else
  bad "no comparison with the earlier run: $earlier"
fi
if jq -e '[.status.findings[] | select(.title | test("(new since|found it too).*the earlier run why-checkout|the earlier run why-checkout (found it too)"))] | length > 0' "$J" >/dev/null &&
   jq -r '.status.answer' "$J" | grep -q "db.shop:5432"; then
  ok "this run's findings say whether they are new since the earlier run, and the answer has the new error"
else
  bad "findings are not compared: $(jq -c '[.status.findings[] | .title]' "$J")"
fi
if citations_ok <"$J" && citations_ok <"$WORK/and-then.json"; then ok "every citation exists"; else bad "a citation names missing evidence"; fi
if jq -e '[.status.steps[] | select(.tool == "recall_previous_run") | .args.name] == ["and-why"]' "$WORK/and-then.json" >/dev/null &&
   [ "$(jq -r .status.startTime "$WORK/and-then.json")" \> "$(jq -r .status.completionTime "$J")" ] ||
   [ "$(jq -r .status.startTime "$WORK/and-then.json")" = "$(jq -r .status.completionTime "$J")" ]; then
  ok "a follow-up of a run in progress waited for it to finish"
else
  bad "and-then did not wait: started $(jq -r .status.startTime "$WORK/and-then.json"), and-why finished $(jq -r .status.completionTime "$J")"
fi

create ghost "And why?" no-such-run
ghost_failed() { [ "$(kubectl -n "$NS" get dr ghost -o jsonpath='{.status.reason}')" = PreviousRunNotFound ]; }
if wait_until 60 ghost_failed; then
  ok "a follow-up of a run that does not exist fails: $(kubectl -n "$NS" get dr ghost -o jsonpath='{.status.message}')"
else
  bad "the follow-up of a missing run did not fail: $(kubectl -n "$NS" get dr ghost -o jsonpath='{.status.phase} {.status.reason}')"
fi
finish
