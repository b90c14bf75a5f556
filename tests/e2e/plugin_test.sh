#!/usr/bin/env bash
# kubectl-opscopilot through kubectl's own plugin mechanism (the binary on
# PATH, run as `kubectl opscopilot ...`), against the real control plane and
# the operator:
#   - kubectl lists the plugin;
#   - ask creates a run and follows it with a watch: steps, evidence and a
#     finding as they land (with a model that takes 3 s, a step is printed
#     seconds before the answer), then the cited answer; exit 0;
#   - get lists runs and shows one as a tree; describe adds evidence
#     excerpts, conditions and ApprovalRequests; logs shows the run's Events;
#   - a run that waits for a person: ask says which ApprovalRequest and how
#     to decide it; approve (by the run's name) sets decidedBy to the caller
#     as a SelfSubjectReview names them (alice, through her own kubeconfig),
#     which the decidedBy admission policy accepts, and ask ends when the run
#     does; deny (by the request's name) records the reason as its comment;
#   - bad input gets a clear error: an empty question, an unknown target
#     kind, a spec admission refuses (its message shown), a second decision.
#
# Prints one line per check and "N passed, M failed" at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
NS="e2e-plugin-$RUN_ID"
OPERATOR_PID="" ASK_PID=""
trap 'kill $ASK_PID 2>/dev/null; e2e_cleanup "$NS"' EXIT
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

PLUGIN="${OPSCOPILOT_PLUGIN:-$ROOT/build/kubectl-opscopilot}"
[ -x "$PLUGIN" ] || { bad "no kubectl-opscopilot at $PLUGIN (build the kubectl-opscopilot target)"; finish; }
# kubectl finds plugins on PATH: a directory holding only this one.
mkdir -p "$WORK/bin"
ln -s "$PLUGIN" "$WORK/bin/kubectl-opscopilot"
export PATH="$WORK/bin:$PATH"
ALICE=(--kubeconfig "$OPSCOPILOT_CLUSTER_DIR/kubeconfig-alice")

install_crds_and_policies || { echo "FAIL the CRDs and admission policies are not ready"; exit 1; }
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null
kubectl apply -f "$ROOT/config/admission/approvalrequest-decidedby-policy.yaml" >/dev/null
reader_namespace "$NS"
kubectl -n "$NS" apply -f "$SCENARIOS/crashloop.yaml" >/dev/null
kubectl -n "$NS" create configmap app-config --from-literal=LOG_LEVEL=debug >/dev/null
# alice may decide ApprovalRequests here and read runs (an approver).
cat <<EOF | kubectl apply -f - >/dev/null
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: approver, namespace: $NS}
rules:
- {apiGroups: [opscopilot.io], resources: [approvalrequests], verbs: [get, list, watch, patch]}
- {apiGroups: [opscopilot.io], resources: [diagnosticruns], verbs: [get, list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-approver, namespace: $NS}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: approver}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}]
EOF
wait_until 60 scenario_ready "$NS" crashloop || { bad "the crashloop scenario never became ready"; finish; }
start_model_server || { bad "the scripted model server did not start"; finish; }
cat >"$WORK/operator.yaml" <<EOF
models:
  builtin: {provider: builtin}
  scripted: {provider: openai, baseURL: "$LLM/v1", model: scripted}
EOF
"$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$WORK/operator.yaml" --health-address 127.0.0.1:0 \
  >"$WORK/operator.log" 2>&1 &
OPERATOR_PID=$!

# --- kubectl finds it -----------------------------------------------------------
if kubectl plugin list 2>/dev/null | grep -q "$WORK/bin/kubectl-opscopilot"; then
  ok "kubectl plugin list shows kubectl-opscopilot"
else
  bad "kubectl plugin list: $(kubectl plugin list 2>&1 | head -5)"
fi

# --- ask, followed to the answer ------------------------------------------------
kubectl opscopilot ask "Why is checkout crash-looping?" --target deploy/checkout -n "$NS" --timeout 2m \
  >"$WORK/ask.out" 2>"$WORK/ask.err"
rc=$?
RUN="$(sed -n 's|^diagnosticrun.opscopilot.io/\([^ ]*\) created.*|\1|p' "$WORK/ask.out")"
if [ "$rc" = 0 ] && [ -n "$RUN" ] && grep -q '^  \[[0-9]*\] list_pods  Succeeded' "$WORK/ask.out" &&
   grep -A1 '^  \[[0-9]*\] list_pods  Succeeded' "$WORK/ask.out" | grep -q '^      E[0-9]* list_pods  Pod/checkout-' && grep -q '^  finding F1 ' "$WORK/ask.out" &&
   grep -q '^Succeeded (Completed)' "$WORK/ask.out" && grep -q '\[E[0-9]*\]' <(sed -n '/^Succeeded/,$p' "$WORK/ask.out"); then
  ok "ask created $RUN and printed its steps, evidence and findings as they landed, then the cited answer ($(grep -c '^  \[' "$WORK/ask.out") steps)"
else
  bad "ask (exit $rc): $(cat "$WORK/ask.out") $(cat "$WORK/ask.err")"
fi
# The follow saw the run as it went, not only at the end: the steps came over the watch in several events.
if [ "$(grep -c '^  \[' "$WORK/ask.out")" = "$(kubectl -n "$NS" get dr "$RUN" -o json | jq '[.status.steps[] | select(.state != "Pending" and .state != "Running")] | length')" ]; then
  ok "every step of the run was printed exactly once"
else
  bad "steps printed $(grep -c '^  \[' "$WORK/ask.out"), in the status $(kubectl -n "$NS" get dr "$RUN" -o json | jq '.status.steps | length')"
fi

# --- a slow model run: each step is printed when it lands, not at the end ------------
# The model asks for list_pods at once, then takes 3 s to answer: the
# list_pods step reaches the status (and the terminal) while it thinks.
curl -sf -X POST "$LLM/_script" -d '{"turns": [{"tool_calls": [{"name": "list_pods", "arguments": {}}]},
  {"content": "The container exits with code 1 [E1].", "delay_ms": 3000}],
  "default": {"content": "The container exits with code 1 [E1]."}}' >/dev/null
kubectl opscopilot ask "Why is checkout crash-looping?" --target deploy/checkout --model scripted -n "$NS" --timeout 2m 2>&1 |
  while IFS= read -r line; do printf '%s %s\n' "$(date +%s.%N)" "$line"; done >"$WORK/slow.out"
t_step="$(grep -m1 ' \[[0-9]*\] list_pods  Succeeded' "$WORK/slow.out" | cut -d' ' -f1)"
t_end="$(grep -m1 ' Succeeded (' "$WORK/slow.out" | cut -d' ' -f1)"
if [ -n "$t_step" ] && [ -n "$t_end" ] && awk -v a="$t_step" -v b="$t_end" 'BEGIN { exit !(b - a >= 2) }'; then
  ok "with a model that thinks for 3 s, the list_pods step was printed $(awk -v a="$t_step" -v b="$t_end" 'BEGIN { printf "%.1f", b - a }') s before the answer: followed as it landed"
else
  bad "the slow run's output, timed: $(cut -c1-160 "$WORK/slow.out")"
fi

# --- get, describe, logs ------------------------------------------------------------
out="$(kubectl opscopilot get -n "$NS")"
if grep -Eq "^$RUN +Succeeded +Completed +[0-9]+ +\\\$0 +[0-9]+s +Why is checkout crash-looping\\?" <<<"$out"; then
  ok "get lists the run: $(grep "^$RUN" <<<"$out" | tr -s ' ')"
else
  bad "get: $out"
fi
out="$(kubectl opscopilot get "$RUN" -n "$NS")"
if grep -q '^Status:     Succeeded (Completed)' <<<"$out" && grep -q '^Target:     Deployment/checkout' <<<"$out" &&
   grep -q '^Findings:' <<<"$out" && grep -q '^Answer:' <<<"$out" && ! grep -q '^Conditions:' <<<"$out"; then
  ok "get NAME shows the run as a tree (status, steps, evidence, findings, answer)"
else
  bad "get NAME: $out"
fi
out="$(kubectl opscopilot describe "$RUN" -n "$NS")"
excerpt="$(kubectl -n "$NS" get dr "$RUN" -o json | jq -r '.status.evidence[0].excerpt | split("\n")[0]')"
if grep -qF "      $excerpt" <<<"$out" && grep -q '^Conditions:' <<<"$out" && grep -q '  Succeeded=True' <<<"$out"; then
  ok "describe adds the evidence excerpts and the conditions"
else
  bad "describe: $(head -c 1500 <<<"$out")"
fi
out="$(kubectl opscopilot logs "$RUN" -n "$NS")"
if grep -Eq '^[0-9]+[smhd] +Normal +Completed ' <<<"$out"; then
  ok "logs shows the run's Events: $(tail -1 <<<"$out" | tr -s ' ' | cut -c1-100)"
else
  bad "logs: $out"
fi

# --- a run that waits for a person: approve by the run's name, as alice ------------
ask_bg() {  # ask_bg NAME QUESTION: asks in the background, output in $WORK/NAME.out
  kubectl opscopilot ask "$2" --name "$1" -n "$NS" --timeout 2m >"$WORK/$1.out" 2>"$WORK/$1.err" &
  ASK_PID=$!
}
waiting() { grep -q "^  waiting for ApprovalRequest $1-1-[0-9]*: kubectl opscopilot approve" "$WORK/$1.out"; }
ask_bg gated "What is in configmap/app-config?"
if wait_until 60 waiting gated; then
  APR="$(sed -n 's/^  waiting for ApprovalRequest \([^:]*\):.*/\1/p' "$WORK/gated.out")"
  ok "ask says the run waits for ApprovalRequest $APR and how to decide it"
  # kubectl passes every argument after the plugin's name on to it.
  kubectl opscopilot approve gated -n "$NS" --reason "reading it is fine" "${ALICE[@]}" >"$WORK/approve.out" 2>&1
  rc=$?
  wait "$ASK_PID"
  ask_rc=$?
  ASK_PID=""
  decided="$(kubectl -n "$NS" get apr "$APR" -o jsonpath='{.spec.decision}/{.spec.decidedBy}/{.spec.comment}')"
  if [ "$rc" = 0 ] && [ "$decided" = "Approved/alice/reading it is fine" ] &&
     grep -q "^approvalrequest.opscopilot.io/$APR approved by alice: read_configmap_data for run gated" "$WORK/approve.out"; then
    ok "approve (by the run's name, as alice) set decidedBy from a SelfSubjectReview, which admission accepted: $decided"
  else
    bad "approve (exit $rc): $(cat "$WORK/approve.out"); the request: $decided"
  fi
  if [ "$ask_rc" = 0 ] && grep -q '^  \[[0-9]*\] read_configmap_data  Succeeded' "$WORK/gated.out" && grep -q '^Succeeded' "$WORK/gated.out"; then
    ok "the ask that was waiting saw the approved step run and the answer land"
  else
    bad "the waiting ask (exit $ask_rc): $(cat "$WORK/gated.out" "$WORK/gated.err")"
  fi
  out="$(kubectl opscopilot describe gated -n "$NS")"
  if grep -Eq "^  $APR  step [0-9]+  read_configmap_data  Approved by alice" <<<"$out"; then
    ok "describe lists the run's ApprovalRequests with who decided them"
  else
    bad "describe's ApprovalRequests: $(sed -n '/^ApprovalRequests:/,$p' <<<"$out")"
  fi
  out="$(kubectl opscopilot approve "$APR" -n "$NS" 2>&1)"
  if [ $? = 1 ] && grep -q "already decided: Approved by alice" <<<"$out"; then
    ok "a second decision is refused: $out"
  else
    bad "a second decision: $out"
  fi
else
  bad "the gated run never waited: $(cat "$WORK/gated.out" "$WORK/gated.err")"
fi

# --- deny by the request's name, with a reason ------------------------------------
ask_bg denied "What is in configmap/app-config?"
if wait_until 60 waiting denied; then
  APR="$(sed -n 's/^  waiting for ApprovalRequest \([^:]*\):.*/\1/p' "$WORK/denied.out")"
  kubectl opscopilot deny "$APR" -n "$NS" --reason "not during the incident" >"$WORK/deny.out" 2>&1
  wait "$ASK_PID"
  ASK_PID=""
  ME="$(kubectl auth whoami -o jsonpath='{.status.userInfo.username}')"
  decided="$(kubectl -n "$NS" get apr "$APR" -o jsonpath='{.spec.decision}/{.spec.decidedBy}/{.spec.comment}')"
  if [ "$decided" = "Denied/$ME/not during the incident" ] && ! grep -q 'read_configmap_data  Succeeded' "$WORK/denied.out" &&
     grep -q '^Succeeded' "$WORK/denied.out"; then
    ok "deny (by the request's name) recorded $decided; the step did not run and the run still answered"
  else
    bad "deny: $(cat "$WORK/deny.out"); the request: $decided; the ask: $(tail -5 "$WORK/denied.out")"
  fi
else
  bad "the second gated run never waited: $(cat "$WORK/denied.out" "$WORK/denied.err")"
fi

# --- bad input -------------------------------------------------------------------
out="$(kubectl opscopilot ask "" -n "$NS" 2>&1)"
rc=$?
if [ "$rc" = 2 ] && grep -q "^error: ask takes one question, in quotes" <<<"$out"; then ok "an empty question: $(head -1 <<<"$out")"; else bad "empty question (exit $rc): $out"; fi
out="$(kubectl opscopilot ask "Why?" --target gadget/x -n "$NS" 2>&1)"
rc=$?
if [ "$rc" = 2 ] && grep -q "^error: --target gadget/x: expected KIND/NAME" <<<"$out"; then ok "an unknown target kind: $(head -1 <<<"$out")"; else bad "unknown kind (exit $rc): $out"; fi
out="$(kubectl opscopilot ask "Why?" --model Not_A_Profile -n "$NS" 2>&1)"
rc=$?
if [ "$rc" = 1 ] && grep -q "^error: creating the DiagnosticRun: .*spec.model" <<<"$out"; then
  ok "a spec admission refuses, with its message: $(cut -c1-150 <<<"$out")"
else
  bad "a refused spec (exit $rc): $out"
fi
out="$(kubectl opscopilot frobnicate 2>&1)"
if [ $? = 2 ] && grep -q 'unknown command "frobnicate"' <<<"$out"; then ok "an unknown command is refused with the usage"; else bad "unknown command: $out"; fi

finish
