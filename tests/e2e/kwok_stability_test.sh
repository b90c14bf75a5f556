#!/usr/bin/env bash
# The simulated nodes stay healthy: a healthy Deployment on the kwok nodes is
# still Available, with every pod Ready and both nodes Ready, at least
# STABILITY_SECONDS (300) after it became available, and nothing flipped in
# between (no NodeNotReady, no Ready transition after the start).
#
# hack/test.sh deploys the workload right after the cluster comes up and runs
# this test last, so the five minutes overlap the other tests; run alone, it
# deploys and watches for the whole period. It polls every 2 s and fails at
# the first sign of drift.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
trap '[ "$started_cluster" = 1 ] && [ -z "${KEEP_CLUSTER:-}" ] && bash "$ROOT/hack/cluster.sh" down >/dev/null 2>&1; rm -rf "$WORK"' EXIT
PERIOD="${STABILITY_SECONDS:-300}"
NS=e2e-stability

kubectl create ns "$NS" >/dev/null 2>&1 || true
kubectl apply -f "$ROOT/tests/e2e/stability/healthy.yaml" >/dev/null || { bad "apply the healthy workload"; echo "$pass passed, $fail failed"; exit 1; }
available() { [ "$(kubectl -n $NS get deploy steady -o jsonpath='{.status.availableReplicas}')" = 3 ]; }
wait_until 60 available || bad "the healthy Deployment did not become available"
since="$(kubectl -n $NS get deploy steady -o jsonpath='{.status.conditions[?(@.type=="Available")].lastTransitionTime}')"
start_epoch="$(date -d "$since" +%s)"

drift() {  # prints what drifted, if anything
  local out
  out="$(kubectl get nodes -l type=kwok -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}')"
  [[ "$out" == *"=False"* || "$out" == *"=Unknown"* || "$out" != *kwok-node-0=True* || "$out" != *kwok-node-1=True* ]] && echo "nodes: $out"
  available || echo "Deployment steady: $(kubectl -n $NS get deploy steady -o jsonpath='{.status.availableReplicas}') of 3 available"
  out="$(kubectl -n $NS get pods -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status} {end}')"
  [[ "$out" == *"=False"* ]] && echo "pods: $out"
  return 0
}

echo "watching until $PERIOD s after $since"
problem=""
while [ $(( $(date +%s) - start_epoch )) -lt "$PERIOD" ]; do
  problem="$(drift)"
  [ -n "$problem" ] && break
  sleep 2
done
[ -z "$problem" ] && problem="$(drift)"
if [ -z "$problem" ]; then ok "healthy workload on kwok nodes stays healthy for $PERIOD s"; else bad "drift: $problem"; fi

# Nothing flipped and came back in between.
if kubectl get events -A --field-selector reason=NodeNotReady -o name | grep -c . >/dev/null; then
  bad "NodeNotReady events: $(kubectl get events -A --field-selector reason=NodeNotReady -o jsonpath='{.items[*].message}')"
else ok "no NodeNotReady event"; fi
late="$(kubectl get nodes -l type=kwok -o json | jq -r --arg s "$since" '.items[] | select(any(.status.conditions[]; .type == "Ready" and .lastTransitionTime > $s)) | .metadata.name')"
[ -z "$late" ] && ok "kwok nodes' Ready condition unchanged since the workload became available" || bad "Ready changed on: $late"
kubectl -n kube-node-lease get lease kwok-node-0 kwok-node-1 >/dev/null 2>&1 && ok "kwok nodes renew Leases in kube-node-lease" || bad "no kwok node Leases"

kubectl delete ns "$NS" --wait=false >/dev/null 2>&1
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
