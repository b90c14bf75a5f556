#!/usr/bin/env bash
# The read-only web timeline (operator config web.address) in Debian's
# headless Chromium, driven over the DevTools protocol by
# tests/e2e/browser/timeline_check.py: the list renders and updates live,
# a real run renders as its timeline, an approval made with kubectl shows on
# the open page, and the page logs no console error. Also, with curl: the
# server answers GET only, and sends its Content-Security-Policy.
#
# Prints one line per check and "N passed, M failed" at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
NS="e2e-web-$RUN_ID"
OPERATOR_PID=""
trap 'e2e_cleanup "$NS"' EXIT
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

CHROMIUM="$(command -v chromium || command -v chromium-browser || true)"
[ -n "$CHROMIUM" ] || { bad "chromium is not installed (hack/install-deps.sh installs it)"; finish; }
install_crds_and_policies || { echo "FAIL the CRDs and admission policies are not ready"; exit 1; }
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null
kubectl apply -f "$ROOT/config/admission/approvalrequest-decidedby-policy.yaml" >/dev/null
reader_namespace "$NS"
kubectl -n "$NS" apply -f "$SCENARIOS/crashloop.yaml" >/dev/null
kubectl -n "$NS" create configmap app-config --from-literal=LOG_LEVEL=debug >/dev/null
wait_until 60 scenario_ready "$NS" crashloop || { bad "the crashloop scenario never became ready"; finish; }

WEB_PORT="$(free_port)"
{ echo "web: {address: \"127.0.0.1:$WEB_PORT\"}"; cat "$ROOT/config/operator.yaml"; } >"$WORK/operator.yaml"
"$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$WORK/operator.yaml" --health-address 127.0.0.1:0 \
  >"$WORK/operator.log" 2>&1 &
OPERATOR_PID=$!
URL="http://127.0.0.1:$WEB_PORT"
wait_until 30 curl -sf "$URL/" -o /dev/null || { bad "the web timeline does not answer on $URL: $(tail -3 "$WORK/operator.log")"; finish; }

create() {  # create NAME QUESTION
  kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: $1}
spec: {question: "$2", target: {kind: Deployment, name: checkout}}
YAML
}
phase_is() { [ "$(kubectl -n "$NS" get dr "$1" -o jsonpath='{.status.phase}')" = "$2" ]; }
create why-crashloop "Why is checkout crash-looping?"
cat <<YAML | kubectl -n "$NS" apply -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: gated}
spec: {question: "What is in configmap/app-config?"}
YAML
if ! wait_until 60 phase_is why-crashloop Succeeded || ! wait_until 60 phase_is gated AwaitingApproval; then
  bad "the runs did not get where the browser test starts: $(kubectl -n "$NS" get dr)"; finish
fi

# --- the server: read-only, with a Content-Security-Policy ---------------------
code="$(curl -s -o /dev/null -w '%{http_code}' -X POST "$URL/api/runs")"
code_del="$(curl -s -o /dev/null -w '%{http_code}' -X DELETE "$URL/api/runs/$NS/why-crashloop")"
if [ "$code" = 405 ] && [ "$code_del" = 405 ] && curl -sI "$URL/" | grep -qi "^content-security-policy: default-src 'none'; script-src 'self'"; then
  ok "the server answers GET only (POST, DELETE: 405) and sends a Content-Security-Policy with no inline script"
else
  bad "POST $code, DELETE $code_del, headers: $(curl -sI "$URL/" | tr '\r\n' '  ')"
fi
if curl -sf "$URL/api/runs/$NS/why-crashloop" | jq -e --arg ns "$NS" '.summary.namespace == $ns and (.status.steps | length) > 3' >/dev/null &&
   [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/api/runs/$NS/no-such-run")" = 404 ]; then
  ok "GET /api/runs/NS/NAME gives the run's status (404 for none)"
else
  bad "the run API: $(curl -s "$URL/api/runs/$NS/why-crashloop" | head -c 300)"
fi

# --- the page, in Chromium ---------------------------------------------------------
cat >"$WORK/new-run.yaml" <<YAML
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {generateName: live-}
spec: {question: "Is checkout healthy now?", target: {kind: Deployment, name: checkout}}
YAML
python3 "$ROOT/tests/e2e/browser/timeline_check.py" --chromium "$CHROMIUM" --url "$URL" --namespace "$NS" \
  --finished why-crashloop --gated gated --new-run-manifest "$WORK/new-run.yaml" >"$WORK/browser.out" 2>&1
while IFS= read -r line; do
  case "$line" in
    "ok "*) ok "${line#ok }" ;;
    "bad "*) bad "${line#bad }" ;;
    *) echo "    $line" ;;
  esac
done <"$WORK/browser.out"
grep -q "^ok no console error" "$WORK/browser.out" || grep -q "^bad the page logged" "$WORK/browser.out" ||
  bad "the browser check did not finish"
finish
