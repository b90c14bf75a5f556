#!/usr/bin/env bash
# End to end: the operator binary against the real control plane of
# hack/cluster.sh, driven with the real kubectl. Each broken scenario of
# tests/e2e/scenarios gets its own namespace; its DiagnosticRun must reach
# Succeeded with the expected root cause among its findings, citing evidence
# IDs that exist in status.evidence. Then: TargetNotFound, a step limit, a
# run timeout, SIGKILL of the operator mid-run, megabytes of logs, a healthy
# workload and 50 concurrent runs.
#
# Prints one line per case and "N passed, M failed" at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
NAMESPACES=()
OPERATOR_PID=""

cleanup() {
  [ -n "$OPERATOR_PID" ] && kill "$OPERATOR_PID" 2>/dev/null && wait "$OPERATOR_PID" 2>/dev/null
  for ns in "${NAMESPACES[@]}"; do kubectl delete ns "$ns" --wait=false >/dev/null 2>&1; done
  kubectl delete clusterlogs -l opscopilot.io/e2e="$RUN_ID" >/dev/null 2>&1
  if [ "$started_cluster" = 1 ] && [ -z "${KEEP_CLUSTER:-}" ]; then bash "$ROOT/hack/cluster.sh" down >/dev/null 2>&1; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- setup -------------------------------------------------------------------
install_crds_and_policies || exit 1
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null || exit 1

new_ns() {  # new_ns NAME: a namespace with the reader identity
  local ns="e2e-$1-$RUN_ID"
  reader_namespace "$ns"
  NAMESPACES+=("$ns")
  echo "$ns"
}

start_operator() {
  "$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$ROOT/config/operator.yaml" --health-address 127.0.0.1:0 \
    >>"$WORK/operator.log" 2>&1 &
  OPERATOR_PID=$!
}


run_json() { kubectl -n "$1" get dr "$2" -o json; }
finished() { local p; p="$(kubectl -n "$1" get dr "$2" -o jsonpath='{.status.phase}')"; [ "$p" = Succeeded ] || [ "$p" = Failed ]; }


# --- scenarios -------------------------------------------------------------------
# name | readiness check on the namespace | expected finding (extended regex, case-insensitive)
declare -A EXPECT=(
  [crashloop]='DATABASE_URL'
  [imagepull]='image.*(not found|tag|pull)|pull.*image'
  [oomkilled]='OOM|memory'
  [configerror]='mailer-config'
  [unschedulable]='Insufficient cpu|cpu'
  [service]='selector|endpoint'
  [job]='BackoffLimitExceeded|backoff limit'
  [quota]='quota'
)


start_operator
wait_until 30 kill -0 "$OPERATOR_PID" || { bad "operator starts"; cat "$WORK/operator.log"; exit 1; }

declare -A NS_OF
for file in "$SCENARIOS"/*.run.yaml; do
  name="$(basename "$file" .run.yaml)"
  ns="$(new_ns "$name")"
  NS_OF[$name]=$ns
  kubectl apply -n "$ns" -f "$SCENARIOS/$name.yaml" >/dev/null
done
# Container logs for the crash-looping checkout (kwok serves them).
cat <<EOF | kubectl apply -f - >/dev/null
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata: {name: e2e-checkout-$RUN_ID, labels: {opscopilot.io/e2e: "$RUN_ID"}}
spec:
  selector: {matchNamespaces: [${NS_OF[crashloop]}]}
  logs:
  - containers: [checkout]
    logsFile: $ROOT/config/samples/logs/checkout.log
    previousLogsFile: $ROOT/config/samples/logs/checkout.previous.log
EOF

for name in "${!NS_OF[@]}"; do
  ns=${NS_OF[$name]}
  if ! wait_until 90 scenario_ready "$ns" "$name"; then
    bad "$name: the broken state never appeared"
    kubectl -n "$ns" get all,events >&2
    continue
  fi
  kubectl apply -n "$ns" -f "$SCENARIOS/$name.run.yaml" >/dev/null
done

for name in $(echo "${!NS_OF[@]}" | tr ' ' '\n' | sort); do
  ns=${NS_OF[$name]}
  run="$(awk '/name:/ {gsub(/[{},]/," "); for (i=1;i<=NF;i++) if ($i=="name:") {print $(i+1); exit}}' "$SCENARIOS/$name.run.yaml")"
  if ! kubectl -n "$ns" wait "dr/$run" --for=condition=Succeeded --timeout=60s >/dev/null 2>&1; then
    bad "$name: run $run did not succeed: $(kubectl -n "$ns" get dr "$run" -o jsonpath='{.status.phase} {.status.reason} {.status.message}' 2>&1)"
    continue
  fi
  json="$(run_json "$ns" "$run")"
  if [ "$name" = healthy ]; then
    if echo "$json" | jq -e '[.status.findings[]? | select(.severity=="High" or .severity=="Critical")] | length == 0' >/dev/null &&
       echo "$json" | jq -r .status.answer | grep -c "No problem found" >/dev/null; then
      ok "healthy: no High finding, answer says no problem found"
    else
      bad "healthy: $(echo "$json" | jq -c '[.status.findings[]? | {severity,title}]')"
    fi
  else
    titles="$(echo "$json" | jq -r '.status.findings[]? | select(.severity=="High" or .severity=="Critical" or .severity=="Medium") | .title')"
    if echo "$titles" | grep -ciE "${EXPECT[$name]}" >/dev/null; then
      ok "$name: root cause found: $(echo "$titles" | grep -iE "${EXPECT[$name]}" | head -1)"
    else
      bad "$name: expected /${EXPECT[$name]}/ in findings, got: $titles | answer: $(echo "$json" | jq -r .status.answer | head -3)"
    fi
  fi
  if echo "$json" | citations_ok; then ok "$name: every cited evidence ID exists"; else bad "$name: dangling evidence citations"; fi
  if echo "$json" | jq -e '.status.conditions[] | select(.type=="Succeeded") | .status=="True"' >/dev/null &&
     [ "$(echo "$json" | jq '.status.observedGeneration')" = "$(echo "$json" | jq '.metadata.generation')" ]; then
    ok "$name: condition Succeeded=True, observedGeneration current"
  else
    bad "$name: conditions or observedGeneration wrong"
  fi
done

# The printer columns a person sees.
header="$(kubectl -n "${NS_OF[crashloop]}" get dr | head -1)"
if echo "$header" | grep -cE 'NAME +PHASE +REASON +STEPS +COST +AGE' >/dev/null; then ok "kubectl get dr columns: $header"; else bad "columns: $header"; fi
if kubectl -n "${NS_OF[crashloop]}" get events --field-selector involvedObject.kind=DiagnosticRun -o jsonpath='{.items[*].reason}' | grep -c Completed >/dev/null; then
  ok "Events: Started and Completed recorded on the run"
else
  bad "no Completed event on the run"
fi

# --- TargetNotFound and step limit -----------------------------------------------
ns="$(new_ns misc)"
kubectl apply -n "$ns" -f "$SCENARIOS/crashloop.yaml" >/dev/null
wait_until 60 scenario_ready "$ns" crashloop
cat <<EOF | kubectl apply -n "$ns" -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: missing}
spec: {question: "Why is ghost down?", target: {kind: Deployment, name: ghost}}
---
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: limited}
spec: {question: "Why is checkout crash-looping?", target: {kind: Deployment, name: checkout}, limits: {maxSteps: 1}}
EOF
wait_until 60 finished "$ns" missing
if [ "$(kubectl -n "$ns" get dr missing -o jsonpath='{.status.phase}/{.status.reason}')" = Failed/TargetNotFound ]; then
  ok "missing target: Failed/TargetNotFound ($(kubectl -n "$ns" get dr missing -o jsonpath='{.status.message}'))"
else
  bad "missing target: $(kubectl -n "$ns" get dr missing -o jsonpath='{.status.phase}/{.status.reason}')"
fi
wait_until 60 finished "$ns" limited
json="$(run_json "$ns" limited)"
if [ "$(echo "$json" | jq -r '.status.reason')" = StepLimitReached ] && echo "$json" | jq -r .status.answer | grep -c 'Partial answer' >/dev/null &&
   [ "$(echo "$json" | jq '[.status.steps[] | select(.node=="tool")] | length')" = 1 ] && echo "$json" | citations_ok; then
  ok "maxSteps 1: StepLimitReached with a partial, cited answer"
else
  bad "step limit: $(echo "$json" | jq -c '{r: .status.reason, a: .status.answer}')"
fi

# --- A slow tool: SIGKILL mid-run, resume; and a run timeout ---------------------------
# Container logs come from kwok (the simulated kubelet) through the API server.
# With kwok paused (SIGSTOP), a log read hangs until the tool's deadline: a
# real slow dependency, with no test switch in the operator.
KWOK_PID="$(cat "$OPSCOPILOT_CLUSTER_DIR/run/kwok.pid")"
resume_kwok() { kill -CONT "$KWOK_PID" 2>/dev/null; }
trap 'resume_kwok; cleanup' EXIT
ns="$(new_ns slow)"
kubectl apply -n "$ns" -f "$SCENARIOS/crashloop.yaml" >/dev/null
wait_until 60 scenario_ready "$ns" crashloop
kill -STOP "$KWOK_PID"
cat <<EOF | kubectl apply -n "$ns" -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: resumed}
spec: {question: "Why is checkout crash-looping?", target: {kind: Deployment, name: checkout}}
EOF
# The run is mid-investigation once it has persisted tool steps and waits on the log read.
mid_run() {
  kubectl -n "$ns" get dr resumed -o json |
    jq -e '.status | (([.steps[]? | select(.node=="tool")] | length) >= 2) and (((.plan // []) | map(.tool) | index("get_pod_logs")) != null) and .phase == "Running"'
}
if wait_until 30 mid_run; then
  steps_before="$(kubectl -n "$ns" get dr resumed -o json | jq -c '[.status.steps[] | {id, node, tool, args}]')"
  kill -9 "$OPERATOR_PID"; wait "$OPERATOR_PID" 2>/dev/null
  resume_kwok
  start_operator
  if kubectl -n "$ns" wait dr/resumed --for=condition=Succeeded --timeout=60s >/dev/null 2>&1; then
    json="$(run_json "$ns" resumed)"
    prefix_kept="$(echo "$json" | jq --argjson before "$steps_before" '[.status.steps[] | {id, node, tool, args}][0:($before|length)] == $before')"
    dupes="$(echo "$json" | jq '[.status.steps[] | select(.node=="tool") | [.tool, (.args|tostring)]] | group_by(.) | map(select(length > 1)) | length')"
    if [ "$prefix_kept" = true ] && [ "$dupes" = 0 ] && echo "$json" | jq -e '[.status.evidence[] | select(.tool=="get_pod_logs")] | length >= 1' >/dev/null; then
      ok "SIGKILL mid-run: resumed after $(echo "$steps_before" | jq length) persisted steps, no step repeated, logs read after restart"
    else
      bad "resume: prefix_kept=$prefix_kept duplicates=$dupes $(echo "$json" | jq -c '[.status.steps[] | [.node,.tool]]')"
    fi
  else
    bad "resumed run did not finish: $(kubectl -n "$ns" get dr resumed -o jsonpath='{.status.phase}/{.status.reason}')"
  fi
else
  resume_kwok
  bad "could not catch the run mid-investigation: $(kubectl -n "$ns" get dr resumed -o json | jq -c '.status | {phase, plan, steps: [.steps[]? | .tool]}')"
fi

# A run whose log read outlasts its 10 s budget stops with TimedOut and a partial answer.
kill -STOP "$KWOK_PID"
cat <<EOF | kubectl apply -n "$ns" -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: timed-out}
spec: {question: "Why is checkout crash-looping?", target: {kind: Deployment, name: checkout}, limits: {timeoutSeconds: 10}}
EOF
if wait_until 40 finished "$ns" timed-out; then
  resume_kwok
  json="$(run_json "$ns" timed-out)"
  if [ "$(echo "$json" | jq -r .status.reason)" = TimedOut ] && echo "$json" | jq -r .status.answer | grep -c 'Partial answer' >/dev/null && echo "$json" | citations_ok; then
    ok "timeoutSeconds 10 with a hung kubelet: TimedOut with a partial, cited answer"
  else
    bad "timeout: $(echo "$json" | jq -c '{r: .status.reason, m: .status.message}')"
  fi
else
  resume_kwok
  bad "timeout run never finished"
fi

# --- Megabytes of logs keep the status small -----------------------------------------
ns="$(new_ns biglogs)"
kubectl apply -n "$ns" -f "$SCENARIOS/crashloop.yaml" >/dev/null
wait_until 60 scenario_ready "$ns" crashloop
python3 - "$WORK/big.log" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(60000):
        f.write(f"2026-11-21T09:00:00.000000000Z stdout F request {i} handled in 12ms path=/api/v1/orders/{i} status=200 ok\n")
    f.write("2026-11-21T09:00:01.000000000Z stderr F fatal: DATABASE_URL is not set\n")
PY
cat <<EOF | kubectl apply -f - >/dev/null
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata: {name: e2e-big-$RUN_ID, labels: {opscopilot.io/e2e: "$RUN_ID"}}
spec:
  selector: {matchNamespaces: [$ns]}
  logs:
  - containers: [checkout]
    logsFile: $WORK/big.log
    previousLogsFile: $WORK/big.log
EOF
kubectl apply -n "$ns" -f "$SCENARIOS/crashloop.run.yaml" >/dev/null
if kubectl -n "$ns" wait dr/why-crashloop --for=condition=Succeeded --timeout=60s >/dev/null 2>&1; then
  size="$(kubectl -n "$ns" get dr why-crashloop -o json | wc -c)"
  json="$(run_json "$ns" why-crashloop)"
  if [ "$size" -lt 65536 ] && echo "$json" | jq -e '[.status.evidence[] | select(.tool=="get_pod_logs" and .truncated)] | length >= 1' >/dev/null &&
     echo "$json" | jq -r '.status.evidence[] | select(.tool=="get_pod_logs") | .excerpt' | grep -c 'truncated' >/dev/null; then
    ok "$(du -h "$WORK/big.log" | cut -f1) of logs: run object is $size bytes, log evidence marked truncated"
  else
    bad "big logs: object $size bytes; $(echo "$json" | jq -c '[.status.evidence[] | {tool, truncated}]')"
  fi
else
  bad "big logs run did not finish"
fi

# --- A spec change after completion starts a fresh run; TTL deletes finished runs -----
ns="$(new_ns lifecycle)"
kubectl apply -n "$ns" -f "$SCENARIOS/healthy.yaml" >/dev/null
wait_until 60 scenario_ready "$ns" healthy
cat <<EOF | kubectl apply -n "$ns" -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: rerun}
spec: {question: "Is the frontend healthy?", target: {kind: Deployment, name: frontend}}
---
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: short-lived}
spec: {question: "Is the frontend healthy?", target: {kind: Deployment, name: frontend}, ttlSecondsAfterFinished: 2}
EOF
kubectl -n "$ns" wait dr/rerun --for=condition=Succeeded --timeout=60s >/dev/null 2>&1
first_trace="$(kubectl -n "$ns" get dr rerun -o jsonpath='{.status.traceID}')"
kubectl -n "$ns" patch dr rerun --type merge -p '{"spec":{"question":"Is the frontend healthy now?"}}' >/dev/null
regenerated() { [ "$(kubectl -n "$ns" get dr rerun -o jsonpath='{.status.observedGeneration}/{.status.phase}')" = 2/Succeeded ]; }
if wait_until 60 regenerated && [ "$(kubectl -n "$ns" get dr rerun -o jsonpath='{.status.traceID}')" != "$first_trace" ] &&
   [ "$(kubectl -n "$ns" get dr rerun -o json | jq '[.status.steps[] | select(.node=="planner")] | length')" = 1 ]; then
  ok "spec change after completion: generation 2 ran as a fresh run (new trace, one planner step)"
else
  bad "rerun: $(kubectl -n "$ns" get dr rerun -o jsonpath='{.metadata.generation} {.status.observedGeneration} {.status.phase}')"
fi
gone() { ! kubectl -n "$ns" get dr short-lived >/dev/null 2>&1; }
if wait_until 60 gone; then ok "ttlSecondsAfterFinished 2: the finished run was deleted"; else bad "TTL: run still exists"; fi

# --- A gated step waits for a person: approved runs it, denied skips it ---------------
kubectl apply -f "$ROOT/config/admission/approvalrequest-decidedby-policy.yaml" >/dev/null 2>&1
me="$(kubectl auth whoami -o jsonpath='{.status.userInfo.username}')"
kubectl -n "$ns" create configmap app-config --from-literal=LOG_LEVEL=debug --from-literal=DB_PASSWORD=hunter2-e2e >/dev/null
for decision in Approved Denied; do
  run="gated-$(echo "$decision" | tr 'A-Z' 'a-z')"
  cat <<EOF | kubectl apply -n "$ns" -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: $run}
spec: {question: "What is in configmap/app-config?", target: {kind: Deployment, name: frontend}}
EOF
  awaiting() { [ "$(kubectl -n "$ns" get dr "$run" -o jsonpath='{.status.phase}/{.status.conditions[?(@.type=="AwaitingApproval")].status}')" = AwaitingApproval/True ]; }
  apr_exists() { kubectl -n "$ns" get apr -o jsonpath='{.items[*].spec.runRef.name}' | grep -cw "$run" >/dev/null; }
  if wait_until 60 awaiting && wait_until 30 apr_exists; then
    apr="$(kubectl -n "$ns" get apr -o json | jq -r --arg r "$run" '.items[] | select(.spec.runRef.name==$r) | .metadata.name')"
    kubectl -n "$ns" patch apr "$apr" --type merge -p "{\"spec\":{\"decision\":\"$decision\",\"decidedBy\":\"$me\"}}" >/dev/null
    if kubectl -n "$ns" wait "dr/$run" --for=condition=Succeeded --timeout=60s >/dev/null 2>&1; then
      json="$(run_json "$ns" "$run")"
      reads="$(echo "$json" | jq '[.status.steps[] | select(.node=="tool" and .tool=="read_configmap_data")] | length')"
      approval="$(echo "$json" | jq -r '.status.steps[] | select(.node=="approval") | .state')"
      apr_phase="$(kubectl -n "$ns" get apr "$apr" -o jsonpath='{.status.phase}')"
      want_reads=$([ "$decision" = Approved ] && echo 1 || echo 0)
      want_state=$([ "$decision" = Approved ] && echo Succeeded || echo Skipped)
      if [ "$reads" = "$want_reads" ] && [ "$approval" = "$want_state" ] && [ "$apr_phase" = "$decision" ] &&
         ! echo "$json" | grep -c 'hunter2-e2e' >/dev/null; then
        ok "gated read_configmap_data: ApprovalRequest $apr $decision by $me -> $reads read(s), approval step $approval, no secret value in status"
      else
        bad "approval $decision: reads=$reads approval=$approval apr=$apr_phase"
      fi
    else
      bad "approval $decision: run did not finish"
    fi
  else
    bad "approval $decision: never waited: $(kubectl -n "$ns" get dr "$run" -o json | jq -c '.status | {phase, steps: [.steps[]? | [.node, .tool, .state]]}')"
  fi
done

# --- 50 concurrent runs ---------------------------------------------------------------
ns="$(new_ns many)"
kubectl apply -n "$ns" -f "$SCENARIOS/crashloop.yaml" >/dev/null
wait_until 60 scenario_ready "$ns" crashloop
for i in $(seq 1 50); do
  cat <<EOF
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: many-$i}
spec: {question: "Why is checkout crash-looping? ($i)", target: {kind: Deployment, name: checkout}}
---
EOF
done >"$WORK/many.yaml"
kubectl apply -n "$ns" -f "$WORK/many.yaml" >/dev/null
all_done() { [ "$(kubectl -n "$ns" get dr -o jsonpath='{range .items[*]}{.status.phase}{"\n"}{end}' | grep -c Succeeded)" = 50 ]; }
if wait_until 120 all_done; then
  ok "50 concurrent runs all Succeeded"
else
  bad "50 runs: $(kubectl -n "$ns" get dr -o jsonpath='{range .items[*]}{.status.phase}{" "}{end}' | tr ' ' '\n' | sort | uniq -c | tr '\n' ' ')"
fi

if ! kill -0 "$OPERATOR_PID" 2>/dev/null; then bad "operator is still running at the end"; else ok "operator still running"; fi

# SIGTERM: the operator stops taking work and exits cleanly within its deadline.
kill -TERM "$OPERATOR_PID"
term_start=$SECONDS
stopped() { ! kill -0 "$OPERATOR_PID" 2>/dev/null; }
if wait_until 30 stopped; then
  wait "$OPERATOR_PID"; code=$?
  if [ "$code" = 0 ] && grep -q '"msg":"stopped"' "$WORK/operator.log"; then
    ok "SIGTERM: clean exit (code 0) in $((SECONDS - term_start))s"
  else
    bad "SIGTERM: exit code $code"
  fi
else
  bad "SIGTERM: still running after 30s"
fi
OPERATOR_PID=""
if grep -q '"level":"error"' "$WORK/operator.log"; then
  echo "operator errors:"; grep '"level":"error"' "$WORK/operator.log" | head -5
fi
if [ "$fail" -gt 0 ]; then echo "--- operator log (tail) ---"; tail -30 "$WORK/operator.log"; fi
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
