#!/usr/bin/env bash
# Secrets never leave: 26 secret formats (tests/e2e/secrets/secrets.txt) are
# planted where applications and the kubelet really put them, on the real
# node: a container writes them to its termination message and its log and
# exits 1 (the real kubelet copies the message into the pod status), and
# Warning Events quote them. A DiagnosticRun investigates; then no secret may
# appear in the run's status, the run's Events or the operator's log lines.
#
# Prints one line per case and "N passed, M failed" at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
NS="e2e-secrets-$RUN_ID"
OPERATOR_PID=""
trap 'e2e_cleanup "$NS"' EXIT
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

if ! kubectl get node opscopilot-node >/dev/null 2>&1; then
  bad "the real node opscopilot-node is not part of the cluster (OPSCOPILOT_REAL_NODE=0?)"; finish
fi
NEEDLES=() TEXTS=()
while IFS=$'\t' read -r needle text; do
  [[ -z "$needle" || "$needle" == \#* ]] && continue
  NEEDLES+=("$needle") TEXTS+=("$text")
done <"$ROOT/tests/e2e/secrets/secrets.txt"

install_crds_and_policies || exit 1
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null
reader_namespace "$NS"

# The workload: every secret in its log and its termination message (which
# the kubelet keeps up to 4096 bytes of), then exit 1.
printf '%s\n' "${TEXTS[@]}" >"$WORK/secrets.log"
kubectl -n "$NS" create configmap payments-script --from-file=secrets.log="$WORK/secrets.log" >/dev/null
cat <<EOF | kubectl -n "$NS" apply -f - >/dev/null
apiVersion: apps/v1
kind: Deployment
metadata: {name: payments}
spec:
  replicas: 1
  selector: {matchLabels: {app: payments}}
  template:
    metadata: {labels: {app: payments}}
    spec:
      nodeSelector: {kubernetes.io/hostname: opscopilot-node}
      tolerations: [{key: opscopilot.io/real-node, operator: Exists, effect: NoSchedule}]
      terminationGracePeriodSeconds: 1
      automountServiceAccountToken: false
      volumes: [{name: s, configMap: {name: payments-script}}]
      containers:
      - name: app
        image: localhost/opscopilot/busybox:1.35.0
        imagePullPolicy: IfNotPresent
        volumeMounts: [{name: s, mountPath: /s}]
        command: [sh, -c, "cat /s/secrets.log; cat /s/secrets.log > /dev/termination-log; exit 1"]
EOF
crashed() {
  kubectl -n "$NS" get pods -l app=payments -o json |
    jq -e '[.items[].status.containerStatuses[]? | (.state.terminated.message // .lastState.terminated.message // "") | select(length > 0)] | length > 0'
}
if wait_until 120 crashed; then ok "the real kubelet put the secrets into the pod's termination message"; else bad "no termination message"; finish; fi
pod="$(kubectl -n "$NS" get pods -l app=payments -o jsonpath='{.items[0].metadata.name}')"
uid="$(kubectl -n "$NS" get pod "$pod" -o jsonpath='{.metadata.uid}')"

# Warning Events quoting them, as an application or controller would record.
i=0
for text in "${TEXTS[@]}"; do
  i=$((i + 1))
  cat <<EOF | kubectl -n "$NS" create -f - >/dev/null
apiVersion: v1
kind: Event
metadata: {name: "$pod.secret$i"}
involvedObject: {kind: Pod, name: "$pod", namespace: "$NS", uid: "$uid", apiVersion: v1, fieldPath: "spec.containers{app}"}
type: Warning
reason: ConnectionFailed
message: $(jq -Rn --arg m "$text" '$m')
source: {component: payments}
firstTimestamp: "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
lastTimestamp: "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
count: 1
EOF
done
ok "planted ${#TEXTS[@]} Warning Events quoting the secrets"

"$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$ROOT/config/operator.yaml" --health-address 127.0.0.1:0 \
  >"$WORK/operator.log" 2>&1 &
OPERATOR_PID=$!
cat <<EOF | kubectl -n "$NS" apply -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: why-payments}
spec: {question: "Why is payments crash-looping?", target: {kind: Deployment, name: payments}, limits: {maxSteps: 12}}
EOF
if kubectl -n "$NS" wait dr/why-payments --for=condition=Succeeded --timeout=120s >/dev/null 2>&1; then
  ok "run finished: $(kubectl -n "$NS" get dr why-payments -o jsonpath='{.status.reason}, {.status.usage.toolCalls} tool calls')"
else
  bad "run did not finish: $(kubectl -n "$NS" get dr why-payments -o jsonpath='{.status.phase} {.status.message}')"; finish
fi
kubectl -n "$NS" get dr why-payments -o json >"$WORK/run.json"
kubectl -n "$NS" get events --field-selector involvedObject.kind=DiagnosticRun -o json >"$WORK/run-events.json"
kubectl -n "$NS" get apr -o json >"$WORK/aprs.json"
kill "$OPERATOR_PID" 2>/dev/null; wait "$OPERATOR_PID" 2>/dev/null; OPERATOR_PID=""

# The run did read what holds the secrets (else this proves nothing).
if jq -e '[.status.evidence[].tool] | (index("get_events") != null) and (index("list_pods") != null or index("get_pod_logs") != null)' "$WORK/run.json" >/dev/null; then
  ok "the run read the pod and its Events ($(jq '.status.evidence | length' "$WORK/run.json") evidence items, $(jq '[.status.evidence[].redactions] | add' "$WORK/run.json") redactions)"
else
  bad "the run never read the pod or its Events: $(jq -c '[.status.evidence[].tool]' "$WORK/run.json")"
fi

leaked=0
for idx in "${!NEEDLES[@]}"; do
  needle="${NEEDLES[$idx]}"
  where=""
  grep -qF -- "$needle" "$WORK/run.json" && where+=" status"
  grep -qF -- "$needle" "$WORK/run-events.json" && where+=" events"
  grep -qF -- "$needle" "$WORK/aprs.json" && where+=" approvalrequests"
  grep -qF -- "$needle" "$WORK/operator.log" && where+=" operator-log"
  if [ -n "$where" ]; then
    bad "secret leaked ($needle) in:$where"
    leaked=$((leaked + 1))
  fi
done
[ "$leaked" = 0 ] && ok "none of the ${#NEEDLES[@]} secrets appears in status, Events, ApprovalRequests or the operator's log"
echo "figure: $((${#NEEDLES[@]} - leaked)) of ${#NEEDLES[@]} secret formats kept out"
finish
