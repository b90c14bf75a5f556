#!/usr/bin/env bash
# The first command of the README. From a fresh machine: installs what is
# missing, builds, starts the local control plane (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kwok), deploys the sample
# workloads from config/samples, and runs the operator binary against them.
# It leaves the cluster running and prints how to use and stop it.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
step() { echo; echo "==> $*"; }

step "Installing dependencies (apt-get, only what is missing)"
bash hack/install-deps.sh

step "Building OpsCopilot"
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j "$(nproc)"

step "Starting the local control plane (the first run builds it from Go modules; later runs reuse the cache)"
bash hack/cluster.sh up
eval "$(bash hack/cluster.sh env)"

step "Installing the CRDs, the read-only reader role and the admission policies"
kubectl apply -f crds/ >/dev/null
kubectl wait --for=condition=Established crd/diagnosticruns.opscopilot.io crd/approvalrequests.opscopilot.io --timeout=60s >/dev/null
kubectl apply -f config/rbac/reader-clusterrole.yaml >/dev/null
# spec.requester: stamped with who creates a run (mutating policy, served by
# this control plane) and checked (validating policy); a run reads only what
# both the namespace reader and its requester may read.
kubectl apply -f config/admission/ >/dev/null
# The operator believes spec.requester of runs created once the validating
# policy is in force (2 s after its binding's creation).
created="$(kubectl get validatingadmissionpolicybinding opscopilot-diagnosticrun-requester -o jsonpath='{.metadata.creationTimestamp}')"
until [ "$(date -u +%s)" -ge $(($(date -u -d "$created" +%s) + 3)) ]; do sleep 0.5; done

step "Deploying broken sample workloads (simulated by kwok) in namespace shop"
kubectl apply -f config/samples/workloads/00-namespace.yaml >/dev/null
kubectl apply -n shop -f config/rbac/namespace-reader.yaml >/dev/null
kubectl apply -f config/samples/workloads/ >/dev/null
# Wait until every pod shows its state (Running, CrashLoopBackOff, ImagePullBackOff, ...).
deadline=$((SECONDS + 90))
until [ "$(kubectl -n shop get pods --no-headers 2>/dev/null | grep -cvE ' (Pending|ContainerCreating) ')" -ge 4 ] || [ $SECONDS -ge $deadline ]; do
  sleep 1
done
kubectl -n shop get pods

step "Starting the operator (out of cluster, built-in model: no API key, no network)"
STATE="${OPSCOPILOT_CLUSTER_DIR:-$HOME/.cache/opscopilot/cluster}"
if [ -f "$STATE/operator.pid" ] && kill -0 "$(cat "$STATE/operator.pid")" 2>/dev/null; then
  kill "$(cat "$STATE/operator.pid")"; sleep 1
fi
nohup ./build/opscopilot-operator --kubeconfig "$KUBECONFIG" --config config/operator.yaml \
  --health-address 127.0.0.1:8081 >"$STATE/operator.log" 2>&1 &
echo $! >"$STATE/operator.pid"
echo "operator pid $(cat "$STATE/operator.pid"), log $STATE/operator.log"

step "Asking: kubectl apply -f config/samples/*-run.yaml"
kubectl apply -f config/samples/crashloop-run.yaml -f config/samples/imagepull-run.yaml \
  -f config/samples/healthy-run.yaml -f config/samples/namespace-run.yaml
for run in $(kubectl -n shop get dr -o name); do
  kubectl -n shop wait "$run" --for=jsonpath='{.status.completionTime}' --timeout=60s >/dev/null || true
done

step "kubectl get dr -n shop"
kubectl -n shop get dr -o wide

for run in $(kubectl -n shop get dr -o jsonpath='{.items[*].metadata.name}'); do
  step "Answer of $run ($(kubectl -n shop get dr "$run" -o jsonpath='{.spec.question}'))"
  kubectl -n shop get dr "$run" -o jsonpath='{.status.answer}'
  echo
done

cat <<MSG

The cluster and the operator are still running. Try your own question:
  eval "\$(bash hack/cluster.sh env)"
  export PATH="\$PWD/build:\$PATH"                               # kubectl opscopilot
  kubectl opscopilot ask "Why is payments not ready?" --target deploy/payments -n shop
  kubectl -n shop describe dr why-crashloop                # steps, evidence, findings
  kubectl -n shop get dr why-crashloop -o jsonpath='{.status.evidence}'
  cat <<EOF | kubectl apply -f -
  apiVersion: opscopilot.io/v1alpha1
  kind: DiagnosticRun
  metadata: {name: my-question, namespace: shop}
  spec: {question: "Why is payments not ready?", target: {kind: Deployment, name: payments}}
  EOF
Stop everything:
  kill \$(cat $STATE/operator.pid); bash hack/cluster.sh down
MSG
