#!/usr/bin/env bash
# Runbooks with citations, on the real control plane and the real node: a
# team's runbook (a ConfigMap labelled opscopilot.io/runbook=true in the run's
# namespace) and the platform's shared runbooks (the operator's
# tools.runbookNamespace, whose reader may only read ConfigMaps there) are
# searched once the investigation has found something. The fitting sections
# are evidence R1, R2 in the run's status, and the crash's fix is the team's
# runbook steps, cited. An unlabelled ConfigMap is never read as a runbook, a
# password pasted into a runbook never reaches the status, and a healthy run
# searches no runbook.
#
# Prints one line per check and "N passed, M failed" at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
NS="e2e-runbooks-$RUN_ID"
SHARED="e2e-runbooks-shared-$RUN_ID"
OPERATOR_PID=""
trap 'e2e_cleanup "$NS" "$SHARED"' EXIT
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

if ! kubectl get node opscopilot-node >/dev/null 2>&1; then
  bad "the real node opscopilot-node is not part of the cluster (OPSCOPILOT_REAL_NODE=0?)"; finish
fi
install_crds_and_policies || { echo "FAIL the CRDs and admission policies are not ready"; exit 1; }
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null
reader_namespace "$NS"

# The shared namespace, as the Helm chart sets it up: the reader
# ServiceAccount with a Role that reads ConfigMaps and nothing else.
kubectl create ns "$SHARED" >/dev/null
cat <<EOF | kubectl -n "$SHARED" apply -f - >/dev/null
apiVersion: v1
kind: ServiceAccount
metadata: {name: opscopilot-reader}
automountServiceAccountToken: false
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: opscopilot-runbooks}
rules: [{apiGroups: [""], resources: [configmaps], verbs: [get, list]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: opscopilot-runbooks}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: opscopilot-runbooks}
subjects: [{kind: ServiceAccount, name: opscopilot-reader, namespace: "$SHARED"}]
EOF
if kubectl auth can-i list configmaps -n "$SHARED" --as "system:serviceaccount:$SHARED:opscopilot-reader" >/dev/null &&
   ! kubectl auth can-i list pods -n "$SHARED" --as "system:serviceaccount:$SHARED:opscopilot-reader" >/dev/null 2>&1; then
  ok "the shared namespace's reader may list ConfigMaps there and not pods"
else
  bad "the shared namespace's reader has other rights than the runbook Role gives"
fi

cat >"$WORK/team.md" <<'EOF'
# Checkout service

Owned by the payments team; page #payments-oncall.

## Crash loops after a deploy

The checkout container exits at start when its database settings are missing.

1. Check the ExternalSecret checkout-db is Ready: `kubectl -n shop get externalsecret checkout-db`.
2. If DATABASE_URL is not set, re-sync it: `kubectl annotate externalsecret checkout-db force-sync=$(date +%s) --overwrite`.
3. Roll back only if the new image is at fault: `kubectl rollout undo deploy/checkout`.

## Ingress returns 404

Check the path prefix in the Ingress against the service's routes.
EOF
cat >"$WORK/platform.md" <<'EOF'
# Platform runbooks

## Container crash loops: general steps

1. Read the previous instance's log for the error before changing anything.
2. Environment variables missing at start come from Secrets: check the Secret and its sync.
3. Escalate to the owning team; the break-glass login is admin password=Sup3rS3cretBreakGlass!

## Nodes not ready

Cordon the node and page the platform team.
EOF
cat >"$WORK/decoy.md" <<'EOF'
# Crash loops (not a runbook: no label)

1. decoy-never-cite: delete the namespace when a container crash-loops because DATABASE_URL is not set.
EOF
kubectl -n "$NS" create configmap checkout-runbook --from-file=runbook.md="$WORK/team.md" >/dev/null
kubectl -n "$NS" label configmap checkout-runbook opscopilot.io/runbook=true >/dev/null
kubectl -n "$NS" create configmap notes --from-file=crash.md="$WORK/decoy.md" >/dev/null
kubectl -n "$SHARED" create configmap platform-runbooks --from-file=platform.md="$WORK/platform.md" >/dev/null
kubectl -n "$SHARED" label configmap platform-runbooks opscopilot.io/runbook=true >/dev/null

# A real crash on the real node: the log says what is missing.
real_node_deployment "$NS" checkout 1 checkout \
  "echo 'starting checkout 2.3.1'; echo 'FATAL required environment variable DATABASE_URL is not set' >&2; exit 1"
real_node_deployment "$NS" web 1 web "echo serving; exec sleep 3600"
restarted() {
  kubectl -n "$NS" get pods -l app=checkout -o json | jq -e '[.items[].status.containerStatuses[]?.restartCount] | max // 0 | . >= 1' >/dev/null &&
    kubectl -n "$NS" rollout status deploy/web --timeout=1s >/dev/null 2>&1
}
if wait_until 120 restarted; then ok "checkout crash-loops on the real node; web is available"; else bad "the workloads never reached their states"; finish; fi

sed "s/^  runbookNamespace: \"\".*/  runbookNamespace: \"$SHARED\"/" "$ROOT/config/operator.yaml" >"$WORK/operator.yaml"
grep -q "runbookNamespace: \"$SHARED\"" "$WORK/operator.yaml" || { bad "could not set tools.runbookNamespace"; finish; }
"$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$WORK/operator.yaml" --health-address 127.0.0.1:0 \
  >"$WORK/operator.log" 2>&1 &
OPERATOR_PID=$!

cat <<EOF | kubectl -n "$NS" apply -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: why-checkout}
spec: {question: "Why is checkout crash-looping after the deploy?", target: {kind: Deployment, name: checkout}}
---
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: is-web-ok}
spec: {question: "Is web healthy?", target: {kind: Deployment, name: web}}
EOF
for run in why-checkout is-web-ok; do
  if kubectl -n "$NS" wait "dr/$run" --for=condition=Succeeded --timeout=120s >/dev/null 2>&1; then
    ok "$run finished: $(kubectl -n "$NS" get dr "$run" -o jsonpath='{.status.reason}, {.status.usage.toolCalls} tool calls')"
  else
    bad "$run did not finish: $(kubectl -n "$NS" get dr "$run" -o jsonpath='{.status.phase} {.status.message}')"; finish
  fi
done
kubectl -n "$NS" get dr why-checkout -o json >"$WORK/run.json"
kubectl -n "$NS" get dr is-web-ok -o json >"$WORK/healthy.json"

r1_ref="$(jq -r '.status.evidence[] | select(.id == "R1") | .ref' "$WORK/run.json")"
if [ "$r1_ref" = "Runbook checkout-runbook: Checkout service > Crash loops after a deploy" ] &&
   [ "$(jq -r '.status.evidence[] | select(.id == "R1") | .tool' "$WORK/run.json")" = search_runbooks ]; then
  ok "the team's runbook section is evidence R1 ($r1_ref)"
else
  bad "R1 is not the team's crash-loop section: $(jq -c '[.status.evidence[] | {id, ref}]' "$WORK/run.json")"
fi
shared_ref="$(jq -r --arg ns "$SHARED" '.status.evidence[] | select(.ref | startswith("Runbook " + $ns + "/")) | "\(.id) \(.ref)"' "$WORK/run.json")"
if [[ "$shared_ref" == R*" Runbook $SHARED/platform-runbooks: Platform runbooks > Container crash loops: general steps" ]]; then
  ok "the shared runbook section is evidence too, named with its namespace (${shared_ref%% *})"
else
  bad "no shared runbook section in the evidence: $(jq -c '[.status.evidence[] | {id, ref}]' "$WORK/run.json")"
fi
answer="$(jq -r '.status.answer' "$WORK/run.json")"
if grep -q "From runbook checkout-runbook (\"Checkout service > Crash loops after a deploy\") \[R1\]: 1. Check the ExternalSecret checkout-db" <<<"$answer" &&
   grep -q "Built-in advice:" <<<"$answer" && grep -q "DATABASE_URL" <<<"$answer"; then
  ok "the answer's fix is the team's runbook steps, cited [R1], with the built-in advice after them"
else
  bad "the answer does not follow the runbook: $answer"
fi
if jq -e '[.status.findings[] | select(.evidence | index("R1"))] | length > 0' "$WORK/run.json" >/dev/null; then
  ok "the crash finding cites R1"
else
  bad "no finding cites R1: $(jq -c '[.status.findings[] | {title, evidence}]' "$WORK/run.json")"
fi
if citations_ok <"$WORK/run.json"; then ok "every cited ID (E and R) exists in the status"; else bad "a citation names missing evidence"; fi
if ! grep -q "decoy-never-cite" "$WORK/run.json"; then
  ok "an unlabelled ConfigMap is never read as a runbook"
else
  bad "the unlabelled ConfigMap's text reached the status"
fi
if ! grep -qF "Sup3rS3cretBreakGlass" "$WORK/run.json" "$WORK/operator.log" && grep -qF "password=[REDACTED]" "$WORK/run.json"; then
  ok "the password pasted into the shared runbook is redacted in the status and absent from the operator's log"
else
  bad "the runbook's password leaked, or the section was not shown redacted"
fi
if jq -e '[.status.steps[] | select(.tool == "search_runbooks")] | length == 0' "$WORK/healthy.json" >/dev/null &&
   jq -e '.status.answer | startswith("**No problem found")' "$WORK/healthy.json" >/dev/null; then
  ok "a healthy run searches no runbook"
else
  bad "the healthy run: $(jq -c '[.status.steps[] | .tool // .node]' "$WORK/healthy.json") $(jq -r .status.answer "$WORK/healthy.json" | head -3)"
fi
# Memory: a second run on the same target sees that the first found the same.
cat <<EOF | kubectl -n "$NS" apply -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: why-checkout-again}
spec: {question: "Why is checkout still crash-looping?", target: {kind: Deployment, name: checkout}}
EOF
if kubectl -n "$NS" wait dr/why-checkout-again --for=condition=Succeeded --timeout=120s >/dev/null 2>&1; then
  kubectl -n "$NS" get dr why-checkout-again -o json >"$WORK/again.json"
  past="$(jq -r '[.status.evidence[] | select(.tool == "recall_past_runs")][0].id // ""' "$WORK/again.json")"
  if [ -n "$past" ] && jq -e --arg e "$past" '[.status.findings[] | select((.title | contains("seen before: 1 earlier run in the last 7 days found the same (why-checkout on ")) and (.evidence | index($e) != null))] | length > 0' "$WORK/again.json" >/dev/null; then
    ok "the second run marks the crash as seen before by why-checkout, citing it ($past)"
  else
    bad "no repeat marked: $(jq -c '[.status.findings[] | {title, evidence}]' "$WORK/again.json")"
  fi
  if jq -e '[.status.findings[] | select(.title | contains("seen before"))] | length == 0' "$WORK/run.json" >/dev/null; then
    ok "the first run claims no repeat"
  else
    bad "the first run claims a repeat"
  fi
else
  bad "why-checkout-again did not finish"
fi
[ -n "${SHOW_ANSWER:-}" ] && jq -r .status.answer "$WORK/run.json"
finish
