// The metrics analyzer: when the run has a Prometheus (query_metrics is
// offered), pods read by list_pods get two questions asked of cAdvisor's
// series, as the kubelet exposes them for every pod (pod-level cgroups,
// container=""): how close memory came to the limit in the last 30 minutes,
// for pods that were OOM-killed or restarted; and the share of CPU periods
// throttled in the last 5 minutes, for pods with a CPU limit. Pods behind a
// Service read by get_service get a third: the share of their HTTP requests
// answered 5xx in the last 5 minutes (http_requests_total by code, the
// Prometheus client libraries' convention, with the pod label that
// Kubernetes service discovery gives). The answers become findings, or
// enrich the pod's OOMKilled and probe findings.
#include <algorithm>
#include <cmath>
#include <cstdio>

#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "metrics";
constexpr std::size_t kMaxPods = 5;

// A pod name as a regex alternative inside a PromQL string: its dots escaped
// (twice: once for the regex, once for the string).
std::string podAlternatives(const std::vector<std::string>& pods) {
  std::string out;
  for (const auto& p : pods) {
    if (!out.empty()) out += '|';
    for (char c : p) {
      if (c == '.') out += "\\\\";
      out += c;
    }
  }
  return out;
}

std::string memoryQuery(const std::vector<std::string>& pods) {
  const std::string sel = "{container=\"\",pod=~\"" + podAlternatives(pods) + "\"}";
  return "max by (pod) (max_over_time(container_memory_working_set_bytes" + sel +
         "[30m])) / max by (pod) (container_spec_memory_limit_bytes" + sel + " > 0)";
}

std::string throttlingQuery(const std::vector<std::string>& pods) {
  const std::string sel = "{container=\"\",pod=~\"" + podAlternatives(pods) + "\"}";
  return "sum by (pod) (rate(container_cpu_cfs_throttled_periods_total" + sel +
         "[5m])) / sum by (pod) (rate(container_cpu_cfs_periods_total" + sel + "[5m]))";
}

std::string errorRateQuery(const std::vector<std::string>& pods) {
  const std::string pod = "pod=~\"" + podAlternatives(pods) + "\"";
  return "sum by (pod) (rate(http_requests_total{" + pod + ",code=~\"5..\"}[5m])) / sum by (pod) (rate(http_requests_total{" +
         pod + "}[5m]) > 0)";
}

bool isErrorRateQuery(std::string_view q) {
  return q.find("http_requests_total") != std::string_view::npos && q.find("5..") != std::string_view::npos;
}

bool isMemoryQuery(std::string_view q) {
  return q.find("container_memory_working_set_bytes") != std::string_view::npos &&
         q.find("container_spec_memory_limit_bytes") != std::string_view::npos;
}

bool isThrottlingQuery(std::string_view q) {
  return q.find("container_cpu_cfs_throttled_periods_total") != std::string_view::npos &&
         q.find("container_cpu_cfs_periods_total") != std::string_view::npos;
}

std::string percent(double ratio) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%.0f%%", ratio * 100);
  return buf;
}

class MetricsAnalyzer : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override {
    if (step.tool == "list_pods" && step.ok) suggestQueries(step, sink);
    if (step.tool == "get_service" && step.ok) suggestErrorRate(step, sink);
    if (step.tool == "query_metrics" && step.ok) interpret(step, sink);
  }

 private:
  static void suggestQueries(const agent::StepView& step, agent::AnalysisSink& sink) {
    std::vector<std::string> restarted, cpuLimited;
    for (const Json* pod : listAt(step.data, {"items"})) {
      const std::string name = nameOf(pod);
      if (name.empty()) continue;
      bool memLimit = false, cpuLimit = false, died = false;
      for (const Json* c : listAt(pod, {"spec", "containers"})) {
        memLimit = memLimit || !strAt(c, {"resources", "limits", "memory"}).empty();
        cpuLimit = cpuLimit || !strAt(c, {"resources", "limits", "cpu"}).empty();
      }
      for (const Json* s : listAt(pod, {"status", "containerStatuses"})) {
        died = died || intAt(s, {"restartCount"}).value_or(0) > 0 ||
               strAt(s, {"lastState", "terminated", "reason"}) == "OOMKilled" ||
               strAt(s, {"state", "terminated", "reason"}) == "OOMKilled";
      }
      if (memLimit && died && restarted.size() < kMaxPods) restarted.push_back(name);
      if (cpuLimit && cpuLimited.size() < kMaxPods) cpuLimited.push_back(name);
    }
    if (!restarted.empty()) {
      sink.suggest(plannedCall("query_metrics", CallArgs().str("query", memoryQuery(restarted)),
                               "how close memory came to the limit before the restarts (cAdvisor, last 30 min)"));
    }
    if (!cpuLimited.empty()) {
      sink.suggest(plannedCall("query_metrics", CallArgs().str("query", throttlingQuery(cpuLimited)),
                               "whether the CPU limit throttles the pods (cAdvisor, last 5 min)"));
    }
  }

  static void suggestErrorRate(const agent::StepView& step, agent::AnalysisSink& sink) {
    std::vector<std::string> pods;
    for (const Json* pod : listAt(step.data, {"pods"})) {
      if (const std::string name = nameOf(pod); !name.empty() && pods.size() < kMaxPods) pods.push_back(name);
    }
    if (pods.empty()) return;
    sink.suggest(plannedCall("query_metrics", CallArgs().str("query", errorRateQuery(pods)),
                             "the share of the Service's requests its pods answer with 5xx (last 5 min)"));
  }

  // The series of the answer with their evidence IDs (the tool cites the
  // series in the order of data.series).
  struct PodValue {
    std::string pod;
    double value;
    std::string evidence;
    std::vector<std::string> cited() const { return evidence.empty() ? std::vector<std::string>{} : std::vector{evidence}; }
  };
  // A finding on the pod, citing the series.
  static void podFinding(const PodValue& pv, std::string what, Severity severity, int confidence, std::string remediation,
                         agent::AnalysisSink& sink) {
    agent::FindingDraft d;
    d.subject = "Pod/" + pv.pod;
    d.title = "Pod/" + pv.pod + " " + std::move(what);
    d.severity = severity;
    d.confidence = confidence;
    d.evidence = pv.cited();
    d.remediation = std::move(remediation);
    sink.addFinding(kName, std::move(d));
  }
  static std::vector<PodValue> podValues(const agent::StepView& step) {
    std::vector<PodValue> out;
    const auto series = listAt(step.data, {"series"});
    for (std::size_t i = 0; i < series.size(); ++i) {
      const std::string pod = strAt(series[i], {"labels", "pod"});
      const Json* v = field(series[i], "value");
      if (pod.empty() || !v || !v->IsNumber() || !std::isfinite(v->GetDouble())) continue;
      out.push_back({pod, v->GetDouble(), i < step.evidence.size() ? step.evidence[i].id : ""});
    }
    return out;
  }

  static void interpret(const agent::StepView& step, agent::AnalysisSink& sink) {
    const std::string query = strAt(step.data, {"query"});
    if (isMemoryQuery(query)) {
      for (const auto& pv : podValues(step)) memory(pv, sink);
    } else if (isThrottlingQuery(query)) {
      for (const auto& pv : podValues(step)) throttling(pv, sink);
    } else if (isErrorRateQuery(query)) {
      for (const auto& pv : podValues(step)) errorRate(pv, sink);
    }
  }

  static void memory(const PodValue& pv, agent::AnalysisSink& sink) {
    const std::string peak = percent(pv.value);
    if (auto oom = findingMatching(sink, "Pod/" + pv.pod, "OOMKilled", kName); !oom.empty()) {
      // cAdvisor samples about every 10 s: a climb shows well before the
      // kill, a sudden allocation not at all.
      const bool climbed = pv.value >= 0.6;
      sink.enrichFinding(oom, pv.cited(),
                         climbed ? "; memory was seen at " + peak + " of the limit in the last 30 min (cAdvisor): it climbs until killed"
                                 : "; memory was seen at no more than " + peak +
                                       " of the limit (cAdvisor, last 30 min): a sudden allocation between samples, not a slow climb",
                         climbed ? 85 : 75, {});
      return;
    }
    if (pv.value < 0.8) return;
    podFinding(pv, "memory reached " + peak + " of its limit in the last 30 min (cAdvisor)",
               pv.value >= 0.9 ? Severity::Medium : Severity::Low, 70,
               "Raise resources.limits.memory (and the request) of the pod's containers, or find what holds the "
               "memory: at the limit the kernel OOM-kills the container.",
               sink);
  }

  static void errorRate(const PodValue& pv, agent::AnalysisSink& sink) {
    if (pv.value < 0.05) return;
    podFinding(pv, "answers " + percent(pv.value) + " of its HTTP requests with 5xx (last 5 min, http_requests_total)",
               pv.value >= 0.5 ? Severity::High : Severity::Medium, 80,
               "Read the pod's log for the failing requests (search_logs with a pattern such as \" 5[0-9][0-9] \" or "
               "\"error\"); if one pod fails and the others do not, delete it so that its ReplicaSet replaces it.",
               sink);
  }

  static void throttling(const PodValue& pv, agent::AnalysisSink& sink) {
    if (pv.value < 0.25) return;
    const std::string share = percent(pv.value);
    podFinding(pv, "is CPU-throttled in " + share + " of scheduling periods (last 5 min, cAdvisor): its CPU limit caps it",
               pv.value >= 0.5 ? Severity::Medium : Severity::Low, 80,
               "Raise resources.limits.cpu of the pod's containers, or remove the CPU limit and keep the request: "
               "throttling slows every request and can make probes time out.",
               sink);
    // A probe failing on a throttled pod: the throttling is a likely cause.
    if (auto probe = findingMatching(sink, "Pod/" + pv.pod, "probe", kName); !probe.empty()) {
      sink.enrichFinding(probe, pv.cited(), "; the pod is CPU-throttled in " + share + " of periods, which slows its answers", 0, {});
    }
  }
};

}  // namespace

std::unique_ptr<agent::Analyzer> makeMetricsAnalyzer() { return std::make_unique<MetricsAnalyzer>(); }

}  // namespace opscopilot::tools
