#!/usr/bin/env bash
# In cluster, end to end: the operator image built by hack/image.sh, imported
# onto the real node of hack/cluster.sh, installed with `helm install` from
# charts/opscopilot, running in a Pod with its service account (in-cluster
# configuration: token and CA), driven with the real kubectl. Then:
#   - real failures on the real node (tests/e2e/real/*.yaml), each diagnosed
#     by the in-cluster operator from what the real kubelet wrote;
#   - 2 replicas: deleting the leader's Pod hands the Lease over and a run in
#     progress (paused on an ApprovalRequest) still finishes;
#   - `helm upgrade` with a changed value takes effect;
#   - `helm uninstall` leaves only what the README says it keeps.
# These are the commands of the README's "Install in a cluster".
#
# Prints one line per case and "N passed, M failed" at the end. Figures
# (image size, Pod Ready after scheduling) are printed, not asserted.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
REAL="$ROOT/tests/e2e/real"
RELEASE=opscopilot
SYSTEM_NS=opscopilot-system
APPS_NS="e2e-real-$RUN_ID"
FIXTURES="${SAVE_REAL_FIXTURES:-}"

cleanup() {
  helm uninstall "$RELEASE" -n "$SYSTEM_NS" --wait --timeout 60s >/dev/null 2>&1
  kubectl delete ns "$APPS_NS" "$SYSTEM_NS" --wait=false >/dev/null 2>&1
  if [ "$started_cluster" = 1 ] && [ -z "${KEEP_CLUSTER:-}" ]; then bash "$ROOT/hack/cluster.sh" down >/dev/null 2>&1; fi
  rm -rf "$WORK"
}
trap cleanup EXIT
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

if ! kubectl get node opscopilot-node >/dev/null 2>&1; then
  bad "the real node opscopilot-node is not part of the cluster (OPSCOPILOT_REAL_NODE=0?)"
  finish
fi

# --- image -------------------------------------------------------------------
VERSION="$(sed -n 's/^project(opscopilot .*VERSION \([0-9.]*\)).*/\1/p' "$ROOT/CMakeLists.txt")"
if out="$(OUTPUT="$WORK/operator.oci.tar" bash "$ROOT/hack/image.sh" 2>&1)"; then
  echo "$out" | sed 's/^/    /'
  ok "hack/image.sh built and imported docker.io/opscopilot/operator:$VERSION"
else
  bad "hack/image.sh: $out"; finish
fi
# Reproducible: the same binary gives the same archive.
OUTPUT="$WORK/again.oci.tar" bash "$ROOT/hack/image.sh" --no-import >/dev/null 2>&1
if cmp -s "$WORK/operator.oci.tar" "$WORK/again.oci.tar"; then ok "image archive is reproducible (byte-identical rebuild)"; else bad "image rebuild differs"; fi

# A Docker archive (`docker save` layout: manifest.json, config, layer tars)
# loads too: the busybox image rewritten in that layout and a new name.
python3 - "$(bash "$ROOT/hack/lib/node-images.sh" | awk '/busybox/ {print $2}')" "$WORK/docker.tar" <<'PY'
import gzip, io, json, sys, tarfile
src = tarfile.open(sys.argv[1])
blob = lambda d: src.extractfile("blobs/sha256/" + d.split(":")[1]).read()
index = json.loads(src.extractfile("index.json").read())
manifest = json.loads(blob(index["manifests"][0]["digest"]))
with tarfile.open(sys.argv[2], "w") as out:
    def add(name, data):
        info = tarfile.TarInfo(name); info.size = len(data); out.addfile(info, io.BytesIO(data))
    add("config.json", blob(manifest["config"]["digest"]))
    add("layer.tar", gzip.decompress(blob(manifest["layers"][0]["digest"])))
    add("manifest.json", json.dumps([{"Config": "config.json", "RepoTags": ["localhost/opscopilot/busybox-docker:1.0"],
                                      "Layers": ["layer.tar"]}]).encode())
PY
if out="$(bash "$ROOT/hack/cluster.sh" import-image "$WORK/docker.tar" 2>&1)" && echo "$out" | grep -c busybox-docker >/dev/null; then
  ok "import-image loads a Docker archive: $out"
else
  bad "import-image of a Docker archive: $out"
fi

# --- helm install ------------------------------------------------------------------
# Earlier tests applied the plain manifests (config/rbac, config/admission);
# Helm will not adopt objects it did not create, as on any cluster moving from
# manifests to the chart. Remove them: this is a fresh install.
kubectl delete --ignore-not-found -f "$ROOT/config/rbac/reader-clusterrole.yaml" \
  -f "$ROOT/config/admission/approvalrequest-decidedby-policy.yaml" \
  -f "$ROOT/config/admission/diagnosticrun-requester-policy.yaml" \
  -f "$ROOT/config/admission/diagnosticrun-requester-stamp.yaml" >/dev/null 2>&1
kubectl create ns "$APPS_NS" >/dev/null
kubectl label ns "$APPS_NS" pod-security.kubernetes.io/enforce=baseline >/dev/null
kubectl create ns "$SYSTEM_NS" >/dev/null 2>&1
# The operator's namespace enforces the restricted Pod Security Standard.
kubectl label ns "$SYSTEM_NS" pod-security.kubernetes.io/enforce=restricted --overwrite >/dev/null
cat >"$WORK/values.yaml" <<EOF
replicas: 2
image: {tag: "$VERSION"}
readerNamespaces: [$APPS_NS]
nodeSelector: {kubernetes.io/hostname: opscopilot-node}
tolerations: [{key: opscopilot.io/real-node, operator: Exists, effect: NoSchedule}]
EOF
if out="$(helm install "$RELEASE" "$ROOT/charts/opscopilot" -n "$SYSTEM_NS" -f "$WORK/values.yaml" --wait --timeout 120s 2>&1)"; then
  ok "helm install (2 replicas on the real node)"
else
  bad "helm install: $out"
  kubectl -n "$SYSTEM_NS" get pods,events >&2
  kubectl -n "$SYSTEM_NS" logs -l app.kubernetes.io/name=opscopilot --tail=20 >&2
  finish
fi
# The chart's requester policies: the validating one always, the mutating one
# because this API server serves MutatingAdmissionPolicy.
if requester_policy_in_force "$RELEASE-diagnosticrun-requester" &&
   kubectl get mutatingadmissionpolicybinding "$RELEASE-diagnosticrun-requester" >/dev/null 2>&1; then
  ok "the chart's requester admission policies are in force (validating and, served here, mutating)"
else
  bad "the chart's requester admission policies are not in force"
fi
pods="$(kubectl -n "$SYSTEM_NS" get pods -l app.kubernetes.io/name=opscopilot -o jsonpath='{.items[*].metadata.name}')"
pod="${pods%% *}"
# Figure: Ready after scheduled.
kubectl -n "$SYSTEM_NS" get pod "$pod" -o json | jq -r '
  (.status.conditions[] | select(.type=="PodScheduled") | .lastTransitionTime) as $s
  | (.status.conditions[] | select(.type=="Ready") | .lastTransitionTime) as $r
  | "figure: operator Pod Ready \(($r | fromdateiso8601) - ($s | fromdateiso8601)) s after it was scheduled on \(.spec.nodeName)"'
if kubectl -n "$SYSTEM_NS" logs "$pod" | grep '"msg":"connected"' | grep -c 'https://10.96.0.1:443' >/dev/null; then
  ok "operator uses in-cluster configuration (kubernetes Service, service account token)"
else
  bad "operator log has no in-cluster connection: $(kubectl -n "$SYSTEM_NS" logs "$pod" | head -3)"
fi
sec="$(kubectl -n "$SYSTEM_NS" get pod "$pod" -o json | jq -c '{u: .spec.securityContext.runAsNonRoot, ro: .spec.containers[0].securityContext.readOnlyRootFilesystem, caps: .spec.containers[0].securityContext.capabilities.drop, sc: .spec.securityContext.seccompProfile.type}')"
[ "$sec" = '{"u":true,"ro":true,"caps":["ALL"],"sc":"RuntimeDefault"}' ] && ok "restricted pod security: $sec" || bad "pod security: $sec"

# --- real failures on the real node ------------------------------------------------------
# name | file | deployment | what must appear in a High/Medium finding title (ERE, case-insensitive)
CASES=(
  "crash|crash.yaml|checkout|config\\.yaml"
  "oom|oom.yaml|reports|OOMKilled|out of memory|memory limit"
  "readiness|readiness.yaml|web|readiness|connection refused"
  "liveness|liveness.yaml|api|liveness"
  "imagepull|imagepull.yaml|frontend|127\\.0\\.0\\.1:1|pull"
  "configmap|configmap.yaml|billing|billing-settings"
  "secretkey|secretkey.yaml|ledger|password"
  "nocommand|nocommand.yaml|search|/app/search-server"
)
for c in "${CASES[@]}"; do
  IFS='|' read -r name file _ <<<"$c"
  kubectl apply -n "$APPS_NS" -f "$REAL/$file" >/dev/null || bad "$name: apply $file"
done

# The broken state as the real kubelet reports it.
broken() {  # broken DEPLOYMENT NAME
  local j
  j="$(kubectl -n "$APPS_NS" get pods -l "app=$1" -o json)" || return 1
  case "$2" in
    crash | nocommand) echo "$j" | jq -e '[.items[].status.containerStatuses[]? | select(.restartCount >= 1 and .lastState.terminated != null)] | length > 0' ;;
    oom) echo "$j" | jq -e '[.items[].status.containerStatuses[]? | select(.lastState.terminated.reason == "OOMKilled" or .state.terminated.reason == "OOMKilled")] | length > 0' ;;
    liveness) echo "$j" | jq -e '[.items[].status.containerStatuses[]? | select(.restartCount >= 1)] | length > 0' ;;
    readiness) kubectl -n "$APPS_NS" get events --field-selector reason=Unhealthy -o jsonpath='{.items[*].message}' | grep -c Readiness ;;
    imagepull) echo "$j" | jq -e '[.items[].status.containerStatuses[]? | select(.state.waiting.reason == "ImagePullBackOff" or .state.waiting.reason == "ErrImagePull")] | length > 0' ;;
    configmap | secretkey) echo "$j" | jq -e '[.items[].status.containerStatuses[]? | select(.state.waiting.reason == "CreateContainerConfigError")] | length > 0' ;;
  esac
}
for c in "${CASES[@]}"; do
  IFS='|' read -r name file deploy _ <<<"$c"
  if ! wait_until 120 broken "$deploy" "$name"; then
    bad "$name: the real failure never showed: $(kubectl -n "$APPS_NS" get pods -l "app=$deploy" -o jsonpath='{.items[*].status.containerStatuses}')"
    continue
  fi
  cat <<EOF | kubectl apply -n "$APPS_NS" -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: why-$name}
spec: {question: "Why is $deploy not working?", target: {kind: Deployment, name: $deploy}}
EOF
done

for c in "${CASES[@]}"; do
  IFS='|' read -r name file deploy expect <<<"$c"
  if ! kubectl -n "$APPS_NS" wait "dr/why-$name" --for=condition=Succeeded --timeout=90s >/dev/null 2>&1; then
    bad "$name: run did not succeed: $(kubectl -n "$APPS_NS" get dr "why-$name" -o jsonpath='{.status.phase} {.status.reason} {.status.message}' 2>&1)"
    continue
  fi
  json="$(kubectl -n "$APPS_NS" get dr "why-$name" -o json)"
  if [ "$name" = crash ]; then
    me="$(kubectl auth whoami -o jsonpath='{.status.userInfo.username}')"
    [ "$(echo "$json" | jq -r .spec.requester.username)" = "$me" ] && ok "runs carry their creator as spec.requester ($me)" ||
      bad "spec.requester of why-crash: $(echo "$json" | jq -c .spec.requester)"
  fi
  titles="$(echo "$json" | jq -r '.status.findings[]? | select(.severity=="High" or .severity=="Critical" or .severity=="Medium") | .title')"
  if echo "$titles" | grep -ciE "$expect" >/dev/null; then
    ok "$name: $(echo "$titles" | grep -iE "$expect" | head -1)"
  else
    bad "$name: expected /$expect/ in findings, got: $titles | steps: $(echo "$json" | jq -c '[.status.steps[] | select(.node=="tool") | .summary]') | containers now: $(kubectl -n "$APPS_NS" get pods -l "app=$deploy" -o jsonpath='{.items[*].status.containerStatuses}')"
  fi
  # The answer cites evidence, and the cited evidence is what the kubelet wrote.
  if echo "$json" | citations_ok && [ "$(echo "$json" | jq '[.status.answer | scan("\\[E[0-9]+\\]")] | length')" -gt 0 ]; then
    ok "$name: the answer cites evidence that exists"
  else
    bad "$name: citations: $(echo "$json" | jq -r .status.answer | head -5)"
  fi
  if [ -n "$FIXTURES" ]; then
    mkdir -p "$FIXTURES"
    kubectl -n "$APPS_NS" get pods -l "app=$deploy" -o json | jq 'del(.metadata.resourceVersion, .items[].metadata.managedFields)' >"$FIXTURES/pods_$name.json"
    kubectl -n "$APPS_NS" get events -o json | jq --arg d "$deploy" '{kind: "EventList", apiVersion: "v1", items: [.items[] | select(.involvedObject.name | startswith($d))]}' >"$FIXTURES/events_$name.json"
  fi
done

# --- leader handover with a run in progress ---------------------------------------------
leader() { kubectl -n "$SYSTEM_NS" get lease -o jsonpath='{.items[0].spec.holderIdentity}' | sed 's/_[0-9]*$//'; }
wait_until 30 test -n "$(leader)" || bad "no leader Lease in $SYSTEM_NS"
old="$(leader)"
kubectl create configmap checkout-settings -n "$APPS_NS" --from-literal=LOG_LEVEL=debug >/dev/null
cat <<EOF | kubectl apply -n "$APPS_NS" -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: handover}
spec: {question: "Is configmap/checkout-settings why checkout crash-loops?", target: {kind: Deployment, name: checkout}}
EOF
awaiting() { [ "$(kubectl -n "$APPS_NS" get dr handover -o jsonpath='{.status.phase}')" = AwaitingApproval ]; }
if wait_until 60 awaiting; then ok "run paused on an ApprovalRequest (leader $old)"; else bad "handover run never awaited approval: $(kubectl -n "$APPS_NS" get dr handover -o jsonpath='{.status}')"; fi
kubectl -n "$SYSTEM_NS" delete pod "$old" --wait=false >/dev/null
new_leader() { local l; l="$(leader)"; [ -n "$l" ] && [ "$l" != "$old" ]; }
if wait_until 90 new_leader; then ok "leader Pod deleted: $(leader) took the Lease over"; else bad "no new leader after deleting $old"; fi
apr="$(kubectl -n "$APPS_NS" get apr -o jsonpath='{.items[0].metadata.name}')"
kubectl -n "$APPS_NS" patch apr "$apr" --type merge -p '{"spec":{"decision":"Approved","decidedBy":"opscopilot-admin"}}' >/dev/null
if kubectl -n "$APPS_NS" wait dr/handover --for=condition=Succeeded --timeout=90s >/dev/null 2>&1; then
  ok "the run in progress finished under the new leader ($(kubectl -n "$APPS_NS" get dr handover -o jsonpath='{.status.reason}'))"
else
  bad "handover run: $(kubectl -n "$APPS_NS" get dr handover -o jsonpath='{.status.phase} {.status.reason} {.status.message}')"
fi

# --- helm upgrade with a changed value ---------------------------------------------------------
if out="$(helm upgrade "$RELEASE" "$ROOT/charts/opscopilot" -n "$SYSTEM_NS" -f "$WORK/values.yaml" \
    --set config.limits.default.maxSteps=1 --wait --timeout 120s 2>&1)"; then
  ok "helm upgrade --set config.limits.default.maxSteps=1"
else
  bad "helm upgrade: $out"
fi
# `helm upgrade --wait` returns once the new Pods are ready; an old Pod (old
# config) may still be terminating and leading. The run is created once only
# new Pods are left and one of them holds the Lease.
upgraded_leads() {
  local pods l
  pods="$(kubectl -n "$SYSTEM_NS" get pods -l app.kubernetes.io/name=opscopilot -o json)" || return 1
  echo "$pods" | jq -e 'all(.items[]; .metadata.deletionTimestamp == null)' >/dev/null || return 1
  l="$(leader)"
  [ -n "$l" ] && echo "$pods" | jq -e --arg l "$l" 'any(.items[]; .metadata.name == $l)' >/dev/null
}
wait_until 120 upgraded_leads || bad "after upgrade: no new operator Pod leads: $(leader)"
cat <<EOF | kubectl apply -n "$APPS_NS" -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: after-upgrade}
spec: {question: "Why is checkout crash-looping?", target: {kind: Deployment, name: checkout}}
EOF
done_upgrade() { [ -n "$(kubectl -n "$APPS_NS" get dr after-upgrade -o jsonpath='{.status.completionTime}')" ]; }
wait_until 90 done_upgrade
got="$(kubectl -n "$APPS_NS" get dr after-upgrade -o json | jq -r '"\(.status.reason) \([.status.steps[] | select(.node=="tool")] | length)"')"
[ "$got" = "StepLimitReached 1" ] && ok "upgrade took effect: a new run stops at the new default of 1 step" || bad "after upgrade: $got"

# --- helm uninstall ------------------------------------------------------------------------------
helm uninstall "$RELEASE" -n "$SYSTEM_NS" --wait --timeout 60s >/dev/null 2>&1 || bad "helm uninstall"
# The operator pods end gracefully (the run in flight checkpoints first).
pods_gone() { [ -z "$(kubectl -n "$SYSTEM_NS" get pods -o name)" ]; }
wait_until 60 pods_gone || bad "operator pods still there 60 s after uninstall"
left="$(kubectl get clusterroles,clusterrolebindings,validatingadmissionpolicies,validatingadmissionpolicybindings -o name | grep -i opscopilot)"
left+="$(kubectl get mutatingadmissionpolicies,mutatingadmissionpolicybindings -o name 2>/dev/null | grep -i opscopilot)"
left+="$(kubectl -n "$SYSTEM_NS" get deploy,rs,pods,sa,cm,secrets,svc,roles,rolebindings -o name 2>/dev/null | grep -v -e 'serviceaccount/default$' -e 'configmap/kube-root-ca.crt$')"
left+="$(kubectl -n "$APPS_NS" get sa,rolebindings -o name | grep opscopilot)"
if [ -z "$left" ]; then ok "helm uninstall leaves no workload, RBAC, config or admission policy"; else bad "left after uninstall: $left"; fi
kept="$(kubectl get crd diagnosticruns.opscopilot.io approvalrequests.opscopilot.io -o name 2>/dev/null | wc -l)"
[ "$kept" = 2 ] && [ -n "$(kubectl -n "$APPS_NS" get dr -o name)" ] && ok "kept, as the README says: the CRDs and the runs" || bad "CRDs or runs gone"

finish
