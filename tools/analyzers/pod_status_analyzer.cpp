// Pod status analyzer (list_pods): what the kubelet and the scheduler wrote
// into each pod's status. Pods of one controller with the same problem fold
// into one finding, so ten crash-looping replicas make one line, not ten.
#include <algorithm>
#include <map>

#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/fill.h"
#include "tools/analyzers/k8s_messages.h"
#include "tools/analyzers/pod_checks.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "pod-status";
constexpr std::size_t kMaxFoldedEvidence = 8;

PodIssue podIssue(const PodContext& pod, std::string cause, std::string title, Severity severity, int confidence,
                  std::string remediation) {
  PodIssue issue;
  issue.groupKey = (pod.target.empty() ? "pod/" + pod.name : pod.target) + "||" + cause;
  issue.draft.subject = "Pod/" + pod.name;
  issue.draft.title = std::move(title);
  issue.draft.severity = severity;
  issue.draft.confidence = confidence;
  issue.draft.evidence = pod.evidence;
  issue.draft.remediation = std::move(remediation);
  return issue;
}

agent::PlannedCall podEvents(const PodContext& pod, std::string reason) {
  return plannedCall("get_events", CallArgs().str("kind", "Pod").str("name", pod.name), std::move(reason));
}

// "memory 6Gi" (one container) or "memory 512Mi+1Gi" (several).
std::string requestOf(const Json* pod, const std::string& resource) {
  std::vector<std::string> values;
  for (const Json* c : listAt(pod, {"spec", "containers"})) {
    std::string v = scalarText(at(c, {"resources", "requests", resource}));
    if (!v.empty()) values.push_back(v);
  }
  return values.empty() ? std::string() : resource + " " + join(values, "+");
}

std::vector<std::string> claimsOf(const Json* pod) {
  std::vector<std::string> claims;
  for (const Json* v : listAt(pod, {"spec", "volumes"})) {
    std::string claim = strAt(v, {"persistentVolumeClaim", "claimName"});
    if (!claim.empty()) claims.push_back(claim);
  }
  return claims;
}

void checkScheduling(const PodContext& pod, std::vector<PodIssue>& out) {
  const Json* scheduled = condition(pod.pod, "PodScheduled");
  if (scheduled == nullptr || strAt(scheduled, {"status"}) != "False") return;
  std::string reason = strAt(scheduled, {"reason"});
  if (reason == "SchedulingGated") {
    std::vector<std::string> gates;
    for (const Json* g : listAt(pod.pod, {"spec", "schedulingGates"})) {
      if (!strAt(g, {"name"}).empty()) gates.push_back(strAt(g, {"name"}));
    }
    out.push_back(podIssue(pod, "gated", "Pod " + pod.name + fill(" is held back by ${gates}",
                                                                  {{"gates", gates.empty() ? "" : "scheduling gates " + join(gates, ", "),
                                                                    "scheduling gates"}}),
                           Severity::Medium, 85,
                           "The controller that added spec.schedulingGates removes them when ready; check it, or remove the "
                           "gates from the pod spec if nothing owns them."));
    return;
  }
  SchedulingDiagnosis d = parseSchedulingMessage(strAt(scheduled, {"message"}));
  PodSchedulingFacts facts;
  facts.ns = pod.ns;
  facts.pod = pod.name;
  facts.ownerTarget = pod.target;
  facts.nodeSelector = labelMapString(at(pod.pod, {"spec", "nodeSelector"}));
  facts.claims = claimsOf(pod.pod);
  for (const auto& r : d.reasons) {
    if (r.cause != SchedulingCause::InsufficientResource) continue;
    std::string req = requestOf(pod.pod, r.detail);
    if (!req.empty()) facts.requests.push_back(req);
  }
  std::string title = "Pod " + pod.name + " cannot be scheduled: " + d.summary;
  if (!facts.requests.empty()) title += "; it requests " + join(facts.requests, ", ");
  auto issue = podIssue(pod, "sched:" + d.summary, title, Severity::High, d.reasons.front().cause == SchedulingCause::Other ? 75 : 90,
                        schedulingRemediation(d, facts));
  issue.calls.push_back(podEvents(pod, "FailedScheduling events show the scheduler's latest verdict"));
  bool nodeCause = false;
  for (const auto& r : d.reasons) {
    nodeCause = nodeCause || (r.cause != SchedulingCause::UnboundClaims && r.cause != SchedulingCause::ClaimNotFound &&
                              r.cause != SchedulingCause::Other);
  }
  if (nodeCause) {
    issue.calls.push_back(plannedCall("get_nodes", CallArgs(), "compare node taints, labels and allocatable with what pod " +
                                                                   pod.name + " needs"));
  }
  if (d.has(SchedulingCause::UnboundClaims) || d.has(SchedulingCause::ClaimNotFound) ||
      d.has(SchedulingCause::VolumeNodeAffinity)) {
    for (const auto& claim : facts.claims) {
      issue.calls.push_back(plannedCall("get_storage", CallArgs().str("name", claim),
                                        "pod " + pod.name + " waits for PersistentVolumeClaim " + claim));
    }
  }
  if (d.has(SchedulingCause::InsufficientResource)) {
    issue.calls.push_back(plannedCall("get_quotas", CallArgs(), "LimitRange defaults can inflate the requests of pod " + pod.name));
  }
  out.push_back(std::move(issue));
}

void checkFailedPod(const PodContext& pod, std::vector<PodIssue>& out) {
  std::string reason = strAt(pod.pod, {"status", "reason"});
  std::string message = strAt(pod.pod, {"status", "message"});
  if (pod.phase == "Unknown") {
    std::string node = strAt(pod.pod, {"spec", "nodeName"});
    auto issue = podIssue(pod, "unknown",
                          fill("Pod ${pod} is in phase Unknown: ${node} stopped reporting it",
                               {{"pod", pod.name, "<pod>"}, {"node", node.empty() ? "" : "node " + node, "its node"}}),
                          Severity::Medium, 75,
                          fill("Check ${node} (`kubectl describe node ${name}`); once it is gone for good the controller "
                               "replaces the pod.",
                               {{"node", node.empty() ? "" : "node " + node, "the pod's node"}, {"name", node, "<node>"}}));
    if (!node.empty()) {
      issue.calls.push_back(plannedCall("get_nodes", CallArgs().strings("names", {node}), "the pod's node stopped reporting"));
    }
    out.push_back(std::move(issue));
    return;
  }
  if (pod.phase != "Failed" || reason.empty()) return;
  if (reason == "Evicted") {
    std::string resource = between(message, "low on resource: ", ".");
    std::string container = between(message, "Container ", " was using");
    std::string usage = between(message, " was using ", ",");
    std::string request = between(message, "request is ", ",");
    std::string title = "Pod " + pod.name + " was evicted: its node ran low on " + (resource.empty() ? "resources" : resource);
    if (!container.empty() && !usage.empty()) {
      title += "; container " + container + " used " + usage + (request.empty() ? "" : " with a request of " + request);
    }
    out.push_back(podIssue(pod, "evicted:" + resource, title, Severity::Medium, 90,
                           "Set resources.requests." + (resource.empty() ? std::string("memory") : resource) +
                               " of the containers close to their real usage (and a limit) in " +
                               (pod.target.empty() ? std::string("the pod spec") : "the pod template of " + pod.target) +
                               ", so the scheduler reserves it and the kubelet evicts others first; delete the evicted pod "
                               "objects once done (`kubectl delete pod " + pod.name + (pod.ns.empty() ? "" : " -n " + pod.ns) + "`)."));
    return;
  }
  std::string title = "Pod " + pod.name + " failed (" + reason + ")" +
                      (oneLine(message).empty() ? std::string() : ": " + shorten(oneLine(message), 140));
  std::string remediation = reason == "DeadlineExceeded"
                                ? "The pod ran longer than spec.activeDeadlineSeconds: raise it or make the work finish sooner."
                                : "Read the reason and the pod's events (`kubectl describe pod " + pod.name +
                                      (pod.ns.empty() ? "" : " -n " + pod.ns) + "`); the controller, if any, creates a new pod.";
  auto issue = podIssue(pod, "failed:" + reason, title, Severity::Medium, 80, remediation);
  issue.calls.push_back(podEvents(pod, "events explain why pod " + pod.name + " failed"));
  out.push_back(std::move(issue));
}

void checkStillCreating(const PodContext& pod, std::vector<PodIssue>& out) {
  if (pod.phase != "Pending") return;
  const Json* scheduled = condition(pod.pod, "PodScheduled");
  if (scheduled == nullptr || strAt(scheduled, {"status"}) != "True") return;
  for (const Json* cs : listAt(pod.pod, {"status", "containerStatuses"})) {
    if (strAt(cs, {"state", "waiting", "reason"}) != "ContainerCreating") continue;
    auto issue = podIssue(pod, "creating", "Pod " + pod.name + " is still creating its containers (ContainerCreating)",
                          Severity::Info, 50,
                          "If it stays so, the pod's events say why (FailedMount, FailedCreatePodSandBox).");
    issue.calls.push_back(podEvents(pod, "FailedMount or sandbox errors keep pods in ContainerCreating"));
    out.push_back(std::move(issue));
    return;
  }
}

// Bound to a node (spec.nodeName) yet Pending with no container status and
// no condition a kubelet writes: no kubelet has taken the pod up. Low on its
// own (a pod bound a moment ago looks the same); the node's state, read next,
// says whether the node is down (node analyzer).
void checkNeverStarted(const PodContext& pod, std::vector<PodIssue>& out) {
  if (pod.phase != "Pending" && !pod.phase.empty()) return;
  std::string node = strAt(pod.pod, {"spec", "nodeName"});
  if (node.empty() || !listAt(pod.pod, {"status", "containerStatuses"}).empty() ||
      !listAt(pod.pod, {"status", "initContainerStatuses"}).empty()) {
    return;
  }
  for (const Json* c : listAt(pod.pod, {"status", "conditions"})) {
    if (strAt(c, {"type"}) != "PodScheduled") return;  // a kubelet has written the pod's status
  }
  auto issue = podIssue(pod, "unstarted:" + node,
                        "Pod " + pod.name + " is bound to node " + node + ", whose kubelet has not started it: no container status",
                        Severity::Low, 60,
                        "Check node " + node + " (`kubectl describe node " + node + "`): a node that is down never starts "
                        "the pods bound to it; delete the pod to have its controller place a new one elsewhere.");
  issue.calls.push_back(plannedCall("get_nodes", CallArgs().strings("names", {node}), "pod " + pod.name + " waits on node " + node));
  out.push_back(std::move(issue));
}

std::string podOfSubject(const std::string& subject) {
  if (!subject.starts_with("Pod/")) return subject;
  auto slash = subject.find('/', 4);
  return subject.substr(4, slash == std::string::npos ? std::string::npos : slash - 4);
}

class PodStatusAnalyzer : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override {
    if (step.tool != "list_pods" || !step.ok) return;
    std::vector<PodIssue> issues;
    for (const Json* item : listAt(step.data, {"items"})) {
      if (!item->IsObject()) continue;
      PodContext pod;
      pod.pod = item;
      pod.name = nameOf(item);
      if (pod.name.empty()) continue;
      pod.ns = namespaceOf(item);
      pod.phase = strAt(item, {"status", "phase"});
      pod.owner = podOwner(item);
      pod.target = kubectlTarget(pod.owner);
      pod.evidence = cite(step, {"Pod/" + pod.name});
      std::size_t before = issues.size();
      checkScheduling(pod, issues);
      checkFailedPod(pod, issues);
      // A pod the kubelet failed as a whole (Evicted, DeadlineExceeded) has
      // killed containers that are consequences, not causes.
      bool podLevelFailure = pod.phase == "Failed" && !strAt(item, {"status", "reason"}).empty();
      if (!podLevelFailure) checkContainers(pod, issues);
      if (issues.size() == before) checkStillCreating(pod, issues);
      if (issues.size() == before) checkNeverStarted(pod, issues);
    }
    emit(issues, sink);
  }

 private:
  static void emit(std::vector<PodIssue>& issues, agent::AnalysisSink& sink) {
    std::map<std::string, std::size_t> first;
    std::vector<std::vector<std::string>> folded(issues.size());
    std::vector<bool> representative(issues.size(), true);
    for (std::size_t i = 0; i < issues.size(); ++i) {
      auto [it, inserted] = first.emplace(issues[i].groupKey, i);
      if (inserted) continue;
      representative[i] = false;
      PodIssue& rep = issues[it->second];
      folded[it->second].push_back(podOfSubject(issues[i].draft.subject));
      if (rep.draft.evidence.size() < kMaxFoldedEvidence) addEvidence(rep.draft.evidence, issues[i].draft.evidence);
    }
    for (std::size_t i = 0; i < issues.size(); ++i) {
      if (!representative[i]) continue;
      PodIssue& issue = issues[i];
      const auto& others = folded[i];
      if (!others.empty()) {
        std::vector<std::string> shown(others.begin(), others.begin() + std::min<std::size_t>(others.size(), 3));
        issue.draft.title += " (same in " + countOf(static_cast<std::int64_t>(others.size()), "more pod") + ": " + join(shown, ", ") +
                             (others.size() > shown.size() ? ", …" : "") + ")";
      }
      sink.addFinding(kName, std::move(issue.draft));
      for (auto& call : issue.calls) sink.suggest(std::move(call));
    }
  }
};

}  // namespace

std::unique_ptr<agent::Analyzer> makePodStatusAnalyzer() { return std::make_unique<PodStatusAnalyzer>(); }

}  // namespace opscopilot::tools
