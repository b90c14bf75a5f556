#!/usr/bin/env bash
# A run sees only what the person who asked may see. On the real node a
# container logs a database error and exits 1 (the real kubelet serves its
# log). Then, with kubectl as different users:
#   - carol may only create runs: her run ends Forbidden, having read nothing;
#   - alice may create runs and read pods but not pods/log: her run's status
#     holds no log line, and evidence says which permission she lacks;
#   - bob may read logs: his run quotes them;
#   - Argo CD's application controller service account as requester;
#   - spec.requester is stamped by the API server, forging it (another name,
#     groups one is not in) is refused at admission, and it cannot change;
#   - where no MutatingAdmissionPolicy stamps it, the user sets it and the
#     validating policy alone checks it;
#   - an operator that cannot verify the requester (its policy binding is
#     missing) refuses the run, unless set to requester.whenUnverified:
#     ReaderOnly, which reads with the reader identity alone.
#
# Prints one line per case and "N passed, M failed" at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
NS="e2e-requester-$RUN_ID"
OPERATOR_PID=""
cleanup() {
  kubectl delete clusterrolebinding "e2e-requester-$RUN_ID-argocd" >/dev/null 2>&1
  kubectl apply -f "$ROOT/config/admission/diagnosticrun-requester-stamp.yaml" >/dev/null 2>&1
  e2e_cleanup "$NS"
}
trap cleanup EXIT
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

if ! kubectl get node opscopilot-node >/dev/null 2>&1; then
  bad "the real node opscopilot-node is not part of the cluster (OPSCOPILOT_REAL_NODE=0?)"; finish
fi

install_crds_and_policies || exit 1
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null
reader_namespace "$NS"
ADMIN="$(kubectl auth whoami -o jsonpath='{.status.userInfo.username}')"
ARGOCD=system:serviceaccount:argocd:argocd-application-controller

# --- who may do what -----------------------------------------------------------
# alice: create runs, read workloads, pods and events, but not pods/log.
# bob: the same and pods/log. Argo CD's controller: like bob (cluster-wide, as
# Argo CD is usually granted).
kubectl apply -n "$NS" -f - >/dev/null <<'EOF'
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: run-and-read}
rules:
- apiGroups: [opscopilot.io]
  resources: [diagnosticruns]
  verbs: [create, get, list, watch]
- apiGroups: ["", apps]
  resources: [pods, events, services, endpoints, configmaps, deployments, replicasets]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: read-logs}
rules:
- apiGroups: [""]
  resources: [pods/log]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: run-and-read}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: run-and-read}
subjects:
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: alice}
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: bob}
- {kind: ServiceAccount, name: argocd-application-controller, namespace: argocd}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: run-only}
rules:
- apiGroups: [opscopilot.io]
  resources: [diagnosticruns]
  verbs: [create, get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: run-only}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: run-only}
subjects:
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: carol}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-logs}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: read-logs}
subjects:
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: bob}
EOF
kubectl create clusterrolebinding "e2e-requester-$RUN_ID-argocd" --clusterrole=view \
  --serviceaccount=argocd:argocd-application-controller >/dev/null

# --- the workload: a real container that logs and exits 1 -------------------------
cat <<'EOF' | kubectl -n "$NS" apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: orders}
spec:
  replicas: 1
  selector: {matchLabels: {app: orders}}
  template:
    metadata: {labels: {app: orders}}
    spec:
      nodeSelector: {kubernetes.io/hostname: opscopilot-node}
      tolerations: [{key: opscopilot.io/real-node, operator: Exists, effect: NoSchedule}]
      terminationGracePeriodSeconds: 1
      automountServiceAccountToken: false
      containers:
      - name: app
        image: localhost/opscopilot/busybox:1.35.0
        imagePullPolicy: IfNotPresent
        command: [sh, -c, "echo 'orders 1.4 starting'; echo 'FATAL cannot reach orders-db:5432: connection refused (ORDERS_DB_HOST=orders-db)' >&2; exit 1"]
EOF
crashed() {
  kubectl -n "$NS" get pods -l app=orders -o jsonpath='{.items[*].status.containerStatuses[*].restartCount}' | grep -q '[1-9]'
}
wait_until 120 crashed || { bad "the orders container never restarted"; kubectl -n "$NS" get pods,events >&2; finish; }
LOG_NEEDLE="cannot reach orders-db"

CONFIG="$WORK/operator.yaml"
start_operator() {  # start_operator [extra config YAML]
  { cat "$ROOT/config/operator.yaml"; printf '%s\n' "${1:-}"; } >"$CONFIG"
  "$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$CONFIG" --health-address 127.0.0.1:0 >>"$WORK/operator.log" 2>&1 &
  OPERATOR_PID=$!
  wait_until 30 kill -0 "$OPERATOR_PID" || { bad "operator starts"; cat "$WORK/operator.log"; finish; }
}
stop_operator() { kill "$OPERATOR_PID" 2>/dev/null; wait "$OPERATOR_PID" 2>/dev/null; OPERATOR_PID=""; }

run_manifest() {  # run_manifest NAME [requester YAML]
  printf 'apiVersion: opscopilot.io/v1alpha1\nkind: DiagnosticRun\nmetadata: {name: %s}\nspec:\n  question: Why does orders keep restarting?\n  target: {kind: Deployment, name: orders}\n' "$1"
  if [ -n "${2:-}" ]; then printf '  requester: %s\n' "$2"; fi
}
finished() { local p; p="$(kubectl -n "$NS" get dr "$1" -o jsonpath='{.status.phase}')"; [ "$p" = Succeeded ] || [ "$p" = Failed ]; }
wait_run() {  # wait_run NAME: sets json to the run once finished
  json=""
  if ! wait_until 60 finished "$1"; then
    bad "$1 did not finish: $(kubectl -n "$NS" get dr "$1" -o jsonpath='{.status.phase} {.status.reason} {.status.message}' 2>&1)"
    return 1
  fi
  json="$(kubectl -n "$NS" get dr "$1" -o json)"
}

start_operator

# --- the requester is the API server's word ------------------------------------
if out="$(run_manifest by-alice | kubectl --as=alice -n "$NS" create -f - 2>&1)"; then
  ok "alice may create a run without naming herself"
else
  bad "alice creates a run: $out"
fi
got="$(kubectl -n "$NS" get dr by-alice -o jsonpath='{.spec.requester.username} {.spec.requester.groups}')"
if [[ "$got" == "alice "*system:authenticated* ]]; then
  ok "admission stamped spec.requester: $got"
else
  bad "spec.requester of alice's run is '$got'"
fi

out="$(run_manifest forged-name '{username: bob}' | kubectl --as=alice -n "$NS" create -f - 2>&1)"
if [ $? -ne 0 ] && grep -q "spec.requester.username must be your own user name (alice)" <<<"$out"; then
  ok "alice naming bob as requester is refused: $(grep -o 'spec.requester.username must[^;]*' <<<"$out" | head -1)"
else
  bad "a forged requester name was not refused: $out"
fi
out="$(run_manifest forged-group '{username: alice, groups: [system:masters]}' | kubectl --as=alice -n "$NS" create -f - 2>&1)"
if [ $? -ne 0 ] && grep -q "spec.requester.groups may only name groups you are in" <<<"$out"; then
  ok "alice claiming system:masters is refused"
else
  bad "a forged requester group was not refused: $out"
fi
out="$(kubectl -n "$NS" patch dr by-alice --type merge -p '{"spec":{"requester":{"username":"bob"}}}' 2>&1)"
if [ $? -ne 0 ] && grep -q "spec.requester is recorded when the run is created and cannot be changed" <<<"$out"; then
  ok "spec.requester cannot be changed afterwards, not even by the cluster admin"
else
  bad "spec.requester was changed: $out"
fi
out="$(kubectl -n "$NS" patch dr by-alice --type json -p '[{"op":"remove","path":"/spec/requester"}]' 2>&1)"
if [ $? -ne 0 ] && grep -q "cannot be changed, added or removed" <<<"$out"; then
  ok "spec.requester cannot be removed"
else
  bad "spec.requester was removed: $out"
fi

# --- whose rights the reads use --------------------------------------------------
if wait_run by-alice; then
  if [ "$(jq -r .status.phase <<<"$json")" = Succeeded ] && ! grep -q "$LOG_NEEDLE" <<<"$json"; then
    ok "alice's run succeeded and its status holds no log line"
  else
    bad "alice's run: $(jq -c '{phase: .status.phase, reason: .status.reason}' <<<"$json"); log line present: $(grep -c "$LOG_NEEDLE" <<<"$json")"
  fi
  denial="$(jq -r '[.status.evidence[]?.excerpt] | map(select(test("alice, who asked for this run, may not get pods/log"))) | first // empty' <<<"$json")"
  if [ -n "$denial" ]; then
    ok "evidence names the permission alice lacks: ${denial:0:160}"
  else
    bad "no evidence says alice may not read pods/log: $(jq -c '[.status.evidence[]? | {ref, excerpt: .excerpt[0:100]}]' <<<"$json")"
  fi
  if citations_ok <<<"$json"; then ok "alice's run: every citation resolves"; else bad "alice's run cites missing evidence"; fi
fi

run_manifest by-carol | kubectl --as=carol -n "$NS" create -f - >/dev/null
if wait_run by-carol; then
  if [ "$(jq -r '.status.phase + " " + .status.reason' <<<"$json")" = "Failed Forbidden" ] &&
     jq -r .status.message <<<"$json" | grep -q "carol, who asked for this run, may not read Deployment/orders" &&
     ! grep -q "$LOG_NEEDLE" <<<"$json"; then
    ok "carol, who may only create runs, learns nothing: $(jq -r .status.message <<<"$json")"
  else
    bad "carol's run: $(jq -c '{phase: .status.phase, reason: .status.reason, message: .status.message}' <<<"$json")"
  fi
fi

run_manifest by-bob | kubectl --as=bob -n "$NS" create -f - >/dev/null
if wait_run by-bob; then
  if grep -q "$LOG_NEEDLE" <<<"$json" && [ "$(jq -r .spec.requester.username <<<"$json")" = bob ]; then
    ok "bob, who may read logs, gets the log line in his run"
  else
    bad "bob's run lacks the log line: $(jq -c '{phase: .status.phase, answer: .status.answer[0:200]}' <<<"$json")"
  fi
fi

run_manifest by-argocd | kubectl --as="$ARGOCD" -n "$NS" create -f - >/dev/null
if wait_run by-argocd; then
  who="$(jq -r .spec.requester.username <<<"$json")"
  groups="$(jq -r '.spec.requester.groups | join(",")' <<<"$json")"
  if [ "$who" = "$ARGOCD" ] && [[ "$groups" == *system:serviceaccounts:argocd* ]] && grep -q "$LOG_NEEDLE" <<<"$json"; then
    ok "Argo CD's service account as requester: its run reads with its rights (groups $groups)"
  else
    bad "Argo CD's run: requester '$who' groups '$groups', log line present: $(grep -c "$LOG_NEEDLE" <<<"$json")"
  fi
fi

# --- without the mutating policy: the user names themselves ------------------------
if kubectl get mutatingadmissionpolicybinding opscopilot-diagnosticrun-requester >/dev/null 2>&1; then
  kubectl delete mutatingadmissionpolicybinding opscopilot-diagnosticrun-requester >/dev/null
  not_stamped() { ! run_manifest probe | kubectl --as=alice -n "$NS" create --dry-run=server -f - >/dev/null 2>&1; }
  if wait_until 60 not_stamped; then
    out="$(run_manifest unnamed | kubectl --as=alice -n "$NS" create -f - 2>&1)"
    if grep -q "spec.requester is required: set spec.requester.username to your user name (alice)" <<<"$out"; then
      ok "without the mutating policy, a run without spec.requester is refused with how to fix it"
    else
      bad "without the mutating policy: $out"
    fi
    if run_manifest self-named '{username: alice}' | kubectl --as=alice -n "$NS" create -f - >/dev/null 2>&1 &&
       wait_run self-named && [ "$(jq -r .status.phase <<<"$json")" = Succeeded ] && ! grep -q "$LOG_NEEDLE" <<<"$json"; then
      ok "alice naming herself is accepted, and her run still reads no log"
    else
      bad "alice naming herself: $(kubectl -n "$NS" get dr self-named -o jsonpath='{.status.phase} {.status.message}' 2>&1)"
    fi
  else
    bad "the mutating policy binding was deleted but runs are still stamped"
  fi
  kubectl apply -f "$ROOT/config/admission/diagnosticrun-requester-stamp.yaml" >/dev/null
  stamped() { run_manifest probe | kubectl --as=alice -n "$NS" create --dry-run=server -f - >/dev/null 2>&1; }
  wait_until 60 stamped || bad "the mutating policy binding was restored but runs are not stamped"
else
  echo "SKIP the API server serves no MutatingAdmissionPolicy: every case above already named its requester itself"
fi

# --- an operator that cannot verify the requester ------------------------------------
stop_operator
start_operator $'requester:\n  policyBinding: opscopilot-no-such-binding'
run_manifest unverified | kubectl --as=bob -n "$NS" create -f - >/dev/null
if wait_run unverified; then
  if [ "$(jq -r '.status.phase + " " + .status.reason' <<<"$json")" = "Failed RequesterUnverified" ] &&
     jq -r .status.message <<<"$json" | grep -q "opscopilot-no-such-binding that checks spec.requester is not installed" &&
     [ "$(jq '.status.evidence // [] | length' <<<"$json")" = 0 ]; then
    ok "unverifiable requester: the run fails RequesterUnverified and reads nothing ($(jq -r .status.message <<<"$json" | cut -c1-120)...)"
  else
    bad "unverifiable requester: $(jq -c '{phase: .status.phase, reason: .status.reason, message: .status.message}' <<<"$json")"
  fi
fi
stop_operator
start_operator $'requester:\n  policyBinding: opscopilot-no-such-binding\n  whenUnverified: ReaderOnly'
run_manifest reader-only | kubectl --as=alice -n "$NS" create -f - >/dev/null
if wait_run reader-only; then
  if [ "$(jq -r .status.phase <<<"$json")" = Succeeded ] && grep -q "$LOG_NEEDLE" <<<"$json"; then
    ok "whenUnverified: ReaderOnly reads with the reader identity alone (alice's run gets the log: the documented opt-out)"
  else
    bad "ReaderOnly: $(jq -c '{phase: .status.phase, reason: .status.reason}' <<<"$json")"
  fi
fi
stop_operator

if grep -E "$LOG_NEEDLE" "$WORK/operator.log" >/dev/null; then bad "the operator's log holds the container's log line"; else ok "no log line in the operator's log"; fi
finish
