#!/usr/bin/env bash
# query_metrics against a real Prometheus (built from its Go module by
# hack/lib/prometheus-build.sh) scraping real things: the real kubelet's
# cAdvisor endpoint, kube-apiserver and the operator's own /metrics. On the
# real node, a container whose memory climbs until its limit kills it and a
# busy loop under a 50m CPU limit:
#   - the built-in investigation asks Prometheus on its own: the OOMKilled
#     finding says how close memory came to the limit, the throttled pod gets
#     a throttling finding, each citing the query's evidence;
#   - a model's queries are confined to the run's namespace (`up`, another
#     namespace's series: nothing comes back; info() is refused) and the
#     operator's own series (no namespace) are not the run's to read;
#   - a namespace whose reader may not read pod metrics gets none, and says so;
#   - without a Prometheus configured the tool is not offered.
#
# Prints one line per check and "N passed, M failed" at the end.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
# shellcheck source=tests/e2e/lib.sh
source "$ROOT/tests/e2e/lib.sh"
e2e_setup || exit 1
NS="e2e-metrics-$RUN_ID"
NOMETRICS="e2e-metrics-denied-$RUN_ID"
OPERATOR_PID="" PROM_PID=""
trap '[ -n "${KEEP_WORK:-}" ] && cp -r "$WORK" /tmp/metrics-work; kill $PROM_PID 2>/dev/null; e2e_cleanup "$NS" "$NOMETRICS"' EXIT
finish() { echo "$pass passed, $fail failed"; [ "$fail" = 0 ]; exit $?; }

if ! kubectl get node opscopilot-node >/dev/null 2>&1; then
  bad "the real node opscopilot-node is not part of the cluster (OPSCOPILOT_REAL_NODE=0?)"; finish
fi
PROMETHEUS="$(bash "$ROOT/hack/lib/prometheus-build.sh")" || { bad "Prometheus did not build"; finish; }
install_crds_and_policies || { echo "FAIL the CRDs and admission policies are not ready"; exit 1; }
kubectl apply -f "$ROOT/config/rbac/reader-clusterrole.yaml" >/dev/null
reader_namespace "$NS"
# The second namespace's reader may read pods but not their metrics.
kubectl create ns "$NOMETRICS" >/dev/null
cat <<EOF | kubectl -n "$NOMETRICS" apply -f - >/dev/null
apiVersion: v1
kind: ServiceAccount
metadata: {name: opscopilot-reader}
automountServiceAccountToken: false
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: pods-only}
rules:
- {apiGroups: [""], resources: [pods, pods/log, events, configmaps], verbs: [get, list]}
- {apiGroups: [apps], resources: [deployments, replicasets], verbs: [get, list]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: pods-only}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: pods-only}
subjects: [{kind: ServiceAccount, name: opscopilot-reader, namespace: "$NOMETRICS"}]
EOF

kubectl -n "$NS" apply -f "$ROOT/tests/e2e/real/memory-ramp.yaml" -f "$ROOT/tests/e2e/real/throttled.yaml" \
  -f "$ROOT/tests/e2e/real/http-errors.yaml" >/dev/null
kubectl -n "$NOMETRICS" apply -f "$ROOT/tests/e2e/real/throttled.yaml" >/dev/null

# Prometheus: the kubelet's cAdvisor endpoint (as the API server's kubelet
# client), kube-apiserver (as the admin) and the operator, every 2 s.
source "$OPSCOPILOT_CLUSTER_DIR/ports.env"
PKI="$OPSCOPILOT_CLUSTER_DIR/pki"
NODE_IP="$(kubectl get node opscopilot-node -o jsonpath='{.status.addresses[?(@.type=="InternalIP")].address}')"
# The model server first, so that no port picked below is taken by it.
start_model_server || { bad "the scripted model server did not start"; finish; }
PROM_PORT="$(free_port)"
OP_PORT="$(free_port)"
cat >"$WORK/prometheus.yml" <<EOF
global: {scrape_interval: 2s, scrape_timeout: 2s, evaluation_interval: 2s}
# The chart's alert rules, evaluated against the operator's series (section 4).
rule_files: ["$ROOT/charts/opscopilot/files/alerts.yaml"]
scrape_configs:
- job_name: kubelet-cadvisor
  scheme: https
  metrics_path: /metrics/cadvisor
  tls_config: {ca_file: $PKI/ca.crt, cert_file: $PKI/apiserver-kubelet-client.crt, key_file: $PKI/apiserver-kubelet-client.key}
  static_configs: [{targets: ["$NODE_IP:$KUBELET_PORT"]}]
- job_name: kube-apiserver
  scheme: https
  tls_config: {ca_file: $PKI/ca.crt, cert_file: $PKI/admin.crt, key_file: $PKI/admin.key}
  static_configs: [{targets: ["127.0.0.1:$APISERVER_PORT"]}]
- job_name: opscopilot-operator
  static_configs: [{targets: ["127.0.0.1:$OP_PORT"]}]
# The application's pods, labelled as Kubernetes service discovery labels
# them (namespace, pod): the test writes the file once the pod runs.
- job_name: pods
  fallback_scrape_protocol: PrometheusText0.0.4
  file_sd_configs: [{files: ["$WORK/pods.json"], refresh_interval: 2s}]
EOF
echo '[]' >"$WORK/pods.json"
"$PROMETHEUS" --config.file="$WORK/prometheus.yml" --storage.tsdb.path="$WORK/tsdb" \
  --web.listen-address="127.0.0.1:$PROM_PORT" >"$WORK/prometheus.log" 2>&1 &
PROM_PID=$!
PROM="http://127.0.0.1:$PROM_PORT"
promq() { curl -sf "$PROM/api/v1/query" --data-urlencode "query=$1"; }

cat >"$WORK/operator.yaml" <<EOF
models:
  builtin: {provider: builtin}
  scripted: {provider: openai, baseURL: "$LLM/v1", model: scripted}
  # Nothing listens there: its circuit opens after one failed call.
  unreachable: {provider: openai, baseURL: "http://127.0.0.1:$(free_port)/v1", model: none, maxAttempts: 1,
                breakerFailures: 1, breakerCooldownSeconds: 600}
metrics:
  prometheus: {url: "$PROM"}
  namespaces:
    $NOMETRICS: {url: "$PROM/"}
EOF
"$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$WORK/operator.yaml" --health-address "127.0.0.1:$OP_PORT" \
  >"$WORK/operator.log" 2>&1 &
OPERATOR_PID=$!

targets_up() {
  curl -sf "$PROM/api/v1/targets" | jq -e '[.data.activeTargets[] | select(.health == "up")] | length >= 3' >/dev/null
}
if wait_until 90 targets_up; then
  ok "Prometheus $("$PROMETHEUS" --version 2>&1 | head -1 | awk '{print $2, $3}') scrapes the kubelet's cAdvisor, kube-apiserver and the operator"
else
  bad "Prometheus's targets are not all up: $(curl -s "$PROM/api/v1/targets" | jq -c '[.data.activeTargets[] | {job: .labels.job, health, lastError}]')"
  tail -5 "$WORK/operator.log"
  finish
fi

# The workloads' states, as the kubelet reports them and cAdvisor saw them.
oom_seen() {
  kubectl -n "$NS" get pods -l app=indexer -o json |
    jq -e '[.items[].status.containerStatuses[]? | select(.lastState.terminated.reason == "OOMKilled")] | length > 0' >/dev/null &&
    promq "max(max_over_time(container_memory_working_set_bytes{namespace=\"$NS\",container=\"\",pod=~\"indexer-.*\"}[30m])) / max(container_spec_memory_limit_bytes{namespace=\"$NS\",container=\"\",pod=~\"indexer-.*\"} > 0) > 0.6" |
    jq -e '.data.result | length == 1' >/dev/null
}
throttled_seen() {
  promq "rate(container_cpu_cfs_throttled_periods_total{namespace=\"$NS\",container=\"\",pod=~\"thumbnailer-.*\"}[5m]) / rate(container_cpu_cfs_periods_total{namespace=\"$NS\",container=\"\",pod=~\"thumbnailer-.*\"}[5m]) > 0.5" |
    jq -e '.data.result | length == 1' >/dev/null
}
storefront_pod() { kubectl -n "$NS" get pods -l app=storefront --field-selector=status.phase=Running -o jsonpath='{.items[0].metadata.name} {.items[0].status.podIP}' 2>/dev/null; }
storefront_running() { [ -n "$(storefront_pod | tr -d ' ')" ]; }
wait_until 120 storefront_running || true
read -r SF_POD SF_IP <<<"$(storefront_pod)"
echo "[{\"targets\": [\"$SF_IP:8080\"], \"labels\": {\"namespace\": \"$NS\", \"pod\": \"$SF_POD\"}}]" >"$WORK/pods.json"
errors_seen() {
  promq "sum(rate(http_requests_total{namespace=\"$NS\",code=\"500\"}[5m])) / sum(rate(http_requests_total{namespace=\"$NS\"}[5m])) > 0.2" |
    jq -e '.data.result | length == 1' >/dev/null
}
if wait_until 240 oom_seen && wait_until 60 throttled_seen && wait_until 60 errors_seen; then
  ok "the indexer was OOM-killed after its memory climbed past 60% of the limit; the thumbnailer is throttled; the storefront answers 30% with 500"
else
  bad "the workloads never reached their states: $(kubectl -n "$NS" get pods -o wide --no-headers)"; finish
fi

run() {  # run NS NAME QUESTION KIND TARGET [MODEL]: creates the run and waits for it
  cat <<EOF | kubectl -n "$1" apply -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: $2}
spec: {question: "$3", target: {kind: $4, name: $5}, model: ${6:-builtin}, limits: {maxSteps: 20}}
EOF
  if kubectl -n "$1" wait "dr/$2" --for=condition=Succeeded --timeout=120s >/dev/null 2>&1; then
    kubectl -n "$1" get dr "$2" -o json >"$WORK/$2.json"
    return 0
  fi
  bad "$2 did not succeed: $(kubectl -n "$1" get dr "$2" -o jsonpath='{.status.phase} {.status.reason} {.status.message}')"
  return 1
}
# The query_metrics steps of a run, with their evidence excerpts.
metric_steps() { jq -c '[.status.steps[] | select(.tool == "query_metrics")]' "$1"; }

# 1. The built-in investigation asks Prometheus on its own.
if run "$NS" why-indexer "Why does the indexer keep restarting?" Deployment indexer; then
  oom="$(jq -r '.status.findings[] | select(.title | test("OOMKilled")) | .title' "$WORK/why-indexer.json" | head -1)"
  metric_ids="$(jq -r '[.status.evidence[] | select(.tool == "query_metrics") | .id] | join(" ")' "$WORK/why-indexer.json")"
  cited="$(jq -r --arg ids "$metric_ids" '.status.findings[] | select(.title | test("OOMKilled")) | .evidence[] | select(. as $e | $ids | split(" ") | index($e))' "$WORK/why-indexer.json")"
  if [[ "$oom" =~ memory\ was\ seen\ at\ [0-9]+%\ of\ the\ limit.*climbs\ until\ killed ]] && [ -n "$cited" ]; then
    ok "the OOMKilled finding says how close memory came to the limit, citing the query ($cited): ${oom##*; }"
  else
    bad "the OOMKilled finding has no memory figure from Prometheus: $oom / steps $(metric_steps "$WORK/why-indexer.json")"
  fi
  if jq -e --arg ns "$NS" '[.status.steps[] | select(.tool == "query_metrics") | .args.query] | length == 1' "$WORK/why-indexer.json" >/dev/null &&
     citations_ok <"$WORK/why-indexer.json"; then
    ok "one query_metrics step, and every citation exists"
  else
    bad "query_metrics steps or citations are wrong: $(metric_steps "$WORK/why-indexer.json")"
  fi
fi
if run "$NS" why-slow "Why is the thumbnailer so slow?" Deployment thumbnailer; then
  finding="$(jq -c '.status.findings[] | select(.title | test("CPU-throttled"))' "$WORK/why-slow.json" | head -1)"
  if [ -n "$finding" ] && jq -e '.severity == "Medium" and (.title | test("in (5[0-9]|[6-9][0-9]|100)% of scheduling periods")) and (.evidence | length > 0)' <<<"$finding" >/dev/null &&
     jq -r '.status.answer' "$WORK/why-slow.json" | grep -q "resources.limits.cpu"; then
    ok "the throttled pod gets a Medium finding with the throttled share, and the fix names the CPU limit"
  else
    bad "no throttling finding: $(jq -c '[.status.findings[] | {severity, title}]' "$WORK/why-slow.json") steps $(metric_steps "$WORK/why-slow.json")"
  fi
fi

if run "$NS" why-errors "Why does the storefront return errors?" Service storefront; then
  finding="$(jq -c '.status.findings[] | select(.title | test("of its HTTP requests with 5xx"))' "$WORK/why-errors.json" | head -1)"
  if [ -n "$finding" ] && jq -e '.severity == "Medium" and (.title | test("answers (2[5-9]|3[0-5])% of its HTTP requests")) and (.evidence | length > 0)' <<<"$finding" >/dev/null &&
     citations_ok <"$WORK/why-errors.json"; then
    ok "the Service's pod answering 30% with 500 is a Medium finding: $(jq -r .title <<<"$finding" | cut -c1-120)"
  else
    bad "no error-rate finding: $(jq -c '[.status.findings[] | {severity, title}]' "$WORK/why-errors.json") steps $(metric_steps "$WORK/why-errors.json")"
  fi
fi

# 2. A model's queries are confined to the run's namespace (three calls a
#    turn at most).
OTHER="$NOMETRICS"
curl -sf -X POST "$LLM/_script" -d "{\"turns\": [
  {\"tool_calls\": [
     {\"name\": \"query_metrics\", \"arguments\": {\"query\": \"up\"}},
     {\"name\": \"query_metrics\", \"arguments\": {\"query\": \"sum(container_memory_working_set_bytes{namespace=\\\"$OTHER\\\"})\"}},
     {\"name\": \"query_metrics\", \"arguments\": {\"query\": \"sum by (pod) (rate(container_cpu_usage_seconds_total{container=\\\"\\\"}[1m]))\", \"minutes\": 5}}]},
  {\"tool_calls\": [
     {\"name\": \"query_metrics\", \"arguments\": {\"query\": \"rest_client_requests_total\"}},
     {\"name\": \"query_metrics\", \"arguments\": {\"query\": \"info(up)\"}}]}],
  \"default\": {\"content\": \"DONE [E1]\"}}" >/dev/null
if run "$NS" model-queries "How much CPU do the pods use?" Deployment thumbnailer scripted; then
  steps="$WORK/model-queries.steps.json"
  # The model's five queries, in its order (the built-in analyzers may add theirs).
  jq --arg other "$OTHER" '[.status.steps[] | select(.tool == "query_metrics")] as $s
    | [("up", "sum(container_memory_working_set_bytes{namespace=\"" + $other + "\"})",
        "sum by (pod) (rate(container_cpu_usage_seconds_total{container=\"\"}[1m]))", "rest_client_requests_total", "info(up)")
       | . as $q | ([$s[] | select(.args.query == $q)][0] // {})]' "$WORK/model-queries.json" >"$steps"
  if jq -e --arg ns "$NS" '.[0].state == "Succeeded" and (.[0].summary | startswith("1 series for up{namespace=\"" + $ns + "\"}"))' "$steps" >/dev/null &&
     ! jq -r '.status.evidence[] | select(.tool == "query_metrics") | .excerpt' "$WORK/model-queries.json" | grep -Eq 'job="(kubelet-cadvisor|kube-apiserver|opscopilot-operator)"'; then
    ok "\`up\` is sent as up{namespace=\"$NS\"}: only the namespace's own target (the storefront) comes back, not the cluster's"
  else
    bad "up was not confined: $(jq -c '.[0] | {state, summary}' "$steps")"
  fi
  if jq -e --arg ns "$NS" --arg other "$OTHER" '.[1].state == "Succeeded" and (.[1].summary | contains("namespace=\"" + $ns + "\",namespace=\"" + $other + "\""))' "$steps" >/dev/null &&
     ! jq -r '.status.evidence[] | select(.tool == "query_metrics") | .excerpt' "$WORK/model-queries.json" | grep -q "$OTHER\"}[^;]*now: [1-9]"; then
    ok "another namespace's series are asked for only together with namespace=\"$NS\": no value comes back"
  else
    bad "another namespace's query was not confined: $(jq -c '.[1] | {state, summary}' "$steps")"
  fi
  if jq -e '.[2].state == "Succeeded" and (.[2].summary | test("^[1-9][0-9]* series .* over the last 5 min"))' "$steps" >/dev/null &&
     jq -r '.status.evidence[] | select(.tool == "query_metrics") | .excerpt' "$WORK/model-queries.json" | grep -q 'over the last 5 min ([0-9]* points): last'; then
    ok "a range query over the namespace's own pods comes back summarised per series"
  else
    bad "the range query did not come back: $(jq -c '.[2] | {state, summary}' "$steps")"
  fi
  if jq -e '.[3].state == "Succeeded" and (.[3].summary | startswith("0 series"))' "$steps" >/dev/null; then
    ok "the operator's own series (no namespace label) are not readable from a run"
  else
    bad "the operator's series came back: $(jq -c '.[3] | {state, summary}' "$steps")"
  fi
  if jq -e '.[4].state == "Failed" and .[4].error == "InvalidArgs" and (.[4].summary | test("info\\(\\) cannot be confined"))' "$steps" >/dev/null; then
    ok "info(), which picks its own series, is refused"
  else
    bad "info() was not refused: $(jq -c '.[4] | {state, error, summary}' "$steps")"
  fi
fi

# 3. The chart's Grafana dashboard and alert rules, on the operator's real
#    series: every panel's query returns data, every rule evaluates, and a
#    model endpoint that is down puts its circuit-breaker alert in pending.
cat <<EOF | kubectl -n "$NS" apply -f - >/dev/null
apiVersion: opscopilot.io/v1alpha1
kind: DiagnosticRun
metadata: {name: endpoint-down}
spec: {question: "Why is the thumbnailer slow?", target: {kind: Deployment, name: thumbnailer}, model: unreachable}
EOF
run_done() { [[ "$(kubectl -n "$NS" get dr endpoint-down -o jsonpath='{.status.phase}')" =~ ^(Succeeded|Failed)$ ]]; }
circuit_open() {
  promq 'opscopilot_model_circuit_breaker_state{profile="unreachable",state="open"} == 1' | jq -e '.data.result | length == 1' >/dev/null
}
if wait_until 90 run_done && wait_until 30 circuit_open; then
  ok "a run on a model endpoint that is down: $(kubectl -n "$NS" get dr endpoint-down -o jsonpath='{.status.phase}/{.status.reason}'), and Prometheus sees the profile's circuit open"
else
  bad "the unreachable profile's circuit never showed open: $(kubectl -n "$NS" get dr endpoint-down -o jsonpath='{.status.phase}/{.status.reason}') $(promq 'opscopilot_model_circuit_breaker_state' | jq -c '[.data.result[] | [.metric.profile, .metric.state, .value[1]]]')"
fi
# Each query as Grafana would send it, with this job and a 1m rate interval.
jq -r '.panels[] | select(.type != "row") | .title as $t | .targets[] | [$t, .refId, .expr] | @tsv' \
  "$ROOT/charts/opscopilot/files/dashboard.json" >"$WORK/panels.tsv"
panels_answer() {
  empty="" queries=0
  while IFS=$'\t' read -r title ref expr; do
    queries=$((queries + 1))
    q="${expr//\$job/opscopilot-operator}"
    q="${q//\$__rate_interval/1m}"
    if ! promq "$q" >"$WORK/panel.json" || ! jq -e '.status == "success" and (.data.result | length > 0)' "$WORK/panel.json" >/dev/null; then
      empty+=" [$title $ref: $(jq -c '{status, error, n: (.data.result | length)}' "$WORK/panel.json" 2>/dev/null)]"
    fi
  done <"$WORK/panels.tsv"
  [ "$queries" -gt 20 ] && [ -z "$empty" ]
}
if wait_until 30 panels_answer; then
  ok "all $queries queries of the Grafana dashboard's $(cut -f1 "$WORK/panels.tsv" | sort -u | wc -l) panels return series from the operator"
else
  bad "dashboard queries that Prometheus refused or that came back empty ($queries in all):$empty"
fi
rules_ok() {
  curl -sf "$PROM/api/v1/rules" >"$WORK/rules.json" &&
    jq -e '[.data.groups[].rules[]] | length > 0 and all(.health == "ok" and .lastEvaluation != "0001-01-01T00:00:00Z")' "$WORK/rules.json" >/dev/null
}
n_rules="$(grep -c '^  - alert:' "$ROOT/charts/opscopilot/files/alerts.yaml")"
if wait_until 30 rules_ok && [ "$(jq '[.data.groups[].rules[]] | length' "$WORK/rules.json")" = "$n_rules" ]; then
  ok "Prometheus loaded the chart's $n_rules alert rules and evaluates each without error"
else
  bad "alert rules: $(jq -c '[.data.groups[]?.rules[]? | {name, health, lastError}]' "$WORK/rules.json" 2>/dev/null)"
fi
circuit_alert() {
  curl -sf "$PROM/api/v1/alerts" |
    jq -e '[.data.alerts[] | select(.labels.alertname == "OpsCopilotModelCircuitOpen" and .labels.profile == "unreachable" and (.state == "pending" or .state == "firing"))] | length == 1' >/dev/null
}
if wait_until 30 circuit_alert; then
  ok "OpsCopilotModelCircuitOpen is pending for the unreachable profile (and for no other)"
else
  bad "no OpsCopilotModelCircuitOpen alert: $(curl -sf "$PROM/api/v1/alerts" | jq -c '[.data.alerts[] | {name: .labels.alertname, profile: .labels.profile, state}]')"
fi

# 4. A reader without the metrics permission reads no metrics, and says so.
curl -sf -X POST "$LLM/_script" -d '{"turns": [{"tool_calls": [{"name": "query_metrics", "arguments": {"query": "container_memory_working_set_bytes"}}]}], "default": {"content": "DONE [E1]"}}' >/dev/null
if run "$NOMETRICS" denied "How much memory does the thumbnailer use?" Deployment thumbnailer scripted; then
  step="$(jq -c '[.status.steps[] | select(.tool == "query_metrics")][0]' "$WORK/denied.json")"
  if jq -e '.state == "Failed" and .error == "Forbidden" and (.summary | test("may not list pods.metrics.k8s.io"))' <<<"$step" >/dev/null; then
    ok "the reader of $NOMETRICS may not read pod metrics: the query is not sent ($(jq -r .summary <<<"$step" | cut -c1-110)...)"
  else
    bad "a reader without the metrics permission was not refused: $step"
  fi
  if jq -e '[.status.steps[] | select(.tool == "query_metrics") | .state] | all(. == "Failed")' "$WORK/denied.json" >/dev/null &&
     ! jq -e '.status.findings[]? | select(.title | test("CPU-throttled"))' "$WORK/denied.json" >/dev/null; then
    ok "no metric was read there, and no finding claims one"
  else
    bad "metrics were read in $NOMETRICS: $(jq -c '[.status.findings[] | .title]' "$WORK/denied.json")"
  fi
fi

# 5. Without a Prometheus the tool is not offered.
kill "$OPERATOR_PID" 2>/dev/null; wait "$OPERATOR_PID" 2>/dev/null
"$OPERATOR" --kubeconfig "$KUBECONFIG" --config "$ROOT/config/operator.yaml" --health-address 127.0.0.1:0 \
  >"$WORK/operator-plain.log" 2>&1 &
OPERATOR_PID=$!
if run "$NS" no-prometheus "Why is the thumbnailer so slow?" Deployment thumbnailer; then
  if jq -e '[.status.steps[] | select(.tool == "query_metrics")] | length == 0' "$WORK/no-prometheus.json" >/dev/null; then
    ok "with no Prometheus configured no run plans query_metrics"
  else
    bad "query_metrics ran without a Prometheus: $(metric_steps "$WORK/no-prometheus.json")"
  fi
fi
finish
