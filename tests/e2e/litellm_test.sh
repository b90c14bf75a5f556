#!/usr/bin/env bash
# Streaming against a third-party OpenAI-compatible server: LiteLLM's proxy
# (from PyPI, hack/lib/litellm-install.sh) serving a mock model behind a
# master key. A profile with `stream: true` investigates the crashloop
# scenario through it; a TCP tap between the operator and LiteLLM records
# the wire. Checks:
#   - the run succeeds on the model (reason Completed, model calls made) and
#     its answer is the model's;
#   - every chat request asked to stream (`"stream":true`, with
#     `stream_options.include_usage`) and sent no temperature (the profile
#     sets none); LiteLLM answered with server-sent events ending [DONE].
#
# Prints one line per check and "N passed, M failed" at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
NS="e2e-litellm-$RUN_ID"
OPERATOR_PID=""
LITELLM_PID=""
TAP_PID=""
trap 'kill $LITELLM_PID $TAP_PID 2>/dev/null; e2e_cleanup "$NS"' EXIT
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

LITELLM="$(bash "$ROOT/hack/lib/litellm-install.sh")" || { bad "LiteLLM could not be installed"; finish; }
install_crds_and_policies || { echo "FAIL the CRDs and admission policies are not ready"; exit 1; }
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null
reader_namespace "$NS"
kubectl -n "$NS" apply -f "$SCENARIOS/crashloop.yaml" >/dev/null
wait_until 60 scenario_ready "$NS" crashloop || { bad "the crashloop scenario never became ready"; finish; }

# LiteLLM's proxy, a mock model behind a master key.
KEY="sk-e2e-$RUN_ID"
ANSWER="Container checkout exits with code 1 because DATABASE_URL is not set [E1]."
LPORT="$(free_port)"
cat >"$WORK/litellm.yaml" <<YAML
model_list:
- model_name: mock-gpt
  litellm_params:
    model: openai/mock-gpt
    api_key: sk-not-used
    mock_response: "$ANSWER"
general_settings:
  master_key: $KEY
YAML
"$LITELLM" --config "$WORK/litellm.yaml" --host 127.0.0.1 --port "$LPORT" >"$WORK/litellm.log" 2>&1 &
LITELLM_PID=$!
litellm_up() {
  python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$LPORT/health/liveliness', timeout=2)" 2>/dev/null
}
if wait_until 180 litellm_up; then
  ok "LiteLLM $("${LITELLM%/litellm}/python" -c 'import importlib.metadata as m; print(m.version("litellm"))') serves on :$LPORT"
else
  bad "LiteLLM did not start: $(tail -5 "$WORK/litellm.log")"; finish
fi
python3 "$ROOT/tests/e2e/receiver/tap_proxy.py" --port-file "$WORK/tap.port" --upstream "127.0.0.1:$LPORT" \
  --log-dir "$WORK/wire" >/dev/null 2>&1 &
TAP_PID=$!
wait_until 20 test -s "$WORK/tap.port" || { bad "the tap did not start"; finish; }

sed "/^models:/a\\  litellm: {provider: openai, baseURL: \"http://127.0.0.1:$(cat "$WORK/tap.port")/v1\", model: mock-gpt, apiKeyEnv: LITELLM_KEY, stream: true, timeoutSeconds: 60}" \
  "$ROOT/config/operator.yaml" >"$WORK/operator.yaml"
LITELLM_KEY="$KEY" "$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$WORK/operator.yaml" --health-address 127.0.0.1:0 \
  >"$WORK/operator.log" 2>&1 &
OPERATOR_PID=$!

kubectl -n "$NS" apply -f - >/dev/null <<YAML
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: via-litellm}
spec: {question: "Why is checkout crash-looping?", target: {kind: Deployment, name: checkout}, model: litellm}
YAML
done_run() { [ -n "$(kubectl -n "$NS" get dr via-litellm -o jsonpath='{.status.completionTime}')" ]; }
if wait_until 120 done_run; then
  j="$(kubectl -n "$NS" get dr via-litellm -o json)"
  if jq -e --arg a "$ANSWER" '.status.phase == "Succeeded" and .status.reason == "Completed" and .status.usage.llmCalls >= 1
                              and (.status.answer | contains($a))' <<<"$j" >/dev/null; then
    ok "the run answered through LiteLLM: $(jq -c '.status.usage | {llmCalls, promptTokens, completionTokens}' <<<"$j")"
  else
    bad "the run: $(jq -c '{phase: .status.phase, reason: .status.reason, message: .status.message, usage: .status.usage, answer: .status.answer[0:200]}' <<<"$j")"
  fi
else
  bad "the run did not finish: $(kubectl -n "$NS" get dr via-litellm -o jsonpath='{.status.phase} {.status.message}')"; finish
fi

# The wire: each chat request, and what LiteLLM answered on that connection.
requests=0 streamed=0 sse=0 temps=0
for up in "$WORK"/wire/*.up; do
  grep -q "POST /v1/chat/completions" "$up" || continue
  requests=$((requests + $(grep -c "POST /v1/chat/completions" "$up")))
  streamed=$((streamed + $(grep -o '"stream":true,"stream_options":{"include_usage":true}' "$up" | grep -c .)))
  temps=$((temps + $(grep -o '"temperature"' "$up" | grep -c .)))
  down="${up%.up}.down"
  sse=$((sse + $(grep -ci '^content-type: text/event-stream' "$down")))
  grep -q '^data: \[DONE\]' "$down" || sse=-1000
done
if [ "$requests" -ge 1 ] && [ "$streamed" = "$requests" ] && [ "$sse" = "$requests" ]; then
  ok "all $requests chat requests asked to stream, and LiteLLM streamed each as server-sent events ending [DONE]"
else
  bad "on the wire: $requests requests, $streamed asked to stream, $sse event streams; first request: $(head -c 600 "$(ls "$WORK"/wire/*.up | head -1)")"
fi
if [ "$requests" -ge 1 ] && [ "$temps" = 0 ]; then
  ok "no request carried a temperature (the profile sets none)"
else
  bad "$temps requests carried a temperature"
fi

finish
