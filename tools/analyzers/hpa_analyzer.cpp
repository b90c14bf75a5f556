// HPA analyzer (get_hpa): autoscalers that cannot read metrics or their
// target, or that sit at maxReplicas while demand asks for more.
#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/fill.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "hpa";

std::string metricsRemediation(std::string_view message) {
  if (containsNoCase(message, "missing request for")) {
    return "Utilization targets need requests: set resources.requests for that resource on every container of the target "
           "(sidecars included).";
  }
  if (containsAnyNoCase(message, {"metrics.k8s.io", "could not find the requested resource", "unable to fetch metrics"})) {
    return "The resource metrics API does not answer: install or fix metrics-server (`kubectl top pods` must work), or check "
           "the custom/external metrics adapter.";
  }
  if (containsNoCase(message, "no metrics returned") || containsNoCase(message, "did not receive metrics")) {
    return "No metrics for the target's pods yet: make sure they are running and ready, and that the metric exists.";
  }
  return "Check the HPA's metric definitions and the metrics pipeline (`kubectl describe hpa`).";
}

// "the HPA was unable to compute the replica count: failed to get cpu
// utilization: ...: the server could not find the requested resource" ->
// "failed to get cpu utilization: … the server could not find the requested resource"
std::string condenseMessage(std::string message) {
  message = oneLine(message);
  for (std::string_view prefix : {"the HPA was unable to compute the replica count: ", "the HPA controller was unable to "}) {
    if (message.starts_with(prefix)) message = message.substr(prefix.size());
  }
  if (message.size() <= 120) return message;
  auto first = message.find(": ");
  auto last = message.rfind(": ");
  if (first == std::string::npos || first == last) return shorten(message, 120);
  return shorten(message.substr(0, first), 50) + ": … " + shorten(message.substr(last + 2), 90);
}

// " (FailedGetResourceMetric)", or "" when the condition has no reason.
std::string reasonOf(const Json* condition) {
  std::string reason = strAt(condition, {"reason"});
  return reason.empty() ? std::string() : " (" + reason + ")";
}

class HpaAnalyzer : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override {
    if (step.tool != "get_hpa" || !step.ok) return;
    for (const Json* hpa : listAt(step.data, {"items"})) {
      std::string name = nameOf(hpa);
      if (name.empty()) continue;
      std::string targetKind = strAt(hpa, {"spec", "scaleTargetRef", "kind"});
      std::string targetName = strAt(hpa, {"spec", "scaleTargetRef", "name"});
      std::string target = fill("${kind} ${name}", {{"kind", targetKind, "the workload"}, {"name", targetName, "(unnamed)"}});
      agent::FindingDraft d;
      d.subject = "HorizontalPodAutoscaler/" + name;
      d.evidence = cite(step, {d.subject});
      const Json* able = condition(hpa, "AbleToScale");
      const Json* active = condition(hpa, "ScalingActive");
      const Json* limited = condition(hpa, "ScalingLimited");
      std::int64_t max = intAt(hpa, {"spec", "maxReplicas"}).value_or(0);
      std::int64_t current = intAt(hpa, {"status", "currentReplicas"}).value_or(0);
      std::int64_t desired = intAt(hpa, {"status", "desiredReplicas"}).value_or(current);
      if (able != nullptr && strAt(able, {"status"}) == "False") {
        std::string msg = strAt(able, {"message"});
        d.title = "HorizontalPodAutoscaler " + name + " cannot scale " + target + ": " +
                  fill("${message}", {{"message", condenseMessage(msg), "the controller gave no message"}}) + reasonOf(able);
        d.severity = Severity::High;
        d.confidence = 85;
        d.remediation = "Make spec.scaleTargetRef name an existing workload with a scale subresource, and give the HPA "
                        "controller access to it.";
      } else if (active != nullptr && strAt(active, {"status"}) == "False" && strAt(active, {"reason"}) != "ScalingDisabled") {
        std::string msg = strAt(active, {"message"});
        d.title = "HorizontalPodAutoscaler " + name + " cannot compute replicas for " + target + ": " +
                  fill("${message}", {{"message", condenseMessage(msg), "the controller gave no message"}}) + reasonOf(active);
        d.severity = Severity::Medium;
        d.confidence = 85;
        d.remediation = metricsRemediation(msg);
      } else if (limited != nullptr && strAt(limited, {"status"}) == "True" && strAt(limited, {"reason"}) == "TooManyReplicas" &&
                 max > 0 && current >= max) {
        d.title = "HorizontalPodAutoscaler " + name + " is pinned at maxReplicas " + std::to_string(max) + " for " + target +
                  " (desired " + std::to_string(desired) + ", ScalingLimited)";
        d.severity = Severity::Medium;
        d.confidence = 80;
        d.remediation = "Demand exceeds the ceiling: raise spec.maxReplicas (check quota and node capacity first), or make each "
                        "pod handle more (resources, performance).";
      }
      if (!d.title.empty()) sink.addFinding(kName, std::move(d));
      if (!targetKind.empty() && !targetName.empty()) {
        sink.suggest(plannedCall("get_workload", CallArgs().str("kind", targetKind).str("name", targetName),
                                 "the workload HorizontalPodAutoscaler " + name + " scales"));
      }
    }
  }
};

}  // namespace

std::unique_ptr<agent::Analyzer> makeHpaAnalyzer() { return std::make_unique<HpaAnalyzer>(); }

}  // namespace opscopilot::tools
