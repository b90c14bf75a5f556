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

step "Deploying sample workloads (simulated by kwok)"
kubectl apply -f config/samples/workloads/ >/dev/null
kubectl -n shop rollout status deployment/frontend --timeout=60s >/dev/null || true
# Pods of the broken workloads never become ready; wait until each has a status.
deadline=$((SECONDS + 60))
until [ "$(kubectl -n shop get pods --no-headers 2>/dev/null | grep -vc -E 'Pending +0 ')" -ge 3 ] || [ $SECONDS -ge $deadline ]; do
  sleep 1
done
kubectl -n shop get deployments,pods -o wide

step "The operator's Kubernetes client: list + watch of every pod through its informer"
./build/opscopilot-operator --kubeconfig "$KUBECONFIG" --once

step "A crash-looping container's previous logs, served by kwok"
pod="$(kubectl -n shop get pods -l app=checkout -o jsonpath='{.items[0].metadata.name}')"
kubectl -n shop logs "$pod" -c checkout --previous || true

cat <<MSG

The cluster is still running. To use it:
  eval "\$(bash hack/cluster.sh env)"
  kubectl get pods -A
To stop everything:
  bash hack/cluster.sh down
MSG
