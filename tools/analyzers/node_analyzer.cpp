// Node analyzer (get_nodes): nodes that are NotReady, under pressure or
// cordoned; and, for pods the scheduler could not place, the taints and
// allocatable capacity behind the scheduler's verdict. A forbidden read is
// already explained by the tool's own evidence, so it adds nothing.
#include <algorithm>

#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/fill.h"
#include "tools/analyzers/k8s_messages.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "nodes";
constexpr std::string_view kNodesDetail = "; nodes: ";
constexpr std::size_t kMaxListed = 3;

// The taints that keep pods off a node (NoSchedule, NoExecute).
std::vector<NodeTaint> taintsOf(const Json* node) {
  std::vector<NodeTaint> out;
  for (const Json* t : listAt(node, {"spec", "taints"})) {
    NodeTaint taint{nameOf(node), strAt(t, {"key"}), strAt(t, {"value"}), strAt(t, {"effect"})};
    if (taint.effect != "NoSchedule" && taint.effect != "NoExecute") continue;
    out.push_back(std::move(taint));
  }
  return out;
}

std::string taintText(const std::vector<NodeTaint>& taints) {
  std::vector<std::string> out;
  for (const auto& t : taints) out.push_back(t.text());
  return join(out, ", ");
}

class NodeAnalyzer : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override {
    if (step.tool != "get_nodes" || !step.ok) return;
    if (boolAt(step.data, {"forbidden"})) return;
    std::vector<const Json*> nodes;
    for (const Json* n : listAt(step.data, {"items"})) {
      if (!nameOf(n).empty()) nodes.push_back(n);
    }
    for (const Json* n : nodes) health(step, n, sink);
    explainScheduling(step, nodes, sink);
  }

 private:
  static void health(const agent::StepView& step, const Json* node, agent::AnalysisSink& sink) {
    std::string name = nameOf(node);
    std::vector<std::string> problems;
    Severity severity = Severity::Low;
    const Json* ready = condition(node, "Ready");
    if (ready != nullptr && strAt(ready, {"status"}) != "True") {
      std::vector<std::string> why;
      if (!strAt(ready, {"reason"}).empty()) why.push_back(strAt(ready, {"reason"}));
      if (!strAt(ready, {"message"}).empty()) why.push_back(shorten(oneLine(strAt(ready, {"message"})), 100));
      problems.push_back("is NotReady" + (why.empty() ? std::string() : " (" + join(why, ": ") + ")"));
      severity = Severity::Medium;
    }
    for (const char* type : {"MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"}) {
      const Json* c = condition(node, type);
      if (c != nullptr && strAt(c, {"status"}) == "True") {
        problems.push_back(std::string("has ") + type);
        severity = Severity::Medium;
      }
    }
    if (boolAt(node, {"spec", "unschedulable"})) problems.push_back("is cordoned");
    if (problems.empty()) return;
    // Pods the pod analyzer found bound to this node and never started.
    std::vector<std::string> stuck;
    const std::string bound = " is bound to node " + name + ",";
    for (const auto& f : sink.findings()) {
      if (f.subject.starts_with("Pod/") && f.title.find(bound) != std::string::npos) stuck.push_back(f.subject.substr(4));
    }
    agent::FindingDraft d;
    d.subject = "Node/" + name;
    d.title = "Node " + name + " " + join(problems, ", ");
    if (!stuck.empty() && severity == Severity::Medium) {
      d.title += ": pod " + join(stuck, ", ") + (stuck.size() == 1 ? " is" : " are") + " bound to it and cannot start";
      severity = Severity::High;
    }
    d.severity = severity;
    d.confidence = 85;
    d.evidence = cite(step, {d.subject});
    d.remediation = severity != Severity::Low
                        ? "Pods on it may be evicted or stuck: check the kubelet and container runtime on " + name +
                              " (`kubectl describe node " + name + "`), free disk/memory, or drain and replace it."
                        : "`kubectl uncordon " + name + "` when maintenance is over.";
    sink.addFinding(kName, std::move(d));
  }

  static void explainScheduling(const agent::StepView& step, const std::vector<const Json*>& nodes,
                                agent::AnalysisSink& sink) {
    struct Target {
      std::string id;
      std::string title;
      std::string remediation;
    };
    std::vector<Target> targets;
    for (const auto& f : sink.findings()) {
      if (f.analyzer == kName || f.title.find("cannot be scheduled") == std::string::npos) continue;
      if (f.title.find(kNodesDetail) != std::string::npos) continue;
      targets.push_back({f.id, f.title, f.remediation});
    }
    for (const auto& t : targets) {
      std::vector<std::string> parts;
      std::vector<std::string> evidence;
      std::string remediation;
      if (t.title.find("taint") != std::string::npos) {
        std::vector<NodeTaint> all;
        for (const Json* n : nodes) {
          auto taints = taintsOf(n);
          if (taints.empty()) continue;
          all.insert(all.end(), taints.begin(), taints.end());
          if (parts.size() >= kMaxListed) continue;
          parts.push_back(nameOf(n) + " has taint " + taintText(taints));
          addEvidence(evidence, cite(step, {"Node/" + nameOf(n)}));
        }
        // The scheduler did not name the taint: now the nodes do.
        std::string named = nameUnnamedTaints(t.remediation, all);
        if (named != t.remediation) remediation = named;
      }
      for (const char* resource : {"cpu", "memory", "ephemeral-storage", "pods"}) {
        if (t.title.find(std::string("insufficient ") + resource) == std::string::npos &&
            !(std::string_view(resource) == "pods" && t.title.find("too many pods") != std::string::npos)) {
          continue;
        }
        std::vector<std::string> sizes;
        for (const Json* n : nodes) {
          auto taints = taintsOf(n);
          if (std::any_of(taints.begin(), taints.end(), [](const NodeTaint& nt) { return nt.controlPlane(); })) continue;
          std::string alloc = scalarText(at(n, {"status", "allocatable", resource}));
          if (alloc.empty() || sizes.size() >= kMaxListed) continue;
          sizes.push_back(nameOf(n) + " " + alloc);
          addEvidence(evidence, cite(step, {"Node/" + nameOf(n)}));
        }
        if (!sizes.empty()) parts.push_back(std::string("allocatable ") + resource + ": " + join(sizes, ", "));
      }
      if (t.title.find("cordoned") != std::string::npos) {
        std::vector<std::string> cordoned;
        for (const Json* n : nodes) {
          if (boolAt(n, {"spec", "unschedulable"})) cordoned.push_back(nameOf(n));
        }
        if (!cordoned.empty()) parts.push_back("cordoned: " + join(cordoned, ", "));
      }
      if (parts.empty()) continue;
      sink.enrichFinding(t.id, evidence, std::string(kNodesDetail) + join(parts, "; "), 0, remediation);
    }
  }
};

}  // namespace

std::unique_ptr<agent::Analyzer> makeNodeAnalyzer() { return std::make_unique<NodeAnalyzer>(); }

}  // namespace opscopilot::tools
