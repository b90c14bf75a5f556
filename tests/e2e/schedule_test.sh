#!/usr/bin/env bash
# DiagnosticSchedules on the real control plane (kwok workloads): alice, who
# may read pods and Events but not pods/log, schedules a run every minute.
# Checks:
#   - admission: the schedule's requester is alice (stamped or checked like
#     a run's), naming someone else is refused, and a schedule that is not
#     five fields or a macro is refused;
#   - a run is created at the scheduled minute, named for it, controlled by
#     the schedule and labelled with it, with the operator as its creator;
#   - the run reads with alice's rights: its evidence says alice may not
#     read pods/log;
#   - the schedule's status and Events say what it did; at the next minute a
#     second run comes, and the history limit (1 succeeded) deletes the first;
#   - a schedule the controller cannot parse says why in its status and a
#     Warning Event;
#   - on the real node, BackOff Events about pods labelled app=payments
#     start one run per pod (the pod is its target), repeated Events start
#     no second one, the namespace's hourly cap (1 here) holds the second
#     pod back with a RunRateLimited Event, and a decoy pod starts none;
#   - deleting the schedule deletes its runs (the garbage collector).
#
# Prints one line per check and "N passed, M failed" at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
NS="e2e-schedule-$RUN_ID"
OPERATOR_PID=""
trap 'e2e_cleanup "$NS"' EXIT
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

install_crds_and_policies || { echo "FAIL the CRDs and admission policies are not ready"; exit 1; }
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null
reader_namespace "$NS"
kubectl -n "$NS" apply -f "$SCENARIOS/crashloop.yaml" >/dev/null
kubectl apply -n "$NS" -f - >/dev/null <<'YAML'
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: schedule-and-read}
rules:
- apiGroups: [opscopilot.io]
  resources: [diagnosticschedules, diagnosticruns]
  verbs: [create, get, list, watch, delete]
- apiGroups: ["", apps]
  resources: [pods, events, services, endpoints, configmaps, deployments, replicasets]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: schedule-and-read}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: schedule-and-read}
subjects:
- {kind: User, apiGroup: rbac.authorization.k8s.io, name: alice}
YAML
alice_can() { [ "$(kubectl --as=alice auth can-i create diagnosticschedules.opscopilot.io -n "$NS" 2>/dev/null)" = yes ]; }
wait_until 30 alice_can || bad "alice's RBAC takes effect"
wait_until 60 scenario_ready "$NS" crashloop || { bad "the crashloop scenario never became ready"; finish; }

sed 's/^  maxRunsPerNamespacePerHour: .*/  maxRunsPerNamespacePerHour: 1/' "$ROOT/config/operator.yaml" >"$WORK/operator.yaml"
grep -q "^  maxRunsPerNamespacePerHour: 1$" "$WORK/operator.yaml" || { bad "could not set eventTriggers.maxRunsPerNamespacePerHour"; finish; }
"$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$WORK/operator.yaml" --health-address 127.0.0.1:0 \
  >"$WORK/operator.log" 2>&1 &
OPERATOR_PID=$!
ADMIN="$(kubectl auth whoami -o jsonpath='{.status.userInfo.username}')"

schedule() {  # schedule NAME CRON [REQUESTER]: the manifest
  cat <<YAML
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticSchedule
metadata: {name: $1}
spec:
  schedule: "$2"
  concurrencyPolicy: Forbid
  successfulRunsHistoryLimit: 1
  ${3:+requester: $3}
  runTemplate:
    metadata: {labels: {team: shop}}
    spec: {question: "Is checkout healthy?", target: {kind: Deployment, name: checkout}}
YAML
}

# --- admission -------------------------------------------------------------------
out="$(schedule forged '* * * * *' '{username: bob}' | kubectl --as=alice -n "$NS" create -f - 2>&1)"
if [ $? -ne 0 ] && grep -q "spec.requester.username must be your own user name (alice)" <<<"$out"; then
  ok "a schedule naming someone else as requester is refused"
else
  bad "forged schedule requester: $out"
fi
out="$(schedule wordy 'every day at noon' | kubectl --as=alice -n "$NS" create -f - 2>&1)"
if [ $? -ne 0 ] && grep -q "spec.schedule" <<<"$out"; then
  ok "a schedule that is not five fields or a macro is refused at admission"
else
  bad "wordy schedule: $out"
fi
requester_arg=""
stamped() { schedule probe '* * * * *' | kubectl --as=alice -n "$NS" create --dry-run=server -f - >/dev/null 2>&1; }
stamped || requester_arg='{username: alice}'  # no MutatingAdmissionPolicy: alice names herself
if out="$(schedule checkout-minutely '* * * * *' "$requester_arg" | kubectl --as=alice -n "$NS" create -f - 2>&1)" &&
   [ "$(kubectl -n "$NS" get dsched checkout-minutely -o jsonpath='{.spec.requester.username}')" = alice ]; then
  ok "alice created a schedule; its requester is alice"
else
  bad "alice's schedule: $out"; finish
fi

# --- the first run ---------------------------------------------------------------
runs_of() { kubectl -n "$NS" get dr -l opscopilot.io/schedule=checkout-minutely -o jsonpath='{range .items[*]}{.metadata.name}{"\n"}{end}'; }
has_runs() { [ "$(runs_of | grep -c .)" -ge "$1" ]; }
if wait_until 80 has_runs 1; then
  FIRST="$(runs_of | head -1)"
  j="$(kubectl -n "$NS" get dr "$FIRST" -o json)"
  if [[ "$FIRST" =~ ^checkout-minutely-[0-9]+$ ]] &&
     jq -e '.metadata.ownerReferences[0] | .kind == "DiagnosticSchedule" and .name == "checkout-minutely" and .controller' <<<"$j" >/dev/null &&
     jq -e --arg admin "$ADMIN" '.spec.requester.username == $admin and .metadata.labels.team == "shop"' <<<"$j" >/dev/null; then
    ok "run $FIRST was created for its minute, controlled by the schedule, created by the operator ($ADMIN)"
  else
    bad "the first run: $(jq -c '{name: .metadata.name, owners: .metadata.ownerReferences, requester: .spec.requester, labels: .metadata.labels}' <<<"$j")"
  fi
else
  bad "no run within 80 s: $(kubectl -n "$NS" get dsched checkout-minutely -o jsonpath='{.status}')"; finish
fi
done_ok() { [ "$(kubectl -n "$NS" get dr "$1" -o jsonpath='{.status.phase}')" = Succeeded ]; }
if wait_until 60 done_ok "$FIRST"; then
  j="$(kubectl -n "$NS" get dr "$FIRST" -o json)"
  denial="$(jq -r '[.status.evidence[]?.excerpt] | map(select(test("alice, who asked for this run, may not get pods/log"))) | first // empty' <<<"$j")"
  if [ -n "$denial" ]; then
    ok "the scheduled run read with alice's rights: ${denial:0:140}"
  else
    bad "the scheduled run did not read as alice: $(jq -c '[.status.evidence[]? | {ref, excerpt: .excerpt[0:80]}]' <<<"$j")"
  fi
else
  bad "the first run did not succeed: $(kubectl -n "$NS" get dr "$FIRST" -o jsonpath='{.status.phase} {.status.reason} {.status.message}')"
fi
status_done() { [ "$(kubectl -n "$NS" get dsched checkout-minutely -o jsonpath='{.status.lastRun}/{.status.activeCount}')" = "$FIRST/0" ]; }
created_event() { kubectl -n "$NS" get events --field-selector involvedObject.name=checkout-minutely,reason=RunCreated -o name | grep -q .; }
if wait_until 30 status_done && wait_until 30 created_event &&
   [ -n "$(kubectl -n "$NS" get dsched checkout-minutely -o jsonpath='{.status.lastScheduleTime}')" ] &&
   [ -n "$(kubectl -n "$NS" get dsched checkout-minutely -o jsonpath='{.status.lastSuccessfulTime}')" ]; then
  ok "the schedule's status and a RunCreated Event say what it did: $(kubectl -n "$NS" get dsched checkout-minutely --no-headers | tr -s ' ')"
else
  bad "schedule status: $(kubectl -n "$NS" get dsched checkout-minutely -o jsonpath='{.status}')"
fi

# --- the next minute: a second run, and the first goes (history limit 1) ----------
first_gone() { ! kubectl -n "$NS" get dr "$FIRST" >/dev/null 2>&1; }
second() { runs_of | grep -v "^$FIRST\$" | grep -q .; }
if wait_until 80 second && wait_until 80 first_gone; then
  ok "at the next minute run $(runs_of | head -1) came, and $FIRST was deleted (successfulRunsHistoryLimit 1)"
else
  bad "second minute: runs $(runs_of | tr '\n' ' '); phases $(kubectl -n "$NS" get dr -l opscopilot.io/schedule=checkout-minutely -o jsonpath='{range .items[*]}{.metadata.name}={.status.phase} {end}'); schedule status $(kubectl -n "$NS" get dsched checkout-minutely -o jsonpath='{.status}'); its events: $(kubectl -n "$NS" get events --field-selector involvedObject.name=checkout-minutely -o jsonpath='{range .items[*]}{.lastTimestamp} {.reason}: {.message}{"\n"}{end}')"
fi

# --- a schedule the controller cannot use -----------------------------------------
schedule bad-minute '61 * * * *' "$requester_arg" | kubectl --as=alice -n "$NS" create -f - >/dev/null 2>&1
invalid() { kubectl -n "$NS" get dsched bad-minute -o jsonpath='{.status.message}' | grep -q "field 1 (minute): 61 is out of range 0-59"; }
warned() { kubectl -n "$NS" get events --field-selector involvedObject.name=bad-minute,reason=InvalidSchedule,type=Warning -o name | grep -q .; }
if wait_until 30 invalid && wait_until 30 warned; then
  ok "an unusable schedule says why: $(kubectl -n "$NS" get dsched bad-minute -o jsonpath='{.status.message}')"
else
  bad "bad-minute: $(kubectl -n "$NS" get dsched bad-minute -o jsonpath='{.status}')"
fi

# --- Warning Events start runs (the real node's kubelet reports BackOff) ----------
if kubectl get node opscopilot-node >/dev/null 2>&1; then
  cat <<YAML | kubectl --as=alice -n "$NS" create -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticSchedule
metadata: {name: on-backoff}
spec:
  ${requester_arg:+requester: $requester_arg}
  onEvents:
    reasons: [BackOff, Failed]
    kinds: [Pod]
    selector: {matchLabels: {app: payments}}
    cooldownSeconds: 3600
  runTemplate:
    spec: {question: "Why does this pod keep failing?"}
YAML
  real_node_deployment "$NS" payments 2 app "echo 'payments: cannot reach the ledger'; exit 1"
  real_node_deployment "$NS" decoy 1 app "echo 'decoy: cannot reach the ledger'; exit 1"
  triggered() { kubectl -n "$NS" get dr -l opscopilot.io/schedule=on-backoff -o name | grep -q .; }
  backoffs() {  # BackOff Warning Events about pods of app $1
    local pods
    pods="$(kubectl -n "$NS" get pods -l app="$1" -o jsonpath='{.items[*].metadata.name}')"
    for p in $pods; do
      kubectl -n "$NS" get events --field-selector "involvedObject.name=$p,reason=BackOff,type=Warning" -o name
    done | grep -c .
  }
  both_back_off() { [ "$(backoffs payments)" -ge 2 ] && [ "$(backoffs decoy)" -ge 1 ]; }
  if wait_until 150 triggered && wait_until 120 both_back_off; then
    RUN="$(kubectl -n "$NS" get dr -l opscopilot.io/schedule=on-backoff -o jsonpath='{.items[0].metadata.name}')"
    j="$(kubectl -n "$NS" get dr "$RUN" -o json)"
    if jq -e '.spec.target.kind == "Pod" and (.spec.target.name | startswith("payments-")) and
              (.metadata.annotations["opscopilot.io/trigger-object"] | startswith("Pod/payments-")) and
              (.spec.question | test("Started by the Warning Event (BackOff|Failed) on Pod/payments-"))' <<<"$j" >/dev/null; then
      ok "a Warning Event about a matching pod started run $RUN on it: $(jq -r '.metadata.annotations["opscopilot.io/trigger-event"]' <<<"$j" | cut -c1-120)"
    else
      bad "the triggered run: $(jq -c '{target: .spec.target, annotations: .metadata.annotations, question: .spec.question}' <<<"$j")"
    fi
    limited() {
      kubectl -n "$NS" get events --field-selector involvedObject.name=on-backoff,reason=RunRateLimited,type=Warning -o name | grep -q .
    }
    # Both payments pods back off again and again; the decoy too.
    if wait_until 60 limited && [ "$(kubectl -n "$NS" get dr -l opscopilot.io/schedule=on-backoff -o name | grep -c .)" = 1 ]; then
      ok "repeated Events about the same pod started no second run, the second pod hit the namespace's hourly cap (RunRateLimited), and the decoy (no app=payments) none"
    else
      bad "runs of on-backoff: $(kubectl -n "$NS" get dr -l opscopilot.io/schedule=on-backoff -o jsonpath='{.items[*].spec.target.name}'); events: $(kubectl -n "$NS" get events --field-selector involvedObject.name=on-backoff -o jsonpath='{range .items[*]}{.reason}: {.message}{"\n"}{end}')"
    fi
    trig_done() { [ "$(kubectl -n "$NS" get dr "$RUN" -o jsonpath='{.status.phase}')" = Succeeded ]; }
    if wait_until 90 trig_done && [ -n "$(kubectl -n "$NS" get dsched on-backoff -o jsonpath='{.status.lastTriggeredTime}')" ]; then
      ok "the triggered run succeeded: $(kubectl -n "$NS" get dr "$RUN" -o jsonpath='{.status.message}'); the schedule says: $(kubectl -n "$NS" get dsched on-backoff -o jsonpath='{.status.lastTrigger}' | cut -c1-100)"
    else
      bad "triggered run: $(kubectl -n "$NS" get dr "$RUN" -o jsonpath='{.status.phase} {.status.reason} {.status.message}'); schedule status: $(kubectl -n "$NS" get dsched on-backoff -o jsonpath='{.status}')"
    fi
  else
    bad "no run started by a BackOff Event: events $(kubectl -n "$NS" get events --field-selector type=Warning -o jsonpath='{range .items[*]}{.reason} {.involvedObject.name}{"\n"}{end}' | sort | uniq -c | head)"
  fi
else
  bad "the real node opscopilot-node is not part of the cluster (OPSCOPILOT_REAL_NODE=0?)"
fi

# --- deleting the schedule deletes its runs ----------------------------------------
kubectl --as=alice -n "$NS" delete dsched checkout-minutely >/dev/null
no_runs() { [ "$(runs_of | grep -c .)" = 0 ]; }
if wait_until 60 no_runs; then ok "deleting the schedule deleted its runs"; else bad "runs left: $(runs_of | tr '\n' ' ')"; fi

finish
