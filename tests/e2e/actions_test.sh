#!/usr/bin/env bash
# Actions behind approval (spec.actions: notify, create_ticket), on the real
# control plane with a local receiver that answers as a Slack webhook, the
# GitHub issues API and a generic webhook (tests/e2e/receiver). Checks:
#   - a run proposes its actions once the answer is known, each as an
#     ApprovalRequest carrying exactly what will be sent; nothing is sent
#     before a person approves;
#   - approved, each is sent once, with its Idempotency-Key, the URL and
#     token from Secrets (never in the run, its status or the log);
#   - a denied action is not sent, and the answer says so;
#   - an operator killed while an action is out resumes the run without
#     sending it again (the step says its outcome is unknown);
#   - a run naming a destination the operator does not offer fails with
#     InvalidSpec, naming the ones offered;
#   - Argo CD's health check (config/argocd, run in gopher-lua as Argo CD
#     runs it) reads these real runs: Suspended while one waits for a person,
#     Healthy once it completed, Degraded when it failed.
#
# Prints one line per check and "N passed, M failed" at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
NS="e2e-actions-$RUN_ID"
CFG_NS="e2e-actions-cfg-$RUN_ID"
OPERATOR_PID=""
RECEIVER_PID=""
trap 'kill "$RECEIVER_PID" 2>/dev/null; e2e_cleanup "$NS" "$CFG_NS"' EXIT
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

install_crds_and_policies || { echo "FAIL the CRDs and admission policies are not ready"; exit 1; }
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null
reader_namespace "$NS"
kubectl -n "$NS" apply -f "$SCENARIOS/crashloop.yaml" >/dev/null
wait_until 60 scenario_ready "$NS" crashloop || { bad "the crashloop scenario never became ready"; finish; }

# The receiver, and the Secrets holding the Slack URL (its path is the
# credential) and the GitHub token.
TOKEN="ghp_e2e$(date +%s%N | sha256sum | cut -c1-30)"
HOOK_SECRET="T0E2E/B0E2E/$(date +%s%N | sha256sum | cut -c1-24)"
python3 "$ROOT/tests/e2e/receiver/action_receiver.py" --port-file "$WORK/receiver.port" --log "$WORK/received.jsonl" \
  --token "$TOKEN" >"$WORK/receiver.log" 2>&1 &
RECEIVER_PID=$!
wait_until 20 test -s "$WORK/receiver.port" || { bad "the receiver did not start"; finish; }
touch "$WORK/received.jsonl"
RECV="http://127.0.0.1:$(cat "$WORK/receiver.port")"
kubectl create ns "$CFG_NS" >/dev/null
kubectl -n "$CFG_NS" create secret generic slack-webhook --from-literal=url="$RECV/slack/services/$HOOK_SECRET" >/dev/null
kubectl -n "$CFG_NS" create secret generic github-token --from-literal=token="$TOKEN" >/dev/null

cp "$ROOT/config/operator.yaml" "$WORK/operator.yaml"
cat >>"$WORK/operator.yaml" <<YAML
actions:
  destinations:
  - {name: oncall, action: notify, type: slack, urlSecret: {namespace: $CFG_NS, name: slack-webhook}}
  - {name: shop-issues, action: ticket, type: github, url: "$RECV/github", repository: shop/checkout,
     tokenSecret: {namespace: $CFG_NS, name: github-token}, namespaces: [$NS]}
  - {name: slow, action: notify, type: webhook, url: "$RECV/hold"}
  - {name: elsewhere, action: notify, type: webhook, url: "$RECV/hook", namespaces: [payments]}
YAML
start_operator() {
  "$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$WORK/operator.yaml" --health-address 127.0.0.1:0 \
    >>"$WORK/operator.log" 2>&1 &
  OPERATOR_PID=$!
}
start_operator
ARGOCD_HEALTH="$(bash "$ROOT/hack/lib/go-tool-build.sh" argocd-health)" || { bad "hack/tools/argocd-health did not build"; finish; }
argocd_health() {  # argocd_health RUN: "status<TAB>message" from the health check Argo CD would run
  run_json "$1" | "$ARGOCD_HEALTH" --argocd-cm "$ROOT/config/argocd/argocd-cm-patch.yaml" | cut -f2-
}

ME="$(kubectl auth whoami -o jsonpath='{.status.userInfo.username}')"
create() {  # create NAME ACTIONS_JSON
  kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: $1}
spec: {question: "Why is checkout crash-looping?", target: {kind: Deployment, name: checkout}, actions: $2}
YAML
}
run_json() { kubectl -n "$NS" get dr "$1" -o json; }
# The ApprovalRequest the run waits for now (named in its AwaitingApproval condition).
pending_apr() {
  run_json "$1" | jq -r '.status.conditions[]? | select(.type=="AwaitingApproval" and .status=="True") | .message' |
    sed -n 's/.*waits for ApprovalRequest \([^ ]*\) (uid.*/\1/p'
}
waiting_on() {  # waiting_on RUN TOOL: the run waits for approval of a TOOL step
  local apr
  apr="$(pending_apr "$1")"
  [ -n "$apr" ] && [ "$(kubectl -n "$NS" get apr "$apr" -o jsonpath='{.spec.action.tool}')" = "$2" ]
}
decide() {  # decide RUN DECISION
  kubectl -n "$NS" patch apr "$(pending_apr "$1")" --type merge \
    -p "{\"spec\":{\"decision\":\"$2\",\"decidedBy\":\"$ME\"}}" >/dev/null
}
received() { grep -c "\"path\": \"$1" "$WORK/received.jsonl"; }
finished() { [ "$(kubectl -n "$NS" get dr "$1" -o jsonpath='{.status.phase}')" = "$2" ]; }

# --- approve the notification, then the ticket --------------------------------
create tell '[{type: Notify, destination: oncall}, {type: CreateTicket, destination: shop-issues}]'
if wait_until 60 waiting_on tell notify; then
  APR="$(pending_apr tell)"
  msg="$(kubectl -n "$NS" get apr "$APR" -o jsonpath='{.spec.action.args.message}')"
  if grep -q "problem.* found in Deployment/checkout" <<<"$msg" && grep -q "kubectl describe diagnosticrun tell -n $NS" <<<"$msg"; then
    ok "the run waits on ApprovalRequest $APR, which shows the message: $(head -2 <<<"$msg" | tr '\n' ' ' | cut -c1-140)"
  else
    bad "the ApprovalRequest's message: $msg"
  fi
else
  bad "no notify ApprovalRequest: $(run_json tell | jq -c '{phase: .status.phase, reason: .status.reason, steps: [.status.steps[]? | .summary][-3:]}')"
  finish
fi
health="$(argocd_health tell)"
if [ "${health%%$'\t'*}" = Suspended ]; then ok "Argo CD's health check shows the waiting run Suspended: ${health#*$'\t'}"; else bad "Argo CD health of the waiting run: $health"; fi
if [ "$(received /)" = 0 ]; then ok "nothing was sent before a person approved"; else bad "sent before approval: $(cat "$WORK/received.jsonl")"; fi

decide tell Approved
if wait_until 60 waiting_on tell create_ticket; then
  line="$(grep '"path": "/slack/' "$WORK/received.jsonl")"
  if [ "$(received /slack/)" = 1 ] && jq -e --arg m "$msg" '.body | fromjson | .text == $m' <<<"$line" >/dev/null &&
     jq -e '.headers["Idempotency-Key"] | test("-1-[0-9]+$")' <<<"$line" >/dev/null; then
    ok "approved, the notification arrived once, exactly as approved, with its Idempotency-Key ($(jq -r '.headers["Idempotency-Key"]' <<<"$line"))"
  else
    bad "the Slack webhook received: $(cat "$WORK/received.jsonl")"
  fi
else
  bad "no create_ticket ApprovalRequest after the notification: $(run_json tell | jq -c '[.status.steps[]? | .summary][-3:]')"
  finish
fi
decide tell Approved
if wait_until 60 finished tell Succeeded; then
  line="$(grep '"path": "/github/' "$WORK/received.jsonl")"
  answer="$(run_json tell | jq -r .status.answer)"
  if [ "$(received /github/repos/shop/checkout/issues)" = 1 ] &&
     jq -e '.body | fromjson | (.title | test("^Deployment/checkout: ")) and (.body | test("idempotency-key"))' <<<"$line" >/dev/null &&
     grep -q "created ticket #1 in shop/checkout" <<<"$answer" && ! grep -q "read-only tool calls (.*notify" <<<"$answer"; then
    ok "the ticket was filed once through the GitHub API with the token, and the answer says so: $(grep 'create_ticket' <<<"$answer" | cut -c1-160)"
  else
    bad "ticket: received [$line] answer [$answer]"
  fi
else
  bad "the run did not finish: $(run_json tell | jq -c '{phase: .status.phase, reason: .status.reason, message: .status.message}')"
fi
if [ "$(run_json tell | jq -r '.status.phase + "/" + .status.reason')" = Succeeded/Completed ] &&
   [ "$(run_json tell | jq '[.status.steps[] | select(.node == "approval")] | length')" = 2 ]; then
  ok "the run Succeeded (Completed) with both approvals on record"
else
  bad "the run ended $(run_json tell | jq -r '.status.phase + "/" + .status.reason + ": " + .status.message')"
fi

# --- deny ---------------------------------------------------------------------
create quiet '[{type: Notify, destination: oncall}]'
if wait_until 60 waiting_on quiet notify; then
  before="$(received /slack/)"
  decide quiet Denied
  if wait_until 60 finished quiet Succeeded && [ "$(received /slack/)" = "$before" ] &&
     run_json quiet | jq -e '.status.answer | test("notify to oncall: denied by ")' >/dev/null; then
    ok "a denied notification is not sent, and the answer says who denied it"
  else
    bad "denied: received $(received /slack/) (was $before); answer $(run_json quiet | jq -r .status.answer | tail -3)"
  fi
else
  bad "the second run never asked for approval"
fi

# --- the operator dies while an action is out: never sent twice ---------------
create held '[{type: Notify, destination: slow}]'
if wait_until 60 waiting_on held notify; then
  decide held Approved
  held_arrived() { [ "$(received /hold)" = 1 ]; }
  if wait_until 30 held_arrived; then
    kill -9 "$OPERATOR_PID"
    wait "$OPERATOR_PID" 2>/dev/null
    start_operator
    if wait_until 90 finished held Succeeded; then
      step="$(run_json held | jq -c '[.status.steps[] | select(.node == "tool" and .tool == "notify")] | last | {state, reason, summary}')"
      if [ "$(received /hold)" = 1 ] && jq -e '.state == "Failed" and .reason == "OutcomeUnknown"' <<<"$step" >/dev/null; then
        ok "killed while sending, the resumed run did not send again; the step says: $(jq -r .summary <<<"$step" | cut -c1-120)"
      else
        bad "after the kill: received $(received /hold) times; step $step"
      fi
    else
      bad "the resumed run did not finish: $(run_json held | jq -c '{phase: .status.phase, steps: [.status.steps[]? | .summary][-2:]}')"
    fi
  else
    bad "the held notification never reached the receiver"
  fi
else
  bad "the third run never asked for approval"
fi

# --- a destination the operator does not offer this namespace -----------------
create nowhere '[{type: Notify, destination: elsewhere}]'
if wait_until 60 finished nowhere Failed &&
   run_json nowhere | jq -e '.status.reason == "InvalidSpec" and (.status.message | test("offered: oncall, slow"))' >/dev/null; then
  ok "a destination not offered to the namespace: InvalidSpec: $(run_json nowhere | jq -r .status.message | cut -c1-160)"
else
  bad "nowhere: $(run_json nowhere | jq -c '{phase: .status.phase, reason: .status.reason, message: .status.message}')"
fi

# --- Argo CD's health of the finished runs --------------------------------------
tell_health="$(argocd_health tell)" nowhere_health="$(argocd_health nowhere)"
if [ "${tell_health%%$'\t'*}" = Healthy ] && [ "$nowhere_health" = "Degraded"$'\t'"InvalidSpec: $(run_json nowhere | jq -r .status.message)" ]; then
  ok "Argo CD's health check: the completed run Healthy, the refused one Degraded (${nowhere_health:0:60}...)"
else
  bad "Argo CD health: tell '$tell_health', nowhere '$nowhere_health'"
fi

# --- credentials stay in their Secrets ------------------------------------------
leaks=""
for run in tell quiet held nowhere; do run_json "$run" >>"$WORK/runs.json"; done
kubectl -n "$NS" get apr -o json >>"$WORK/runs.json"
kubectl -n "$NS" get events -o json >>"$WORK/runs.json"
for f in "$WORK/runs.json" "$WORK/operator.log"; do
  grep -qF "$TOKEN" "$f" && leaks+=" token in $(basename "$f")"
  grep -qF "$HOOK_SECRET" "$f" && leaks+=" webhook path in $(basename "$f")"
done
if [ -z "$leaks" ]; then ok "neither the token nor the webhook URL's secret path appears in runs, requests, Events or the log"; else bad "leaked:$leaks"; fi

finish
