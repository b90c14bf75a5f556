#!/usr/bin/env bash
# End to end: an approval binds to exactly what it approves. The operator
# binary against the real control plane of hack/cluster.sh, driven with the
# real kubectl (as the admin user and as user alice).
#
# A run whose question names a ConfigMap (configmap/app-config) pauses on
# the gated read_configmap_data step, and the controller creates an
# ApprovalRequest <run>-<generation>-<step> for it. The controller honours only that very
# object. Each forgery below is Approved, yet the gated step must not run
# (no read_configmap_data tool step, no ConfigMap value anywhere in the
# status), the run must go on to Succeeded and say why (the approval step is
# Skipped with error "ApprovalRequestRejected: ...", a Warning Event
# ApprovalRequestRejected), and the forged request gets status.phase
# Rejected:
#   1. created before the run, with the name the controller would use;
#   2. the controller's request deleted and recreated, approved, by alice;
#   3. the controller's own request, approved, left from generation 1 when
#      the run's spec changes: generation 2 asks again under its own name and
#      honours only its own decision;
#   4. owned by the run and self-consistent, but for other arguments;
#   5. every field right (digest included) but not owned by the run.
# And the controller's own request whose record the status write after the
# create failed to store (6): still honoured once recorded.
# And the genuine path: the controller's own request patched Approved by the
# user still runs the step (the ConfigMap value reaches the evidence).
#
#   OPSCOPILOT_OPERATOR=build/opscopilot-operator bash tests/e2e/approval_forgery_test.sh
#
# Uses whichever cluster hack/cluster.sh points at (OPSCOPILOT_CLUSTER_DIR),
# starting it if it is not up (and stopping it again at the end then). Works
# in one fresh namespace, deleted at the end; applies the CRDs, the reader
# ClusterRole and the decidedBy admission policy (cluster-scoped, left
# installed: other tests share them). Prints one line per check and
# "N passed, M failed" at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
OPERATOR_PID=""
NS="e2e-apr-forgery-$RUN_ID"
ALICE=(--kubeconfig "$OPSCOPILOT_CLUSTER_DIR/kubeconfig-alice")
# A value only read_configmap_data can put into a run's status.
CANARY="canary-value-$RUN_ID"

trap 'remove_status_refusal "e2e-refuse-status-$RUN_ID"; e2e_cleanup "$NS" "$NS-probe"' EXIT

start_operator() {
  "$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$ROOT/config/operator.yaml" --health-address 127.0.0.1:0 \
    >>"$WORK/operator.log" 2>&1 &
  OPERATOR_PID=$!
  wait_until 30 kill -0 "$OPERATOR_PID" || { bad "operator starts"; tail -20 "$WORK/operator.log"; exit 1; }
}
stop_operator() {
  kill -TERM "$OPERATOR_PID" 2>/dev/null
  wait "$OPERATOR_PID" 2>/dev/null
  OPERATOR_PID=""
}

# --- setup -------------------------------------------------------------------
install_crds_and_policies || { echo "FAIL the CRDs and admission policies are not ready"; exit 1; }
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null || exit 1
kubectl apply -f "$ROOT/config/admission/approvalrequest-decidedby-policy.yaml" >/dev/null || exit 1
ME="$(kubectl auth whoami -o jsonpath='{.status.userInfo.username}')"

reader_namespace "$NS" || exit 1
kubectl -n "$NS" create configmap app-config --from-literal=LOG_LEVEL="$CANARY" >/dev/null
kubectl -n "$NS" create configmap other-config --from-literal=MODE="$CANARY" >/dev/null
# alice may read, create, decide and delete ApprovalRequests here (an approver).
cat <<EOF | kubectl apply -f - >/dev/null
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: approver, namespace: $NS}
rules:
- apiGroups: [opscopilot.io]
  resources: [approvalrequests]
  verbs: [get, list, watch, create, patch, update, delete]
- apiGroups: [opscopilot.io]
  resources: [diagnosticruns]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-approver, namespace: $NS}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: approver}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
EOF
alice_can() { [ "$(kubectl "${ALICE[@]}" auth can-i delete approvalrequests.opscopilot.io -n "$NS" 2>/dev/null)" = yes ]; }
wait_until 30 alice_can || bad "alice's RBAC takes effect"
# The policy takes effect asynchronously: wait until it refuses a decidedBy that is not the caller.
policy_active() {
  local out
  out="$(kubectl create --dry-run=server -n "$NS" -f - 2>&1 <<EOF
apiVersion: opscopilot.io/v1alpha1
kind: ApprovalRequest
metadata: {name: policy-probe}
spec: {runRef: {name: probe}, stepID: 1, action: {tool: probe}, decision: Denied, decidedBy: "$ME-not-me"}
EOF
  )"
  grep -q "spec.decidedBy must be your own user name" <<<"$out"
}
wait_until 60 policy_active || bad "decidedBy admission policy active"

# --- helpers -----------------------------------------------------------------
new_run() {  # new_run NAME: creates the run (whole namespace, names app-config); prints its UID
  kubectl -n "$NS" create -o jsonpath='{.metadata.uid}' -f - <<EOF
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: $1}
spec: {question: "What is in configmap/app-config?"}
EOF
}
run_json() { kubectl -n "$NS" get dr "$1" -o json; }
# Waiting, with the request the controller created recorded in the status.
awaiting() {
  run_json "$1" | jq -e '.status.phase == "AwaitingApproval" and
    ([.status.conditions[] | select(.type=="AwaitingApproval" and .status=="True") | .message | test("\\(uid [0-9a-f-]+\\)$")] | any)' >/dev/null
}
finished_gen() {  # finished_gen RUN GENERATION
  [ "$(kubectl -n "$NS" get dr "$1" -o jsonpath='{.status.observedGeneration}/{.status.phase}')" = "$2/Succeeded" ]
}
approval_step() { run_json "$1" | jq -r '[.status.steps[] | select(.node=="approval")] | last | .id'; }
digest() {  # digest RUN_UID GENERATION STEP TOOL ARGS_JSON: the actionDigest, as the CRD documents it
  local canon
  canon="$(jq -cS -n --arg uid "$1" --argjson gen "$2" --argjson step "$3" --arg tool "$4" --argjson args "$5" \
    '{args: $args, generation: $gen, runUID: $uid, stepID: $step, tool: $tool}')"
  printf 'sha256:%s' "$(printf '%s' "$canon" | sha256sum | cut -d' ' -f1)"
}
# forge NAME RUN RUN_UID OWNED(yes|no) ARGS_JSON: an Approved request (as $ME)
# for step $STEP of generation 1 of RUN, created directly with kubectl.
forge() {
  local name=$1 run=$2 uid=$3 owned=$4 args=$5 owners="[]" ref
  [ "$owned" = yes ] && owners="[{\"apiVersion\":\"opscopilot.io/v1alpha1\",\"kind\":\"DiagnosticRun\",\"name\":\"$run\",\"uid\":\"$uid\",\"controller\":true}]"
  ref="{\"name\":\"$run\"$([ -n "$uid" ] && echo ",\"uid\":\"$uid\"")}"
  kubectl -n "$NS" create -f - >/dev/null <<EOF
{"apiVersion": "opscopilot.io/v1alpha1", "kind": "ApprovalRequest",
 "metadata": {"name": "$name", "ownerReferences": $owners},
 "spec": {"runRef": $ref, "runGeneration": 1, "stepID": $STEP,
          "action": {"tool": "read_configmap_data", "args": $args},
          "actionDigest": "$(digest "${uid:-none}" 1 "$STEP" read_configmap_data "$args")",
          "reason": "forged", "risk": "Low", "expiresAt": "2030-01-01T00:00:00Z",
          "decision": "Approved", "decidedBy": "$ME"}}
EOF
}

# check_refused CASE RUN APR WHY_REGEX: nothing gated ran and the run says why.
check_refused() {
  local case=$1 run=$2 apr=$3 why=$4 json reads err events phase
  json="$(run_json "$run")"
  reads="$(echo "$json" | jq '[.status.steps[] | select(.node=="tool" and .tool=="read_configmap_data")] | length')"
  local evidence
  evidence="$(echo "$json" | jq '[.status.evidence[]? | select(.tool=="read_configmap_data")] | length')"
  err="$(echo "$json" | jq -r '[.status.steps[] | select(.node=="approval")] | last | "\(.state) \(.error)"')"
  if [ "$reads" = 0 ] && [ "$evidence" = 0 ] && ! grep -q "$CANARY" <<<"$json"; then
    ok "$case: the gated read_configmap_data did not run (no tool step, no ConfigMap data in evidence or status)"
  else
    bad "$case: gated step ran: $reads read step(s), $evidence evidence item(s), canary in status: $(grep -c "$CANARY" <<<"$json")"
  fi
  if [[ "$err" =~ ^Skipped\ ApprovalRequestRejected:\ .*($why) ]]; then
    ok "$case: the approval step says why: ${err:0:230}"
  else
    bad "$case: approval step: $err (want /$why/)"
  fi
  if [ "$(echo "$json" | jq -r '.status.phase + "/" + .status.reason')" = Succeeded/Completed ]; then
    ok "$case: the run went on without the step and Succeeded"
  else
    bad "$case: run ended $(echo "$json" | jq -r '.status.phase + "/" + .status.reason + ": " + .status.message')"
  fi
  has_event() {
    kubectl -n "$NS" get events --field-selector "involvedObject.name=$run,reason=ApprovalRequestRejected,type=Warning" \
      -o jsonpath='{.items[*].message}' | grep -q .
  }
  if wait_until 20 has_event; then
    ok "$case: Warning Event ApprovalRequestRejected on the run"
  else
    bad "$case: no ApprovalRequestRejected Event for $run"
  fi
  if [ -n "$apr" ]; then
    phase="$(kubectl -n "$NS" get apr "$apr" -o jsonpath='{.status.phase}: {.status.message}' 2>&1)"
    if [[ "$phase" == Rejected:* ]]; then ok "$case: ApprovalRequest $apr is Rejected"; else bad "$case: $apr status: $phase"; fi
  fi
}

# --- the schema keeps the binding immutable ------------------------------------
kubectl apply -n "$NS" -f "$ROOT/tests/e2e/valid/apr-bound.yaml" >/dev/null || bad "schema: valid/apr-bound.yaml accepted"
sed -e 's/name: why-config-3/name: unbound-3/' -e '/expiresAt:/d' -e '/actionDigest:/d' -e '/runGeneration:/d' \
  "$ROOT/tests/e2e/valid/apr-bound.yaml" | kubectl apply -n "$NS" -f - >/dev/null || bad "schema: a request without the bound fields accepted"
refused() {  # refused NAME PATCH MESSAGE
  local out
  if out="$(kubectl -n "$NS" patch apr "$1" --type merge -p "$2" 2>&1)"; then
    bad "schema: $2 on $1 was accepted"
  elif grep -qF "$3" <<<"$out"; then
    ok "schema: $2 on $1 refused: $3"
  else
    bad "schema: $2 on $1 refused without \"$3\": $out"
  fi
}
refused why-config-3 '{"spec":{"runGeneration":3}}' "runGeneration is immutable"
refused why-config-3 '{"spec":{"runGeneration":null}}' "runGeneration is immutable (it cannot be added or removed)"
refused why-config-3 '{"spec":{"runRef":{"uid":"00000000-0000-4000-8000-000000000000"}}}' "runRef is immutable"
refused why-config-3 "{\"spec\":{\"actionDigest\":\"sha256:$(printf '0%.0s' $(seq 64))\"}}" "actionDigest is immutable"
refused why-config-3 '{"spec":{"actionDigest":null}}' "actionDigest is immutable (it cannot be added or removed)"
# (CEL compares date-times as instants: 12:00:00+02:00 -> 10:00:00Z is no change; one hour later is.)
refused why-config-3 '{"spec":{"expiresAt":"2030-01-01T11:00:00Z"}}' "expiresAt is immutable"
refused why-config-3 '{"spec":{"expiresAt":"2030-01-01T13:00:00+02:00"}}' "expiresAt is immutable"
refused why-config-3 '{"spec":{"expiresAt":null}}' "expiresAt is immutable (it cannot be added or removed)"
refused unbound-3 '{"spec":{"expiresAt":"2031-01-01T00:00:00Z"}}' "expiresAt is immutable (it cannot be added or removed)"
refused unbound-3 '{"spec":{"runGeneration":2}}' "runGeneration is immutable (it cannot be added or removed)"
refused unbound-3 "{\"spec\":{\"actionDigest\":\"sha256:$(printf '0%.0s' $(seq 64))\"}}" "actionDigest is immutable (it cannot be added or removed)"
refused unbound-3 '{"spec":{"runRef":{"uid":"00000000-0000-4000-8000-000000000000"}}}' "runRef is immutable"
kubectl -n "$NS" delete apr why-config-3 unbound-3 >/dev/null

start_operator

# --- the genuine path: the controller's own request, approved by the user -------
uid="$(new_run genuine)"
if wait_until 60 awaiting genuine; then
  STEP="$(approval_step genuine)"
  ARGS="$(run_json genuine | jq -cS '[.status.steps[] | select(.node=="approval")] | last | .args')"
  apr="genuine-1-$STEP"
  aj="$(kubectl -n "$NS" get apr "$apr" -o json)"
  want_digest="$(digest "$uid" 1 "$STEP" read_configmap_data "$ARGS")"
  got="$(echo "$aj" | jq -r --arg uid "$uid" '[
      ([.metadata.ownerReferences[] | select(.uid == $uid and .controller == true and .kind == "DiagnosticRun")] | length == 1),
      .spec.runRef.uid == $uid, .spec.runGeneration == 1, .spec.action.tool == "read_configmap_data"] | all')"
  cond_uid="$(run_json genuine | jq -r '.status.conditions[] | select(.type=="AwaitingApproval") | .message')"
  if [ "$got" = true ] && [ "$(echo "$aj" | jq -r .spec.actionDigest)" = "$want_digest" ] &&
     [[ "$cond_uid" == *"(uid $(echo "$aj" | jq -r .metadata.uid))" ]]; then
    ok "genuine: $apr is owned by the run, bound to generation 1, step $STEP, $ARGS, digest recomputed; the run records its UID"
  else
    bad "genuine: request not bound: $(echo "$aj" | jq -c '{owners: .metadata.ownerReferences, spec}') digest want $want_digest; condition: $cond_uid"
  fi
  exp="$(echo "$aj" | jq -r .spec.expiresAt)"
  left=$(($(date -d "$exp" +%s) - $(date +%s)))
  if [ "$left" -gt 3300 ] && [ "$left" -le 3600 ]; then ok "genuine: expiresAt set by the controller ($exp, in ${left}s)"; else bad "genuine: expiresAt $exp"; fi
  kubectl -n "$NS" patch apr "$apr" --type merge -p "{\"spec\":{\"expiresAt\":\"2031-01-01T00:00:00Z\"}}" >"$WORK/out" 2>&1
  if grep -q "expiresAt is immutable" "$WORK/out"; then ok "genuine: expiresAt is immutable"; else bad "genuine: expiresAt changed: $(cat "$WORK/out")"; fi
  kubectl -n "$NS" patch apr "$apr" --type merge -p "{\"spec\":{\"decision\":\"Approved\",\"decidedBy\":\"$ME\"}}" >/dev/null
  if wait_until 60 finished_gen genuine 1; then
    json="$(run_json genuine)"
    reads="$(echo "$json" | jq '[.status.steps[] | select(.node=="tool" and .tool=="read_configmap_data" and .state=="Succeeded")] | length')"
    if [ "$reads" = 1 ] && grep -q "$CANARY" <<<"$json" &&
       [ "$(kubectl -n "$NS" get apr "$apr" -o jsonpath='{.status.phase}')" = Approved ]; then
      ok "genuine: approved by $ME -> read_configmap_data ran, its data is in the evidence, request Approved"
    else
      bad "genuine: reads=$reads canary=$(grep -c "$CANARY" <<<"$json") apr=$(kubectl -n "$NS" get apr "$apr" -o jsonpath='{.status.phase}')"
    fi
  else
    bad "genuine: run did not finish: $(run_json genuine | jq -c '.status | {phase, reason, steps: [.steps[]? | [.id, .node, .tool, .state]]}')"
  fi
else
  bad "genuine: never waited for approval: $(run_json genuine | jq -c '.status | {phase, conditions}')"
  echo "$pass passed, $fail failed"
  exit 1
fi

# --- 2. deleted and recreated (approved) by alice ---------------------------------
uid="$(new_run recreated)"
if wait_until 60 awaiting recreated && [ "$(approval_step recreated)" = "$STEP" ]; then
  apr="recreated-1-$STEP"
  kubectl "${ALICE[@]}" -n "$NS" get apr "$apr" -o json |
    jq '{apiVersion, kind, metadata: {name: .metadata.name, ownerReferences: [.metadata.ownerReferences[] | del(.blockOwnerDeletion)]},
         spec: (.spec + {decision: "Approved", decidedBy: "alice"})}' >"$WORK/recreated.json"
  if kubectl "${ALICE[@]}" -n "$NS" delete apr "$apr" >/dev/null && kubectl "${ALICE[@]}" -n "$NS" create -f "$WORK/recreated.json" >/dev/null; then
    ok "2. recreated: alice deleted $apr and created an identical copy, Approved by alice"
  else
    bad "2. recreated: alice could not delete and recreate $apr"
  fi
  # Creating an object is not an update of the one the run waits on: wake the
  # run the way any edit of it would.
  kubectl -n "$NS" annotate dr recreated e2e.opscopilot.io/poke=1 >/dev/null
  if wait_until 60 finished_gen recreated 1; then
    # The deletion wakes the run too: seen first, it refuses the step then
    # and the copy is never looked at (so it gets no Rejected phase).
    if run_json recreated | jq -r '[.status.steps[] | select(.node=="approval")] | last | .error' |
      grep -c "deleted before a decision" >/dev/null; then apr=""; fi
    check_refused "2. recreated" recreated "$apr" "deleted and recreated|was deleted before a decision"
  else
    bad "2. recreated: run did not finish: $(run_json recreated | jq -c '.status | {phase, steps: [.steps[]? | [.id, .node, .tool, .state]]}')"
  fi
else
  bad "2. recreated: never waited at step $STEP"
fi

# --- 3. left from an earlier generation ----------------------------------------------
uid="$(new_run regen)"
if wait_until 60 awaiting regen; then
  apr="regen-1-$(approval_step regen)"
  kubectl -n "$NS" patch apr "$apr" --type merge -p "{\"spec\":{\"decision\":\"Approved\",\"decidedBy\":\"$ME\"}}" >/dev/null
  if wait_until 60 finished_gen regen 1 && [ "$(run_json regen | jq '[.status.steps[] | select(.tool=="read_configmap_data" and .node=="tool")] | length')" = 1 ]; then
    ok "3. generation: generation 1 ran its approved read"
  else
    bad "3. generation: generation 1 did not run its approved read"
  fi
  kubectl -n "$NS" patch dr regen --type merge -p '{"spec":{"question":"What is in configmap/app-config now?"}}' >/dev/null
  awaiting_gen2() { awaiting regen && [ "$(kubectl -n "$NS" get dr regen -o jsonpath='{.status.observedGeneration}')" = 2 ]; }
  if wait_until 60 awaiting_gen2; then
    apr2="regen-2-$(approval_step regen)"
    if [ "$apr2" != "$apr" ] && kubectl -n "$NS" get apr "$apr2" -o json |
       jq -e '.spec.runGeneration == 2 and (.status.phase // "Pending") == "Pending" and (.spec.decision // "") == ""' >/dev/null; then
      ok "3. generation: generation 2 asks again with its own request $apr2; $apr, approved for generation 1, is not reused"
    else
      bad "3. generation: generation 2 waits on $apr2: $(kubectl -n "$NS" get apr "$apr2" -o json 2>&1 | jq -c '{spec, status}' 2>/dev/null)"
    fi
    # The decision recorded for generation 1 stays as it was.
    expect_phase="$(kubectl -n "$NS" get apr "$apr" -o jsonpath='{.status.phase}')"
    if [ "$expect_phase" = Approved ]; then ok "3. generation: $apr keeps its generation-1 phase Approved"; else bad "3. generation: $apr phase $expect_phase"; fi
    kubectl -n "$NS" patch apr "$apr2" --type merge -p "{\"spec\":{\"decision\":\"Denied\",\"decidedBy\":\"$ME\"}}" >/dev/null
    if wait_until 60 finished_gen regen 2; then
      json="$(run_json regen)"
      if [ "$(echo "$json" | jq '[.status.steps[] | select(.node=="tool" and .tool=="read_configmap_data")] | length')" = 0 ] &&
         [ "$(echo "$json" | jq -r '[.status.steps[] | select(.node=="approval")] | last | .state')" = Skipped ] &&
         ! grep -q "$CANARY" <<<"$json"; then
        ok "3. generation: generation 2 honours only its own decision (Denied): the read did not run, no ConfigMap data"
      else
        bad "3. generation: generation 2 $(echo "$json" | jq -c '.status | {phase, steps: [.steps[]? | [.id, .node, .tool, .state, .error]]}')"
      fi
    else
      bad "3. generation: generation 2 did not finish: $(run_json regen | jq -c '.status | {observedGeneration, phase, steps: [.steps[]? | [.id, .node, .tool, .state]]}')"
    fi
  else
    bad "3. generation: generation 2 did not wait: $(run_json regen | jq -c '.status | {observedGeneration, phase, steps: [.steps[]? | [.id, .node, .tool, .state, .error]]}')"
  fi
else
  bad "3. generation: never waited"
fi

# --- 6. the write that records the controller's own request is refused ----------------
# The request is created, then the status write naming its UID fails (403
# from a policy here; a conflict or a timeout in production). The controller
# still knows the request as its own, records it once it can, and honours it.
if install_status_refusal "e2e-refuse-status-$RUN_ID" "$NS-probe"; then
  kubectl -n "$NS" create -f - >/dev/null <<EOF
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: lostrecord, labels: {e2e.opscopilot.io/refuse: record}}
spec: {question: "What is in configmap/app-config?"}
EOF
  record_refused() { grep '"cannot record the ApprovalRequest in the run' "$WORK/operator.log" | grep -q '"lostrecord"'; }
  if wait_until 60 record_refused; then
    ok "6. lost record: the request was created and the status write recording it was refused"
  else
    bad "6. lost record: the recording write was never refused: $(run_json lostrecord | jq -c '.status | {phase, conditions}')"
  fi
  remove_status_refusal "e2e-refuse-status-$RUN_ID"
  recorded() { kubectl -n "$NS" annotate dr lostrecord --overwrite "e2e.opscopilot.io/poke=$SECONDS" >/dev/null; awaiting lostrecord; }
  if wait_until 90 recorded; then
    apr="$(run_json lostrecord | jq -r '.status.conditions[] | select(.type=="AwaitingApproval") | .message' |
      sed -n 's/.*waits for ApprovalRequest \([^ ]*\) (uid .*/\1/p')"
    kubectl -n "$NS" patch apr "$apr" --type merge -p "{\"spec\":{\"decision\":\"Approved\",\"decidedBy\":\"$ME\"}}" >/dev/null
    if wait_until 60 finished_gen lostrecord 1 &&
       [ "$(run_json lostrecord | jq '[.status.steps[] | select(.node=="tool" and .tool=="read_configmap_data" and .state=="Succeeded")] | length')" = 1 ] &&
       [ "$(kubectl -n "$NS" get apr "$apr" -o jsonpath='{.status.phase}')" = Approved ]; then
      ok "6. lost record: recorded once the write went through; $apr approved by $ME -> read_configmap_data ran"
    else
      bad "6. lost record: $(run_json lostrecord | jq -c '.status | {phase, steps: [.steps[]? | [.id, .node, .tool, .state, .error]]}')"
    fi
  else
    bad "6. lost record: never recorded: $(run_json lostrecord | jq -c '.status | {phase, conditions, steps: [.steps[]? | [.id, .node, .tool, .state, .error]]}')"
  fi
else
  bad "6. lost record: the status refusal policy did not take effect"
fi

# --- 1, 4, 5: forged while the operator is down (no race with the controller) ----
stop_operator
forge "early-1-$STEP" early "" no "$ARGS" && ok "1. early: Approved request early-1-$STEP created before its run" ||
  bad "1. early: cannot create the forged request"
new_run early >/dev/null
uid="$(new_run args)"
forge "args-1-$STEP" args "$uid" yes '{"name":"other-config"}' &&
  ok "4. args: Approved request args-1-$STEP owned by the run, digest over other arguments" || bad "4. args: cannot forge"
uid="$(new_run unowned)"
forge "unowned-1-$STEP" unowned "$uid" no "$ARGS" &&
  ok "5. unowned: Approved request unowned-1-$STEP with every field and the digest right, not owned" || bad "5. unowned: cannot forge"
start_operator
for run in early args unowned; do
  wait_until 60 finished_gen "$run" 1 || bad "$run: did not finish: $(run_json "$run" | jq -c '.status | {phase, steps: [.steps[]? | [.id, .node, .tool, .state]]}')"
done
check_refused "1. early" early "early-1-$STEP" "was not created by the controller.*not owned by DiagnosticRun early"
check_refused "4. args" args "args-1-$STEP" 'spec.action.args \{"name":"other-config"\} differ from the step.s arguments'
check_refused "5. unowned" unowned "unowned-1-$STEP" "was not created by the controller.*not owned by DiagnosticRun unowned"

if kill -0 "$OPERATOR_PID" 2>/dev/null; then ok "operator still running"; else bad "operator exited"; fi
stop_operator
if grep -q '"level":"error"' "$WORK/operator.log"; then
  echo "operator errors:"; grep '"level":"error"' "$WORK/operator.log" | head -5
fi
if [ "$fail" -gt 0 ]; then echo "--- operator log (tail) ---"; tail -30 "$WORK/operator.log"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
