#!/usr/bin/env bash
# tests/e2e/crd_validation_test.sh: the DiagnosticRun and ApprovalRequest CRDs
# (crds/) and the decidedBy admission policy (config/admission/) against the
# real kube-apiserver of hack/cluster.sh, with the real kubectl.
#
#   bash tests/e2e/crd_validation_test.sh
#
# Uses the cluster of hack/cluster.sh (honours OPSCOPILOT_CLUSTER_DIR); starts
# it if it is not up, and then stops it again at the end unless KEEP_CLUSTER is
# set. Applies the CRDs and the policy (cluster-scoped, left installed: other
# tests may share them), works in a fresh namespace that it deletes at the end,
# and never touches anything else.
#
# Cases:
#   - every tests/e2e/invalid/*.yaml is rejected by a server-side dry run, with
#     the message fragment given on its first line ("# expect: ...");
#   - every tests/e2e/valid/*.yaml is created, and config/samples/*-run.yaml
#     pass a server-side dry run;
#   - defaulting, the status subresource and schema, printer columns, short
#     names, category, kubectl explain;
#   - ApprovalRequest transition rules (decision final, action immutable, ...);
#   - the ValidatingAdmissionPolicy, as user alice: decidedBy must be "alice".
# Prints one line per case and, last, "N passed, M failed"; exits 1 if any
# case failed.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
E2E="$ROOT/tests/e2e"
cd "$ROOT"

passed=0
failed=0
pass() { passed=$((passed + 1)); echo "PASS  $1"; }
fail() {
  failed=$((failed + 1))
  echo "FAIL  $1"
  if [ -n "${2:-}" ]; then printf '%s\n' "$2" | head -n 15 | sed 's/^/        /'; fi
}
summary() { echo "$passed passed, $failed failed"; }

# ------------------------------------------------------------- cluster -----

started_cluster=0
if ! bash hack/cluster.sh status >/dev/null 2>&1; then
  echo "starting the local control plane (hack/cluster.sh up)"
  if ! bash hack/cluster.sh up >/dev/null; then
    fail "local control plane starts" "hack/cluster.sh up failed"
    summary
    exit 1
  fi
  started_cluster=1
fi
eval "$(bash hack/cluster.sh env)"
ALICE_KUBECONFIG="$OPSCOPILOT_CLUSTER_DIR/kubeconfig-alice"

NS="crd-e2e-$(date +%s)-$$"
KUBECACHEDIR="$(mktemp -d)" # fresh discovery cache: the CRDs may be new
export KUBECACHEDIR
WORK="$(mktemp -d)"

cleanup() {
  kubectl --request-timeout=20s delete namespace "$NS" --ignore-not-found --wait=false >/dev/null 2>&1 || true
  rm -rf "$KUBECACHEDIR" "$WORK"
  if [ "$started_cluster" = 1 ] && [ -z "${KEEP_CLUSTER:-}" ]; then
    bash "$ROOT/hack/cluster.sh" down >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

k() { kubectl --request-timeout=20s "$@"; }
ka() { kubectl --request-timeout=20s --kubeconfig "$ALICE_KUBECONFIG" "$@"; }

# run CMD...: runs it, output (stdout and stderr) in $out, exit status in $rc.
run() {
  out="$("$@" 2>&1)"
  rc=$?
}

# expect_ok NAME CMD...: CMD succeeds.
expect_ok() {
  local name="$1"
  shift
  run "$@"
  if [ "$rc" = 0 ]; then pass "$name"; else fail "$name: expected success, got exit $rc" "$out"; fi
}

# expect_reject NAME FRAGMENT CMD...: CMD fails and its output contains FRAGMENT.
expect_reject() {
  local name="$1" fragment="$2"
  shift 2
  run "$@"
  if [ "$rc" = 0 ]; then
    fail "$name: expected rejection ($fragment), but it was accepted" "$out"
  elif ! grep -qF -- "$fragment" <<<"$out"; then
    fail "$name: rejected, but without \"$fragment\"" "$out"
  else
    pass "$name: rejected: $fragment"
  fi
}

# expect_eq NAME WANT GOT
expect_eq() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: want '$2', got '$3'"; fi
}

# poll SECONDS CMD...: retry CMD every half second until it succeeds.
poll() {
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# ---------------------------------------------------------------- setup ----

run k apply -f crds/
if [ "$rc" != 0 ]; then
  fail "CRDs apply" "$out"
  summary
  exit 1
fi
run k wait --for=condition=Established --timeout=60s \
  crd/diagnosticruns.opscopilot.io crd/approvalrequests.opscopilot.io crd/diagnosticschedules.opscopilot.io
if [ "$rc" = 0 ]; then pass "CRDs applied and Established"; else fail "CRDs Established" "$out"; summary; exit 1; fi
# A schedule's run template is a run's spec: its schema is generated from the run's.
run python3 hack/gen-schedule-crd.py --check
if [ "$rc" = 0 ]; then pass "the DiagnosticSchedule CRD is generated from the DiagnosticRun CRD's current spec schema"; else fail "the DiagnosticSchedule CRD is stale" "$out"; fi

expect_ok "admission policy applied" k apply -f config/admission/approvalrequest-decidedby-policy.yaml

run k create namespace "$NS"
if [ "$rc" != 0 ]; then fail "test namespace $NS created" "$out"; summary; exit 1; fi
echo "namespace: $NS"

ADMIN="$(k auth whoami -o jsonpath='{.status.userInfo.username}' 2>/dev/null)"
if [ -n "$ADMIN" ]; then pass "admin user name: $ADMIN"; else fail "kubectl auth whoami gives the admin user name"; fi

# The policy takes effect asynchronously: wait until it rejects something.
policy_active() {
  local o
  o="$(k create --dry-run=server -n "$NS" -f - 2>&1 <<EOF
apiVersion: opscopilot.io/v1alpha1
kind: ApprovalRequest
metadata: {name: policy-probe}
spec:
  runRef: {name: probe}
  stepID: 1
  action: {tool: probe}
  decision: Denied
  decidedBy: ${ADMIN}-not-me
EOF
  )"
  grep -qF "spec.decidedBy must be your own user name" <<<"$o"
}
if poll 60 policy_active; then pass "admission policy is active"; else fail "admission policy is active (waited 60s)"; fi

# ------------------------------------------------- invalid manifests -------

ninvalid=0
for f in "$E2E"/invalid/*.yaml; do
  ninvalid=$((ninvalid + 1))
  expected="$(head -n 1 "$f" | sed -n 's/^# expect: //p')"
  rel="${f#"$ROOT"/}"
  if [ -z "$expected" ]; then
    fail "$rel: first line must be '# expect: <message fragment>'"
    continue
  fi
  expect_reject "$rel" "$expected" k apply --dry-run=server -n "$NS" -f "$f"
done
((ninvalid >= 14)) || fail "at least 14 invalid manifests (found $ninvalid)"

# --------------------------------------------------- valid manifests -------

for f in "$E2E"/valid/*.yaml; do
  expect_ok "${f#"$ROOT"/} accepted" k apply -n "$NS" -f "$f"
done
for f in config/samples/*-run.yaml; do
  # The samples name namespace shop; check them in the test namespace.
  sed "s/^  namespace: shop\$/  namespace: $NS/" "$f" >"$WORK/sample.yaml"
  expect_ok "$f accepted (dry run)" k apply --dry-run=server -f "$WORK/sample.yaml"
done

# ------------------------------------------------------ DiagnosticRun ------

expect_eq "spec.critic defaults to true" true \
  "$(k get dr minimal -n "$NS" -o jsonpath='{.spec.critic}' 2>&1)"
expect_eq "spec.critic false is kept" false \
  "$(k get dr full -n "$NS" -o jsonpath='{.spec.critic}' 2>&1)"

# The status the controller writes: the full schema, through the subresource.
run k patch dr full -n "$NS" --subresource=status --type merge \
  --patch-file "$E2E/diagnosticrun-status.json" \
  -o jsonpath='{.status.phase} {.status.stepCount} {.status.steps[1].args.nested.k[0]} {.status.evidence[0].redactions} {.status.findings[0].severity} {.status.usage.costUSD} {.status.plan[0].args.kind} {.status.critiques}'
if [ "$rc" = 0 ]; then
  expect_eq "status: full controller status accepted and kept (incl. free-form args)" \
    "Succeeded 4 v 1 High 0.0123 Pod 1" "$out"
else
  fail "status: full controller status accepted" "$out"
fi
run k patch dr minimal -n "$NS" --subresource=status --type merge -o jsonpath='{.status.steps[0].state}' -p \
  '{"status":{"phase":"Running","stepCount":1,"steps":[{"id":1,"node":"planner","state":"Pending","summary":"","startedAt":"","durationMs":0,"tokens":0}]}}'
expect_eq "status: a step not started yet (empty startedAt) is accepted" Pending "$out"
expect_reject "status: phase must be one of the enum" 'status.phase: Unsupported value: "Exploding"' \
  k patch dr full -n "$NS" --subresource=status --type merge -p '{"status":{"phase":"Exploding"}}'
expect_reject "status: evidence id must look like E<n>" 'status.evidence[0].id: Invalid value: "X1"' \
  k patch dr full -n "$NS" --subresource=status --type merge -p '{"status":{"evidence":[{"id":"X1"}]}}'
expect_reject "status: finding confidence is 0..100" 'status.findings[0].confidence: Invalid value: 101' \
  k patch dr full -n "$NS" --subresource=status --type merge -p '{"status":{"findings":[{"id":"F1","confidence":101}]}}'
run k patch dr full -n "$NS" --type merge -p '{"status":{"phase":"Failed"},"metadata":{"labels":{"e2e":"x"}}}' \
  -o jsonpath='{.status.phase}'
expect_eq "status is a subresource: writes to the main resource do not change it" Succeeded "$out"
run k patch dr minimal -n "$NS" --type merge -p '{"spec":{"question":"Why is checkout still crash-looping?"}}'
if [ "$rc" = 0 ]; then pass "spec stays mutable (a changed question is accepted)"; else fail "spec stays mutable" "$out"; fi

# Printer columns, short name, category.
run k get dr full -n "$NS"
expect_eq "kubectl get dr: columns" "NAME PHASE REASON STEPS COST AGE" "$(head -n1 <<<"$out" | tr -s ' ')"
expect_eq "kubectl get dr: values" "full Succeeded Completed 4 0.0123" \
  "$(sed -n 2p <<<"$out" | tr -s ' ' | cut -d' ' -f1-5)"
run k get dr full -n "$NS" -o wide
expect_eq "kubectl get dr -o wide: columns" "NAME PHASE REASON STEPS COST AGE TARGET MODEL" "$(head -n1 <<<"$out" | tr -s ' ')"
expect_eq "kubectl get dr -o wide: target and model" "Deployment/checkout openai-gpt-4o-mini" \
  "$(sed -n 2p <<<"$out" | tr -s ' ' | cut -d' ' -f7-8)"
run k get approvalrequests -n "$NS"
expect_eq "kubectl get apr: columns" "NAME RUN STEP TOOL RISK PHASE AGE" "$(head -n1 <<<"$out" | tr -s ' ')"
expect_eq "kubectl get apr: values" "minimal-3 minimal 3 read_configmap_data Medium" \
  "$(sed -n 2p <<<"$out" | tr -s ' ' | cut -d' ' -f1-5)"
run k get opscopilot -n "$NS" -o name
if grep -qx "diagnosticrun.opscopilot.io/full" <<<"$out" && grep -qx "approvalrequest.opscopilot.io/minimal-3" <<<"$out"; then
  pass "kubectl get opscopilot (category) lists both kinds"
else
  fail "kubectl get opscopilot (category) lists both kinds" "$out"
fi
run k get apr minimal-3 -n "$NS" -o name
expect_eq "short name apr" "approvalrequest.opscopilot.io/minimal-3" "$out"

# kubectl explain (OpenAPI v3 is published asynchronously after the CRD).
explain_ready() { k explain dr.spec.limits >"$WORK/explain" 2>&1 && grep -q "maxCostUSD" "$WORK/explain"; }
if poll 60 explain_ready; then
  missing=""
  for want in "Hard limits for this run" "maxSteps" "The most graph steps" "timeoutSeconds" \
    "Wall-clock limit" "maxTokens" "Budget of LLM tokens" "maxCostUSD" "decimal string"; do
    grep -qF "$want" "$WORK/explain" || missing="$missing [$want]"
  done
  if [ -z "$missing" ]; then pass "kubectl explain dr.spec.limits describes every limit"; else
    fail "kubectl explain dr.spec.limits lacks$missing" "$(cat "$WORK/explain")"; fi
else
  fail "kubectl explain dr.spec.limits (waited 60s)" "$(cat "$WORK/explain")"
fi
if command -v python3 >/dev/null 2>&1; then
  run bash -c "kubectl --request-timeout=20s get crd diagnosticruns.opscopilot.io approvalrequests.opscopilot.io diagnosticschedules.opscopilot.io -o json | python3 -c '
import json, sys
missing = []
def walk(path, s):
    if path.count(\".\") > 1 and not s.get(\"description\"):
        missing.append(path)
    for k, v in s.get(\"properties\", {}).items():
        if path.endswith(\".root\") and k == \"metadata\":
            continue
        walk(path + \".\" + k, v)
    if \"items\" in s:
        walk(path + \"[]\", s[\"items\"])
    if isinstance(s.get(\"additionalProperties\"), dict):
        walk(path + \"{}\", s[\"additionalProperties\"])
for crd in json.load(sys.stdin)[\"items\"]:
    for v in crd[\"spec\"][\"versions\"]:
        walk(crd[\"spec\"][\"names\"][\"kind\"] + \".root\", v[\"schema\"][\"openAPIV3Schema\"])
print(\"\\n\".join(missing))
sys.exit(1 if missing else 0)
'"
  if [ "$rc" = 0 ]; then pass "every schema field has a description"; else fail "fields without a description" "$out"; fi
fi
run k explain apr.spec.decision
if [ "$rc" = 0 ] && grep -qF "Final" <<<"$out"; then pass "kubectl explain apr.spec.decision"; else
  fail "kubectl explain apr.spec.decision" "$out"; fi

# ---------------------------------------------------- ApprovalRequest ------

apr_patch() { # NAME JSON [kubectl args...]
  local name="$1" patch="$2"
  shift 2
  k patch approvalrequest "$name" -n "$NS" --type merge -p "$patch" "$@"
}

run apr_patch minimal-3 "{\"spec\":{\"decision\":\"Approved\",\"decidedBy\":\"$ADMIN\"}}" \
  -o jsonpath='{.spec.decision} {.spec.decidedBy}'
expect_eq "apr: $ADMIN approves as $ADMIN" "Approved $ADMIN" "$out"
expect_reject "apr: changing the decision" "spec.decision: Invalid value: decision is final once made" \
  apr_patch minimal-3 '{"spec":{"decision":"Denied"}}'
expect_reject "apr: removing the decision" "decision is final once made" \
  apr_patch minimal-3 '{"spec":{"decision":null,"decidedBy":null}}'
expect_reject "apr: changing decidedBy after the decision" "decidedBy is final once the decision is made" \
  apr_patch minimal-3 '{"spec":{"decidedBy":"someone-else"}}'
expect_ok "apr: the comment may still change after the decision" \
  apr_patch minimal-3 '{"spec":{"comment":"Looked at it; fine to read."}}'
expect_reject "apr: runRef is immutable" "spec.runRef: Invalid value: runRef is immutable" \
  apr_patch minimal-3 '{"spec":{"runRef":{"name":"other-run"}}}'
expect_reject "apr: stepID is immutable" "spec.stepID: Invalid value: 4: stepID is immutable" \
  apr_patch minimal-3 '{"spec":{"stepID":4}}'
expect_reject "apr: action.args is immutable" "spec.action: Invalid value: action is immutable" \
  apr_patch minimal-3 '{"spec":{"action":{"args":{"name":"prod-secrets"}}}}'
expect_reject "apr: action.tool is immutable" "spec.action: Invalid value: action is immutable" \
  apr_patch minimal-3 '{"spec":{"action":{"tool":"send_notification"}}}'

# The decidedBy policy, as user alice (no permissions until granted here).
cat >"$WORK/alice-rbac.yaml" <<EOF
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: approver, namespace: $NS}
rules:
- apiGroups: [opscopilot.io]
  resources: [approvalrequests]
  verbs: [get, list, watch, patch, update]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: alice-approver, namespace: $NS}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: approver}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: alice}
EOF
expect_ok "RBAC: alice may patch approvalrequests in $NS" k apply -f "$WORK/alice-rbac.yaml"
alice_can_patch() { [ "$(ka auth can-i patch approvalrequests.opscopilot.io -n "$NS" 2>/dev/null)" = yes ]; }
poll 30 alice_can_patch || fail "alice's RBAC takes effect (waited 30s)"

sed -e 's/name: minimal-3/name: alice-5/' -e 's/stepID: 3/stepID: 5/' "$E2E/valid/apr-minimal.yaml" >"$WORK/apr-alice.yaml"
expect_ok "apr: controller-style request created for alice" k apply -n "$NS" -f "$WORK/apr-alice.yaml"
run ka get apr alice-5 -n "$NS" -o name
expect_eq "alice can read it" "approvalrequest.opscopilot.io/alice-5" "$out"
expect_reject "policy: alice may not decide as bob" "spec.decidedBy must be your own user name (alice)" \
  ka patch approvalrequest alice-5 -n "$NS" --type merge -p '{"spec":{"decision":"Approved","decidedBy":"bob"}}'
expect_reject "policy: alice may not decide as $ADMIN" "spec.decidedBy must be your own user name (alice)" \
  ka patch approvalrequest alice-5 -n "$NS" --type merge -p "{\"spec\":{\"decision\":\"Denied\",\"decidedBy\":\"$ADMIN\"}}"
run ka patch approvalrequest alice-5 -n "$NS" --type merge \
  -p '{"spec":{"decision":"Denied","decidedBy":"alice","comment":"Not for prod data."}}' \
  -o jsonpath='{.spec.decision} {.spec.decidedBy}'
expect_eq "policy: alice decides as alice" "Denied alice" "$out"
run ka patch approvalrequest minimal-3 -n "$NS" --type merge -p '{"spec":{"comment":"alice was here"}}' \
  -o jsonpath='{.spec.decidedBy}'
expect_eq "policy: alice may edit an approval decided by someone else, keeping decidedBy" "$ADMIN" "$out"
expect_reject "RBAC still applies: bob may not patch" "forbidden" \
  kubectl --request-timeout=20s --kubeconfig "$OPSCOPILOT_CLUSTER_DIR/kubeconfig-bob" patch approvalrequest alice-5 \
  -n "$NS" --type merge -p '{"spec":{"comment":"bob"}}'

summary
[ "$failed" = 0 ]
