#!/usr/bin/env bash
# Benchmark (not a test): what one status write of a DiagnosticRun costs the
# API server, beside a ConfigMap of the same size and beside the same status
# under CRDs that drop one cost at a time:
#   - the DiagnosticRun CRD as shipped (PUT of the whole object, and a merge
#     patch of the status alone);
#   - a copy without its CEL rules (x-kubernetes-validations);
#   - a copy whose status is one atomic field for field management
#     (x-kubernetes-map-type: atomic: managedFields stops at status);
#   - a copy whose status is schemaless (x-kubernetes-preserve-unknown-fields);
#   - a ConfigMap holding the same status as one string.
# The status is a real one: a built-in run on the crashloop scenario.
#   tests/bench/write_cost.sh [OBJECTS] [WRITES]     (default 20 x 20)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OBJECTS="${1:-20}"
WRITES="${2:-20}"
cd "$ROOT"
source tests/e2e/lib.sh
bench_setup opscopilot-operator write_bench
NS="write-bench-$$"
WORK="$(mktemp -d)"
OP=""
cleanup() {
  [ -n "$OP" ] && kill "$OP" 2>/dev/null
  kubectl delete ns "$NS" --wait=false >/dev/null 2>&1
  kubectl delete crd diagnosticrunnocels.bench.opscopilot.io diagnosticrunatomics.bench.opscopilot.io \
    diagnosticrunbares.bench.opscopilot.io >/dev/null 2>&1
  rm -rf "$WORK"
}
trap cleanup EXIT
bench_scenario "$NS"

# A real status: one built-in run.
PORT=$(free_port)
./build/opscopilot-operator --kubeconfig "$KUBECONFIG" --namespace "$NS" --health-address "127.0.0.1:$PORT" \
  >"$WORK/operator.log" 2>&1 &
OP=$!
kubectl apply -n "$NS" -f tests/e2e/scenarios/crashloop.run.yaml >/dev/null
kubectl -n "$NS" wait dr/why-crashloop --for=condition=Succeeded --timeout=120s >/dev/null
kill "$OP"
wait "$OP" 2>/dev/null || true
OP=""
kubectl -n "$NS" get dr why-crashloop -o json | jq .status >"$WORK/status.json"

# The CRD variants, in their own group so they never meet the operator.
variant() {  # variant KIND PLURAL JQ-FILTER
  kubectl create --dry-run=client -o json -f crds/opscopilot.io_diagnosticruns.yaml |
    jq --arg kind "$1" --arg plural "$2" '
      .metadata.name = ($plural + ".bench.opscopilot.io") | .spec.group = "bench.opscopilot.io"
      | .spec.names = {kind: $kind, plural: $plural, singular: ($plural | rtrimstr("s")), listKind: ($kind + "List")}
      | del(.spec.names.shortNames) | '"$3" | kubectl apply -f - >/dev/null
}
variant DiagnosticRunNoCel diagnosticrunnocels 'walk(if type == "object" then del(."x-kubernetes-validations") else . end)'
variant DiagnosticRunAtomic diagnosticrunatomics \
  '.spec.versions[0].schema.openAPIV3Schema.properties.status["x-kubernetes-map-type"] = "atomic"'
variant DiagnosticRunBare diagnosticrunbares \
  '.spec.versions[0].schema.openAPIV3Schema.properties.status = {type: "object", "x-kubernetes-preserve-unknown-fields": true}'
kubectl wait --for=condition=Established crd/diagnosticrunnocels.bench.opscopilot.io \
  crd/diagnosticrunatomics.bench.opscopilot.io crd/diagnosticrunbares.bench.opscopilot.io --timeout=60s >/dev/null

apiserver_pid="$(cat "$OPSCOPILOT_CLUSTER_DIR/run/kube-apiserver.pid")"
echo "API-server cost per write: $OBJECTS objects x $WRITES writes, 4 clients, $(nproc) cores, loopback control plane"
echo "status: $(wc -c <"$WORK/status.json") bytes of JSON from a built-in run"
bench() {
  ./build/tests/bench/write_bench --namespace "$NS" --status-file "$WORK/status.json" --apiserver-pid "$apiserver_pid" \
    --objects "$OBJECTS" --writes "$WRITES" "$@"
}
bench --mode configmap --name cm
bench --mode status-put --resource opscopilot.io/v1alpha1/diagnosticruns --kind DiagnosticRun --name warm >/dev/null  # warms up
bench --mode status-put --resource opscopilot.io/v1alpha1/diagnosticruns --kind DiagnosticRun --name dr
bench --mode status-patch --resource opscopilot.io/v1alpha1/diagnosticruns --kind DiagnosticRun --name drp
bench --mode status-put --resource bench.opscopilot.io/v1alpha1/diagnosticrunnocels --kind DiagnosticRunNoCel --name nocel
bench --mode status-put --resource bench.opscopilot.io/v1alpha1/diagnosticrunatomics --kind DiagnosticRunAtomic --name atomic
bench --mode status-put --resource bench.opscopilot.io/v1alpha1/diagnosticrunbares --kind DiagnosticRunBare --name bare
