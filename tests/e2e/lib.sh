#!/usr/bin/env bash
# Shared by the end-to-end tests and the benchmarks: case reporting, the
# cluster, polling with deadlines and the readiness of the broken scenarios
# in tests/e2e/scenarios.

# Sets SCENARIOS, OPERATOR, WORK (a scratch directory), RUN_ID, pass/fail
# counters, and brings the local control plane up unless it runs
# (started_cluster=1 then, so the caller takes it down again).
e2e_setup() {
  SCENARIOS="$ROOT/tests/e2e/scenarios"
  OPERATOR="${OPSCOPILOT_OPERATOR:-$ROOT/build/opscopilot-operator}"
  pass=0
  fail=0
  started_cluster=0
  if ! bash "$ROOT/hack/cluster.sh" status >/dev/null 2>&1; then
    bash "$ROOT/hack/cluster.sh" up || return 1
    started_cluster=1
  fi
  eval "$(bash "$ROOT/hack/cluster.sh" env)"
  WORK="$(mktemp -d)"
  RUN_ID="$(date +%s)-$$"
}
# For the benchmarks: builds the given targets, brings the control plane up,
# installs the CRDs and the reader role.
bench_setup() {
  cmake -S "$ROOT" -B "$ROOT/build" -G Ninja >/dev/null && cmake --build "$ROOT/build" --target "$@" >/dev/null
  bash "$ROOT/hack/cluster.sh" up >/dev/null
  eval "$(bash "$ROOT/hack/cluster.sh" env)"
  install_crds_and_policies >/dev/null
  kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null
}

# install_crds_and_policies: the CRDs (Established) and the requester
# admission policies of config/admission (in force), so that runs created from
# now on carry a requester the operator believes.
install_crds_and_policies() {
  kubectl apply -f "$ROOT/crds/" >/dev/null || return 1
  kubectl wait --for=condition=Established crd/diagnosticruns.opscopilot.io crd/approvalrequests.opscopilot.io \
    --timeout=60s >/dev/null || return 1
  kubectl apply -f "$ROOT/config/admission/diagnosticrun-requester-policy.yaml" >/dev/null || return 1
  # Only where the API server serves MutatingAdmissionPolicy (hack/cluster.sh does).
  kubectl apply -f "$ROOT/config/admission/diagnosticrun-requester-stamp.yaml" >/dev/null 2>&1 || true
  requester_policy_in_force opscopilot-diagnosticrun-requester
}

# requester_policy_in_force BINDING: waits until the requester policy refuses
# a run naming someone else (server-side dry run), and until the operator's
# rule "created at least 2 s after the binding" holds for runs created now.
requester_policy_in_force() {
  local binding="$1" created since
  wait_until 60 requester_policy_refuses_forgery || { echo "the requester policy never took effect" >&2; return 1; }
  created="$(kubectl get validatingadmissionpolicybinding "$binding" -o jsonpath='{.metadata.creationTimestamp}')" || return 1
  since=$(($(date -u -d "$created" +%s) + 3))
  wait_until 10 test "$(date -u +%s)" -ge "$since"
}
requester_policy_refuses_forgery() {
  local out
  out="$(kubectl create --dry-run=server -n default -f - 2>&1 <<'EOF'
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {generateName: policy-probe-}
spec: {question: "probe", requester: {username: "someone-else:policy-probe"}}
EOF
)"
  grep -q "must be your own user name" <<<"$out"
}

# reader_namespace NS: creates NS with the reader identity the tools
# impersonate (config/rbac/namespace-reader.yaml, its subject pointed at NS).
reader_namespace() {
  local ns="$1"
  kubectl create ns "$ns" >/dev/null || return 1
  kubectl apply -n "$ns" -f "$ROOT/config/rbac/namespace-reader.yaml" >/dev/null
  kubectl -n "$ns" patch rolebinding opscopilot-reader --type json \
    -p "[{\"op\":\"replace\",\"path\":\"/subjects/0/namespace\",\"value\":\"$ns\"}]" >/dev/null 2>&1 || true
}

# e2e_cleanup [NAMESPACES...]: stops $OPERATOR_PID, deletes the namespaces,
# takes the cluster down if e2e_setup brought it up, removes $WORK.
e2e_cleanup() {
  [ -n "${OPERATOR_PID:-}" ] && kill "$OPERATOR_PID" 2>/dev/null && wait "$OPERATOR_PID" 2>/dev/null
  local ns
  for ns in "$@"; do kubectl delete ns "$ns" --wait=false >/dev/null 2>&1; done
  if [ "$started_cluster" = 1 ] && [ -z "${KEEP_CLUSTER:-}" ]; then bash "$ROOT/hack/cluster.sh" down >/dev/null 2>&1; fi
  rm -rf "$WORK"
}

# citations_ok < RUN_JSON: every evidence ID cited in findings, steps and the
# answer exists in status.evidence.
citations_ok() {
  jq -e '
    (.status.evidence // [] | map(.id)) as $ids
    | ([.status.findings[]?.evidence[]?] + [.status.steps[]?.evidence[]?]
       + ([.status.answer // "" | scan("\\[(E[0-9]+)\\]") | .[0]]))
    | all(. as $e | $ids | index($e) != null)' >/dev/null
}

# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

ok() { echo "PASS $*"; pass=$((pass + 1)); }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

wait_until() {  # wait_until SECONDS COMMAND...: poll a condition with a deadline
  local deadline=$((SECONDS + $1))
  shift
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

# True once the scenario's broken state is visible the way the kubelet,
# scheduler and controllers report it.
scenario_ready() {  # scenario_ready NS NAME
  local ns=$1 name=$2
  case "$name" in
    job) [ "$(kubectl -n "$ns" get job migrate -o jsonpath='{.status.conditions[?(@.type=="Failed")].status}')" = True ] ;;
    quota) kubectl -n "$ns" get events --field-selector reason=FailedCreate -o name | grep -c . >/dev/null ;;
    unschedulable) kubectl -n "$ns" get pods -o jsonpath='{.items[*].status.conditions[?(@.type=="PodScheduled")].reason}' | grep -c Unschedulable >/dev/null ;;
    service|healthy) [ "$(kubectl -n "$ns" get pods -o jsonpath='{.items[*].status.phase}' | wc -w)" -ge 2 ] &&
      ! kubectl -n "$ns" get pods -o jsonpath='{.items[*].status.phase}' | grep -c Pending >/dev/null ;;
    *) kubectl -n "$ns" get pods -o jsonpath='{.items[*].status.containerStatuses[*].state.waiting.reason}' | grep -c . >/dev/null ;;
  esac
}
