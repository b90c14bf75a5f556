// OperatorConfig: config/operator.yaml, validated at start. Errors name the
// field and what is wrong; the operator refuses to start on any of them.
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/run_spec.h"
#include "operator/kube/result.h"

namespace opscopilot::controller {

struct ModelProfile {
  std::string name;
  std::string provider;  // builtin, openai, azure-openai, anthropic
  std::string baseURL;   // https://api.openai.com/v1, http://127.0.0.1:11434/v1, https://api.anthropic.com
  std::string model;     // model id, or the Azure deployment name
  std::string apiVersion;
  std::string apiKeyEnv;        // environment variable holding the key (out of cluster)
  std::string apiKeySecretNamespace, apiKeySecretName, apiKeySecretKey;  // or a Secret (in cluster)
  bool stream = false;
  std::optional<double> temperature;  // sent only when set (0..2)
  int timeoutSeconds = 60;
  int maxAttempts = 4;
  int requestsPerMinute = 0;
  int tokensPerMinute = 0;
  int breakerFailures = 5;
  int breakerCooldownSeconds = 30;
  std::int64_t inputMicroUSDPerMTok = 0;   // price table: USD per million tokens, in micro-dollars
  std::int64_t outputMicroUSDPerMTok = 0;
  int maxToolResultTokens = 2000;
  int maxPromptTokens = 6000;
  // Nodes of this profile's runs in flight at once (each model call is one
  // node); 0: no limit of its own (builtin), the operator's alone.
  int maxConcurrentCalls = 16;
};

inline ModelProfile builtinProfile() {
  ModelProfile p;
  p.name = p.provider = "builtin";
  p.maxConcurrentCalls = 0;
  return p;
}

// Where traces go (operator config `tracing`, or OpenTelemetry's
// OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT and
// OTEL_SERVICE_NAME when the config names none): OTLP/HTTP with JSON bodies.
struct TracingConfig {
  std::string endpoint;  // the full URL spans are POSTed to, e.g. http://collector:4318/v1/traces
  std::string serviceName = "opscopilot-operator";
  std::string caFile;
  bool insecureSkipVerify = false;
};

// The URL traces are POSTed to, in out: a base endpoint (the config's
// tracing.endpoint, OTEL_EXPORTER_OTLP_ENDPOINT) gets /v1/traces appended; a
// signal-specific one (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) is used as is.
// Returns what is wrong with url, or "".
std::string tracesEndpoint(const std::string& url, bool signalSpecific, std::string& out);

// A Prometheus that query_metrics asks (operator config `metrics`).
struct PrometheusConfig {
  std::string url;  // http:// or https://, with a path prefix if it serves under one
  // A bearer token from a Secret, read with the operator's own identity.
  std::string tokenSecretNamespace, tokenSecretName, tokenSecretKey = "token";
  std::string caFile;  // PEM of the CAs that sign an https server's certificate; "": the system store
  bool insecureSkipVerify = false;
  // Every series selector of a run's query gets LABEL="<run's namespace>";
  // "" only for a namespace's own Prometheus that holds nothing else.
  std::string scopeLabel = "namespace";
};

// A Secret's key, read with the operator's own identity.
struct SecretKeyRef {
  std::string ns, name, key;
  bool empty() const { return name.empty(); }
};

// Where the action tools send (operator config `actions.destinations`).
struct ActionDestinationConfig {
  std::string name;    // what a run's spec.actions names
  std::string action;  // "notify" or "ticket"
  std::string type;    // notify: slack or webhook; ticket: github or webhook
  std::string url;     // http:// or https:// (github: the API's base URL, e.g. https://api.github.com)
  SecretKeyRef urlSecret;    // or the whole URL from a Secret (a Slack webhook URL is a credential)
  SecretKeyRef tokenSecret;  // sent as "Authorization: Bearer TOKEN"
  std::string repository;    // github: "owner/repo"
  std::vector<std::string> namespaces;  // runs of these namespaces may use it; empty: all
  std::string caFile;
  bool insecureSkipVerify = false;
  // The tool that sends to it: notify or create_ticket.
  std::string tool() const { return action == "ticket" ? "create_ticket" : "notify"; }
  bool allows(const std::string& ns) const {
    return namespaces.empty() || std::find(namespaces.begin(), namespaces.end(), ns) != namespaces.end();
  }
};

struct OperatorConfig {
  int workers = 4;  // reconcile workers: they advance runs; calls run in the node pool
  // Investigation nodes (a tool or model call each) in flight at once, all
  // runs together, and of one namespace's runs; the rest wait their turn,
  // namespaces taking turns.
  int maxNodes = 64;
  int maxNodesPerNamespace = 32;
  // Steps other than model calls and phase changes are written once the call
  // after them has been out this long, at the latest 4 intervals after
  // (run_reconciler.h says what is written when).
  std::chrono::milliseconds statusWriteInterval{250};
  // Writes that only show progress (not a phase change, not a model call),
  // all runs together, at most this many a second: under a burst the API
  // server's capacity goes to what must be written. 0: no limit.
  double statusProgressWritesPerSecond = 20;
  std::string defaultModel = "builtin";
  std::map<std::string, ModelProfile> models{{"builtin", builtinProfile()}};
  agent::Limits defaultLimits;
  agent::Limits maxLimits{50, std::chrono::seconds(3600), 1000000, 100000000};
  std::string readerUser = "system:serviceaccount:{namespace}:opscopilot-reader";
  std::size_t maxExcerptBytes = 4096;
  std::int64_t logTailLines = 100;
  std::string watchNamespace;  // empty: all namespaces
  std::string healthAddress = "127.0.0.1:8081";  // /healthz, /readyz, /metrics; empty: off
  std::string webAddress;  // the read-only web timeline (web_timeline.h); empty: off
  bool leaderElection = false;
  std::string leaseNamespace = "opscopilot-system";
  std::string leaseName = "opscopilot-leader";
  std::vector<std::string> disabledTools;
  // Runbooks every run may use (search_runbooks): labelled ConfigMaps in this
  // namespace, read as its reader identity; empty: only the run's namespace.
  std::string runbookNamespace;
  // query_metrics: the cluster's Prometheus (for every namespace without its
  // own), and namespaces' own. Neither: the tool is not offered.
  std::optional<PrometheusConfig> clusterPrometheus;
  std::optional<TracingConfig> tracing;  // none: no traces are exported
  std::map<std::string, PrometheusConfig> namespacePrometheus;
  // Whether runs in ns have a Prometheus to query.
  bool hasMetrics(const std::string& ns) const { return clusterPrometheus || namespacePrometheus.count(ns) > 0; }
  // Runs Warning Events start (DiagnosticSchedule spec.onEvents), all of a
  // namespace's schedules together, at most this many an hour.
  int triggersPerNamespacePerHour = 12;
  // notify and create_ticket destinations, by name.
  std::map<std::string, ActionDestinationConfig> actionDestinations;
  // Whose rights a run uses (docs/DESIGN.md, "Whose rights a run uses").
  // spec.requester is trusted only while this ValidatingAdmissionPolicyBinding
  // (and its policy) is in force and was so when the run was created.
  std::string requesterPolicyBinding = "opscopilot-diagnosticrun-requester";
  // A run whose requester cannot be trusted: Refuse (fail it with reason
  // RequesterUnverified) or ReaderOnly (run it with the reader identity alone,
  // as before requesters were checked). Refuse unless set explicitly.
  enum class WhenUnverified { Refuse, ReaderOnly };
  WhenUnverified whenRequesterUnverified = WhenUnverified::Refuse;
};

// Parses and validates YAML text. `source` names it in error messages.
kube::Result<OperatorConfig> parseOperatorConfig(const std::string& yaml, const std::string& source);
kube::Result<OperatorConfig> loadOperatorConfig(const std::string& path);

}  // namespace opscopilot::controller
