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
  install_crds_and_policies >/dev/null || { echo "bench: CRDs or admission policies not ready" >&2; return 1; }
  kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null
}

# bench_scenario NS: a namespace with the reader role and the crashloop
# scenario, ready to investigate (the benchmarks' workload).
bench_scenario() {
  kubectl create ns "$1" >/dev/null
  kubectl apply -n "$1" -f "$ROOT/config/rbac/namespace-reader.yaml" -f "$ROOT/tests/e2e/scenarios/crashloop.yaml" >/dev/null
  wait_until 60 scenario_ready "$1" crashloop
}

# install_crds_and_policies: the CRDs (Established) and the requester
# admission policies of config/admission (in force), so that runs created from
# now on carry a requester the operator believes.
install_crds_and_policies() {
  kubectl apply -f "$ROOT/crds/" >/dev/null || return 1
  kubectl wait --for=condition=Established crd/diagnosticruns.opscopilot.io crd/approvalrequests.opscopilot.io \
    crd/diagnosticschedules.opscopilot.io \
    --timeout=60s >/dev/null || return 1
  kubectl apply -f "$ROOT/config/admission/diagnosticrun-requester-policy.yaml" >/dev/null || return 1
  # Only where the API server serves MutatingAdmissionPolicy (hack/cluster.sh does).
  kubectl apply -f "$ROOT/config/admission/diagnosticrun-requester-stamp.yaml" >/dev/null 2>&1 || true
  requester_policy_in_force opscopilot-diagnosticrun-requester || return 1
  # The MutatingAdmissionPolicy learns a new CRD's schema from the API
  # server's OpenAPI, polled every 5 s; until then a create it stamps is
  # refused with 503 ("Resource kind ... not found. There can be a delay
  # ..."). The probe above names its requester, so the stamp never ran.
  wait_until 60 requester_stamp_ready || { echo "the requester stamp never took the CRDs' schemas" >&2; return 1; }
}
# dry_run_create: the server's answer to creating the manifest on stdin in
# namespace default (a server-side dry run: nothing is stored), refusals too.
dry_run_create() { kubectl create --dry-run=server -n default -f - 2>&1; }
requester_stamp_ready() {
  local out
  out="$(dry_run_create <<'EOF'
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {generateName: stamp-probe-}
spec: {question: "probe"}
---
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticSchedule
metadata: {generateName: stamp-probe-}
spec: {schedule: "@daily", runTemplate: {spec: {question: "probe"}}}
EOF
)"
  ! grep -q "ServiceUnavailable\|There can be a delay" <<<"$out"
}

# requester_policy_in_force BINDING: waits until the requester policy refuses
# a run naming someone else (server-side dry run), and until the operator's
# rule "created at least 2 s after the binding" holds for runs created now.
requester_policy_in_force() {
  local binding="$1" created since
  wait_until 60 requester_policy_refuses_forgery || { echo "the requester policy never took effect" >&2; return 1; }
  created="$(kubectl get validatingadmissionpolicybinding "$binding" -o jsonpath='{.metadata.creationTimestamp}')" || return 1
  since=$(($(date -u -d "$created" +%s) + 3))
  wait_until 10 clock_reached "$since" || { echo "the clock never reached $since" >&2; return 1; }
}
clock_reached() { [ "$(date -u +%s)" -ge "$1" ]; }
requester_policy_refuses_forgery() {
  local out
  out="$(dry_run_create <<'EOF'
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {generateName: policy-probe-}
spec: {question: "probe", requester: {username: "someone-else:policy-probe"}}
EOF
)"
  grep -q "must be your own user name" <<<"$out"
}

# install_status_refusal NAME PROBE_NS: a ValidatingAdmissionPolicy (and
# binding) NAME under which the API server refuses status writes of
# DiagnosticRuns labelled e2e.opscopilot.io/refuse, the way a real cluster
# refuses them (for tests; deleted by remove_status_refusal NAME):
#   excerpts  413 while any evidence excerpt is over 100 bytes, once the
#             run has made a model call
#   steps     413 while the status holds any step, once the run has made a
#             model call
#   record    403 while the AwaitingApproval condition records a request
# Returns once it is in force: a status write to a labelled run in PROBE_NS
# (created here; a namespace no operator under test watches) is refused.
install_status_refusal() {
  local name="$1" probe_ns="$2" big
  kubectl apply -f - >/dev/null <<EOF || return 1
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicy
metadata: {name: $name}
spec:
  failurePolicy: Fail
  matchConstraints:
    resourceRules:
    - {apiGroups: [opscopilot.io], apiVersions: ["*"], operations: [UPDATE], resources: [diagnosticruns/status]}
  matchConditions:
  - {name: labelled, expression: "has(object.metadata.labels) && 'e2e.opscopilot.io/refuse' in object.metadata.labels"}
  validations:
  - expression: >-
      object.metadata.labels['e2e.opscopilot.io/refuse'] != 'excerpts' || !has(object.status) ||
      !has(object.status.usage) || !has(object.status.usage.llmCalls) || object.status.usage.llmCalls == 0 ||
      !has(object.status.evidence) || object.status.evidence.all(e, !has(e.excerpt) || size(e.excerpt) <= 100)
    reason: RequestEntityTooLarge
    message: the status is too large for this cluster (e2e policy on excerpts)
  - expression: >-
      object.metadata.labels['e2e.opscopilot.io/refuse'] != 'steps' || !has(object.status) ||
      !has(object.status.usage) || !has(object.status.usage.llmCalls) || object.status.usage.llmCalls == 0 ||
      !has(object.status.steps) || size(object.status.steps) == 0
    reason: RequestEntityTooLarge
    message: the status is too large for this cluster (e2e policy on steps)
  - expression: >-
      object.metadata.labels['e2e.opscopilot.io/refuse'] != 'record' || !has(object.status) ||
      !has(object.status.conditions) ||
      !object.status.conditions.exists(c, c.type == 'AwaitingApproval' && c.status == 'True' && c.message.contains('(uid '))
    reason: Forbidden
    message: recording an ApprovalRequest is refused for now (e2e policy on records)
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingAdmissionPolicyBinding
metadata: {name: $name}
spec: {policyName: $name, validationActions: [Deny]}
EOF
  kubectl create ns "$probe_ns" >/dev/null 2>&1
  kubectl apply -n "$probe_ns" -f - >/dev/null <<EOF || return 1
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: probe, labels: {e2e.opscopilot.io/refuse: excerpts}}
spec: {question: "probe", target: {kind: Deployment, name: probe}}
EOF
  big="$(printf 'x%.0s' $(seq 150))"
  STATUS_PROBE=(-n "$probe_ns" patch dr probe --subresource=status --type=merge
    -p "{\"status\":{\"usage\":{\"llmCalls\":1},\"evidence\":[{\"id\":\"E1\",\"excerpt\":\"$big\"}]}}")
  wait_until 60 status_refusal_in_force || { echo "the status refusal policy never took effect" >&2; return 1; }
}
status_refusal_in_force() {  # (the patch fails when refused: no pipe, whatever pipefail says)
  local out
  out="$(kubectl "${STATUS_PROBE[@]}" 2>&1)"
  grep -q 'too large for this cluster' <<<"$out"
}
remove_status_refusal() {
  kubectl delete validatingadmissionpolicybinding,validatingadmissionpolicy "$1" >/dev/null 2>&1
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

# start_model_server: the scripted model server (tests/llm_server) on a free
# port; sets LLM_PID and LLM (its URL). Its log is $WORK/llm.log.
start_model_server() {
  python3 "$ROOT/tests/llm_server/scripted_llm.py" --port 0 --port-file "$WORK/llm.port" >"$WORK/llm.log" 2>&1 &
  LLM_PID=$!
  wait_until 20 test -s "$WORK/llm.port" || { cat "$WORK/llm.log" >&2; return 1; }
  LLM="http://127.0.0.1:$(cat "$WORK/llm.port")"
}

# e2e_cleanup [NAMESPACES...]: stops $OPERATOR_PID and $LLM_PID, deletes the namespaces,
# takes the cluster down if e2e_setup brought it up, removes $WORK.
e2e_cleanup() {
  [ -n "${OPERATOR_PID:-}" ] && kill "$OPERATOR_PID" 2>/dev/null && wait "$OPERATOR_PID" 2>/dev/null
  # A failed check: the operator's last words go to the test's output (its
  # log lines pass the redactor), since $WORK is removed below.
  if [ "${fail:-0}" != 0 ] && [ -s "${WORK:-}/operator.log" ]; then
    echo "--- the operator's log, last 150 lines:"
    tail -n 150 "$WORK/operator.log"
  fi
  [ -n "${LLM_PID:-}" ] && kill "$LLM_PID" 2>/dev/null
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
       + ([.status.answer // "" | scan("\\[([ER][0-9]+)\\]") | .[0]]))
    | all(. as $e | $ids | index($e) != null)' >/dev/null
}

# real_node_deployment NS NAME REPLICAS CONTAINER SCRIPT: a Deployment NAME
# (pods labelled app=NAME) of busybox on the real node (opscopilot-node),
# whose one container CONTAINER runs `sh -c SCRIPT`.
real_node_deployment() {
  local ns=$1 name=$2 replicas=$3 container=$4 script
  script="$(jq -Rn --arg s "$5" '$s')"
  kubectl -n "$ns" apply -f - >/dev/null <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: {name: $name}
spec:
  replicas: $replicas
  strategy: {type: Recreate}
  selector: {matchLabels: {app: $name}}
  template:
    metadata: {labels: {app: $name}}
    spec:
      nodeSelector: {kubernetes.io/hostname: opscopilot-node}
      tolerations: [{key: opscopilot.io/real-node, operator: Exists, effect: NoSchedule}]
      terminationGracePeriodSeconds: 1
      automountServiceAccountToken: false
      enableServiceLinks: false
      containers:
      - name: $container
        image: localhost/opscopilot/busybox:1.35.0
        imagePullPolicy: IfNotPresent
        command: [sh, -c, $script]
EOF
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
