#!/usr/bin/env bash
# Traces against a real OpenTelemetry Collector (built from its Go modules by
# `hack/lib/go-tool-build.sh otelcol`: OTLP receiver, debug exporter), on the real
# control plane:
#   - a built-in run is one trace, its ID in status.traceID: a DiagnosticRun
#     span with the run's namespace, name, reason and target, and one child
#     span per step ("tool get_workload", "planner", ...) with its state;
#   - a model run adds a client span per model call ("chat scripted"), under
#     the step it served, with gen_ai.usage.* tokens as the model server
#     reported them;
#   - OpenTelemetry's OTEL_EXPORTER_OTLP_ENDPOINT configures it as well as
#     the operator config does.
#
# Prints one line per check and "N passed, M failed" at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
NS="e2e-tracing-$RUN_ID"
OPERATOR_PID="" COL_PID=""
trap 'kill $COL_PID 2>/dev/null; e2e_cleanup "$NS"' EXIT
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

OTELCOL="$(bash "$ROOT/hack/lib/go-tool-build.sh" otelcol)" || { bad "the collector did not build"; finish; }
install_crds_and_policies || { echo "FAIL the CRDs and admission policies are not ready"; exit 1; }
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null
reader_namespace "$NS"
kubectl -n "$NS" apply -f "$SCENARIOS/crashloop.yaml" >/dev/null
wait_until 60 scenario_ready "$NS" crashloop || { bad "the crashloop scenario never became ready"; finish; }
start_model_server || { bad "the scripted model server did not start"; finish; }

COL_PORT="$(free_port)"
cat >"$WORK/otelcol.yaml" <<EOF
receivers:
  otlp:
    protocols:
      http: {endpoint: "127.0.0.1:$COL_PORT"}
exporters:
  debug: {verbosity: detailed}
service:
  pipelines:
    traces: {receivers: [otlp], exporters: [debug]}
  telemetry:
    metrics: {level: none}
EOF
"$OTELCOL" --config "file:$WORK/otelcol.yaml" >"$WORK/otelcol.log" 2>&1 &
COL_PID=$!
collector_up() { curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' "http://127.0.0.1:$COL_PORT/v1/traces" | grep -q 200; }
if wait_until 60 collector_up; then
  ok "the collector ($("$OTELCOL" --version 2>&1 | head -1)) takes OTLP/HTTP on 127.0.0.1:$COL_PORT"
else
  bad "the collector did not start: $(tail -5 "$WORK/otelcol.log")"; finish
fi

# The debug exporter's spans as JSON lines: {trace, parent, id, name, kind, status, attrs}.
spans() {
  python3 - "$WORK/otelcol.log" <<'PY'
import json, re, sys
spans, cur, in_attrs = [], None, False
for line in open(sys.argv[1], errors="replace"):
    line = line.rstrip("\n")
    if re.match(r"^Span #\d+", line):
        cur = {"attrs": {}}; spans.append(cur); in_attrs = False; continue
    if cur is None:
        continue
    m = re.match(r"^\s+(Trace ID|Parent ID|ID|Name|Kind|Status code)\s*: ?(.*)$", line)
    if m and not in_attrs:
        cur[{"Trace ID": "trace", "Parent ID": "parent", "ID": "id", "Name": "name", "Kind": "kind", "Status code": "status"}[m.group(1)]] = m.group(2).strip()
        continue
    if line.startswith("Attributes:"):
        in_attrs = True; continue
    m = re.match(r"^\s+-> ([^:]+): (\w+)\((.*)\)$", line)
    if m and in_attrs:
        cur["attrs"][m.group(1)] = m.group(3); continue
    if not line.startswith(" "):
        in_attrs = False
        if not line.startswith("Attributes"): cur = None if re.match(r"^(ResourceSpans|ScopeSpans|\S+\s+info\b)", line) else cur
for s in spans:
    print(json.dumps(s))
PY
}
trace_spans() { spans | jq -sc --arg t "$1" '[.[] | select(.trace == $t)]'; }

cat >"$WORK/operator.yaml" <<EOF
models:
  builtin: {provider: builtin}
  scripted: {provider: openai, baseURL: "$LLM/v1", model: scripted}
tracing: {endpoint: "http://127.0.0.1:$COL_PORT", serviceName: opscopilot-e2e}
EOF
"$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$WORK/operator.yaml" --health-address 127.0.0.1:0 \
  >"$WORK/operator.log" 2>&1 &
OPERATOR_PID=$!

ask() {  # ask NAME [MODEL]: a run on the crash-looping Deployment, waited for
  kubectl -n "$NS" apply -f - >/dev/null <<EOF
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: $1}
spec: {question: "Why is checkout crash-looping?", target: {kind: Deployment, name: checkout}, model: ${2:-builtin}}
EOF
  kubectl -n "$NS" wait "dr/$1" --for=jsonpath='{.status.completionTime}' --timeout=120s >/dev/null &&
    kubectl -n "$NS" get dr "$1" -o json >"$WORK/$1.json"
}
root_arrived() { trace_spans "$1" | jq -e 'any(.[]; .name == "DiagnosticRun")' >/dev/null; }

# --- a built-in run -------------------------------------------------------------
if ask builtin-run; then
  TRACE="$(jq -r .status.traceID "$WORK/builtin-run.json")"
  if [[ "$TRACE" =~ ^[0-9a-f]{32}$ ]] && wait_until 30 root_arrived "$TRACE"; then
    trace_spans "$TRACE" >"$WORK/builtin.spans"
    root="$(jq -c '.[] | select(.name == "DiagnosticRun")' "$WORK/builtin.spans")"
    if jq -e --arg ns "$NS" '.attrs["k8s.namespace.name"] == $ns and .attrs["opscopilot.run.name"] == "builtin-run"
          and .attrs["opscopilot.run.reason"] == "Completed" and .attrs["opscopilot.run.target"] == "Deployment/checkout"
          and .parent == "" and .attrs["service.name"] == null' <<<"$root" >/dev/null &&
       grep -q 'service.name: Str(opscopilot-e2e)' "$WORK/otelcol.log"; then
      ok "the run is trace $TRACE (status.traceID): its DiagnosticRun span names the namespace, run, reason and target"
    else
      bad "the run's span: $root"
    fi
    steps="$(jq '[.status.steps[] | select(.state == "Succeeded" or .state == "Failed" or .state == "Skipped")] | length' "$WORK/builtin-run.json")"
    rootid="$(jq -r .id <<<"$root")"
    children="$(jq --arg r "$rootid" '[.[] | select(.parent == $r)] | length' "$WORK/builtin.spans")"
    tools="$(jq -r '[.status.steps[] | select(.node == "tool") | "tool " + .tool] | sort | join(",")' "$WORK/builtin-run.json")"
    tool_spans="$(jq -r '[.[] | select(.name | startswith("tool ")) | .name] | sort | join(",")' "$WORK/builtin.spans")"
    if [ "$children" = "$steps" ] && [ "$tools" = "$tool_spans" ] &&
       jq -e 'any(.[]; .name == "planner") and any(.[]; .name == "finalizer" and .attrs["opscopilot.step.state"] == "Succeeded")' "$WORK/builtin.spans" >/dev/null; then
      ok "one child span per step ($steps): $(jq -r '[.[] | select(.name != "DiagnosticRun") | .name] | join(", ")' "$WORK/builtin.spans" | cut -c1-150)"
    else
      bad "step spans: $children children of $steps steps; tools $tools vs spans $tool_spans"
    fi
  else
    bad "no DiagnosticRun span for trace '$TRACE' arrived: $(spans | jq -sc '[.[] | {trace, name}]' | cut -c1-400)"
  fi
fi

# --- a model run: a client span per model call ------------------------------------
curl -sf -X POST "$LLM/_script" -d '{"turns": [{"tool_calls": [{"name": "list_pods", "arguments": {}}]}],
  "default": {"content": "The container exits with code 1 [E1]."}}' >/dev/null
if ask model-run scripted; then
  TRACE="$(jq -r .status.traceID "$WORK/model-run.json")"
  if wait_until 30 root_arrived "$TRACE"; then
    trace_spans "$TRACE" >"$WORK/model.spans"
    calls="$(jq '[.[] | select(.name == "chat scripted")] | length' "$WORK/model.spans")"
    made="$(jq '.status.usage.llmCalls' "$WORK/model-run.json")"
    prompt="$(jq '[.[] | select(.name == "chat scripted") | .attrs["gen_ai.usage.input_tokens"] | tonumber] | add' "$WORK/model.spans")"
    if [ "$calls" -ge 1 ] && [ "$calls" = "$made" ] && [ "$prompt" = "$(jq '.status.usage.promptTokens' "$WORK/model-run.json")" ] &&
       jq -e '[.[] | select(.name == "chat scripted")] | all(.kind == "Client" and .attrs["gen_ai.request.model"] == "scripted"
              and .attrs["gen_ai.provider.name"] == "openai" and .attrs["opscopilot.model.profile"] == "scripted")' "$WORK/model.spans" >/dev/null &&
       jq -e '(map({(.id): .name}) | add) as $names | [.[] | select(.name == "chat scripted") | $names[.parent]] | all(. != null and . != "DiagnosticRun")' "$WORK/model.spans" >/dev/null; then
      ok "$calls model calls, $calls client spans \"chat scripted\" under the steps they served, $prompt prompt tokens as in status.usage"
    else
      bad "model spans: $calls spans for $made calls, $prompt prompt tokens; $(jq -c '[.[] | {name, kind, parent}]' "$WORK/model.spans" | cut -c1-600)"
    fi
  else
    bad "the model run's trace did not arrive"
  fi
fi

# --- configured by OpenTelemetry's environment variables ----------------------------
kill "$OPERATOR_PID" 2>/dev/null; wait "$OPERATOR_PID" 2>/dev/null
OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:$COL_PORT" OTEL_SERVICE_NAME=opscopilot-from-env \
  "$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$ROOT/config/operator.yaml" --health-address 127.0.0.1:0 \
  >"$WORK/operator-env.log" 2>&1 &
OPERATOR_PID=$!
if ask env-run && TRACE="$(jq -r .status.traceID "$WORK/env-run.json")" && wait_until 30 root_arrived "$TRACE" &&
   grep -q 'service.name: Str(opscopilot-from-env)' "$WORK/otelcol.log"; then
  ok "OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_SERVICE_NAME configure the exporter too"
else
  bad "the run of the operator configured by the environment left no trace: $(tail -3 "$WORK/operator-env.log")"
fi
finish
