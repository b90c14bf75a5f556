// Service analyzer (get_service): why a Service has no (ready) endpoints:
// its selector matches no pod, the matching pods are not ready, or it sends
// traffic to a port the pods do not expose. When the selector matches
// nothing it asks for the pods carrying the selector's key and, on that
// list_pods step, names the pods whose labels nearly match.
#include <algorithm>
#include <cctype>
#include <set>

#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/fill.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "service";
constexpr std::string_view kNoMatch = " matches no pods";
constexpr std::string_view kSimilar = "; similar pods: ";
constexpr std::string_view kEmptyValue = "(empty)";

struct EndpointCount {
  bool known = false;
  int ready = 0;
  int notReady = 0;
};

EndpointCount countEndpoints(const Json* data) {
  EndpointCount n;
  const Json* ep = field(data, "endpoints");
  if (ep != nullptr && ep->IsObject()) {
    n.known = true;
    for (const Json* s : listAt(ep, {"subsets"})) {
      n.ready += static_cast<int>(listAt(s, {"addresses"}).size());
      n.notReady += static_cast<int>(listAt(s, {"notReadyAddresses"}).size());
    }
  }
  auto slices = listAt(data, {"endpointSlices"});
  if (!slices.empty() && !n.known) {
    n.known = true;
    for (const Json* slice : slices) {
      for (const Json* e : listAt(slice, {"endpoints"})) {
        // A nil ready condition means ready.
        if (boolAt(e, {"conditions", "ready"}, true)) {
          ++n.ready;
        } else {
          ++n.notReady;
        }
      }
    }
  }
  return n;
}

bool podReady(const Json* pod) {
  const Json* c = condition(pod, "Ready");
  return c != nullptr && strAt(c, {"status"}) == "True";
}

struct ContainerPort {
  std::string name;
  std::string port;
  std::string container;
};

std::vector<ContainerPort> containerPorts(const std::vector<const Json*>& pods) {
  std::vector<ContainerPort> out;
  std::set<std::string> seen;
  for (const Json* pod : pods) {
    for (const Json* c : listAt(pod, {"spec", "containers"})) {
      for (const Json* p : listAt(c, {"ports"})) {
        ContainerPort cp{strAt(p, {"name"}), scalarText(field(p, "containerPort")), strAt(c, {"name"})};
        if (cp.port.empty() || !seen.insert(cp.container + "/" + cp.port + "/" + cp.name).second) continue;
        out.push_back(cp);
      }
    }
  }
  return out;
}

std::string describePorts(const std::vector<ContainerPort>& ports) {
  std::vector<std::string> parts;
  for (const auto& p : ports) {
    parts.push_back(p.port + (p.name.empty() ? "" : " (" + p.name + ")") +
                    fill(" in ${container}", {{"container", p.container, "an unnamed container"}}));
    if (parts.size() == 4) break;
  }
  return join(parts, ", ");
}

class ServiceAnalyzer : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override {
    if (!step.ok) return;
    if (step.tool == "get_service") service(step, sink);
    if (step.tool == "list_pods") nearMisses(step, sink);
  }

 private:
  static void service(const agent::StepView& step, agent::AnalysisSink& sink) {
    const Json* svc = field(step.data, "service");
    std::string name = nameOf(svc);
    if (name.empty()) return;
    std::string ns = namespaceOf(svc);
    std::string nsFlag = ns.empty() ? std::string() : " -n " + ns;
    agent::FindingDraft d;
    d.subject = "Service/" + name;
    d.evidence = cite(step, {"Service/" + name});
    addEvidence(d.evidence, cite(step, {"Endpoints/" + name}));
    if (strAt(svc, {"spec", "type"}) == "ExternalName") return;

    auto selector = stringMap(at(svc, {"spec", "selector"}));
    std::string selectorText = labelMapString(at(svc, {"spec", "selector"}));
    // How the selector reads in a sentence: an empty label value is shown as (empty).
    std::vector<std::string> shown;
    for (const auto& [k, v] : selector) shown.push_back(k + "=" + (v.empty() ? std::string(kEmptyValue) : v));
    std::string selectorWords = shown.empty() ? selectorText : join(shown, ",");
    EndpointCount endpoints = countEndpoints(step.data);
    if (selector.empty()) {
      if (endpoints.known && endpoints.ready == 0) {
        d.title = "Service " + name + " has no selector and no ready endpoints: nothing receives its traffic";
        d.severity = Severity::Medium;
        d.confidence = 80;
        d.remediation = "A Service without selector needs Endpoints/EndpointSlices maintained by hand or by a controller: "
                        "create them, or add spec.selector matching the backend pods.";
      } else {
        d.title = "Service " + name + " has no selector: its endpoints are managed manually";
        d.severity = Severity::Info;
        d.confidence = 90;
        d.remediation = "Nothing to fix if that is intended; check the manual Endpoints point at live backends.";
      }
      sink.addFinding(kName, std::move(d));
      return;
    }

    std::vector<const Json*> pods;
    for (const Json* p : listAt(step.data, {"pods"})) {
      if (p->IsObject() && labelsMatch(selector, at(p, {"metadata", "labels"}))) pods.push_back(p);
    }
    int readyPods = 0;
    for (const Json* p : pods) {
      if (podReady(p)) ++readyPods;
      if (d.evidence.size() < 5) addEvidence(d.evidence, cite(step, {"Pod/" + nameOf(p)}));
    }

    if (pods.empty() && (!endpoints.known || endpoints.ready + endpoints.notReady == 0)) {
      // The selector is right when a workload's pod template matches it: that
      // workload runs no pods (scaled to 0) or cannot create them.
      for (const Json* w : listAt(step.data, {"workloads"})) {
        std::string kind = strAt(w, {"kind"});
        std::string wname = strAt(w, {"name"});
        std::int64_t replicas = intAt(w, {"replicas"}).value_or(1);
        if (kind.empty() || wname.empty()) continue;
        addEvidence(d.evidence, cite(step, {kind + "/" + wname}));
        std::string lower = kind == "StatefulSet" ? "statefulset" : "deployment";
        if (replicas == 0) {
          d.title = "Service " + name + " has no endpoints: " + kind + " " + wname + ", whose pods its selector " + selectorWords +
                    " matches, is scaled to 0 replicas";
          d.severity = Severity::High;
          d.confidence = 90;
          d.remediation = "Scale it up (`kubectl scale " + lower + " " + wname + nsFlag + " --replicas=N`), and check what "
                          "scaled it down (an autoscaler, a deploy pipeline, kubectl scale): it may do so again.";
        } else {
          d.title = "Service " + name + " has no endpoints: " + kind + " " + wname + ", whose pods its selector " + selectorWords +
                    " matches, wants " + countOf(replicas, "replica") + " but none exist";
          d.severity = Severity::High;
          d.confidence = 80;
          d.remediation = "See why " + kind + " " + wname + " creates no pods (its conditions and events: quota, admission, "
                          "an invalid template).";
          sink.suggest(plannedCall("get_workload", CallArgs().str("kind", kind).str("name", wname),
                                   "why " + kind + " " + wname + " has no pods"));
        }
        sink.addFinding(kName, std::move(d));
        return;
      }
      d.title = "Service " + name + " has no endpoints: selector " + selectorWords + std::string(kNoMatch);
      d.severity = Severity::High;
      d.confidence = 90;
      d.remediation = "Make spec.selector equal the labels of the pods that should serve it (compare `kubectl get pods" + nsFlag +
                      " --show-labels`), or fix the labels in their pod template.";
      sink.addFinding(kName, std::move(d));
      sink.suggest(plannedCall("list_pods", CallArgs().str("selector", selector.front().first),
                               "find pods whose labels nearly match Service " + name + "'s selector " + selectorWords));
      return;
    }
    sink.suggest(plannedCall("list_pods", CallArgs().str("selector", selectorText), "the pods behind Service " + name));
    bool noReady = endpoints.known ? endpoints.ready == 0 : readyPods == 0;
    if (noReady && (readyPods == 0 || !endpoints.known)) {
      d.title = "Service " + name + " has no ready endpoints: " +
                (pods.empty() ? std::string("its endpoints are all not ready")
                              : "none of the " + countOf(static_cast<std::int64_t>(pods.size()), "pod") + " matching " +
                                    selectorWords + " is ready");
      d.severity = Severity::High;
      d.confidence = 85;
      d.remediation = "The Service only routes to Ready pods: fix why its pods are not ready (see the pod findings: crashes, "
                      "failing readiness probes).";
      sink.addFinding(kName, std::move(d));
      return;
    }
    if (checkPorts(svc, pods, name, nsFlag, d, sink)) return;
    if (endpoints.known && endpoints.ready == 0 && readyPods > 0) {
      d.title = "Service " + name + " has no ready endpoints although " + countOf(readyPods, "matching pod") + " are ready";
      d.severity = Severity::Medium;
      d.confidence = 60;
      d.remediation = "Check that the Service's targetPort names exist in the pods (`kubectl get endpointslices -l "
                      "kubernetes.io/service-name=" + name + nsFlag + "`) and that the endpoints controller runs.";
      sink.addFinding(kName, std::move(d));
      return;
    }
    int total = static_cast<int>(pods.size());
    if (total > 0 && readyPods < total) {
      d.title = "Service " + name + ": " + std::to_string(total - readyPods) + " of " + std::to_string(total) +
                " matching pods are not ready";
      d.severity = Severity::Low;
      d.confidence = 70;
      d.remediation = "Traffic goes to the ready pods only; see the pod findings for the others.";
      sink.addFinding(kName, std::move(d));
    }
  }

  // Adds a finding and returns true when a Service port targets a port no
  // pod declares.
  static bool checkPorts(const Json* svc, const std::vector<const Json*>& pods, const std::string& name, const std::string& nsFlag,
                         agent::FindingDraft& d, agent::AnalysisSink& sink) {
    auto ports = containerPorts(pods);
    for (const Json* sp : listAt(svc, {"spec", "ports"})) {
      std::string port = scalarText(field(sp, "port"));
      const Json* target = field(sp, "targetPort");
      std::string targetText = scalarText(target);
      if (targetText.empty()) targetText = port;
      bool named = target != nullptr && target->IsString() && !targetText.empty() &&
                   !std::isdigit(static_cast<unsigned char>(targetText[0]));
      bool found = false;
      for (const auto& cp : ports) found = found || (named ? cp.name == targetText : cp.port == targetText);
      if (found || (!named && ports.empty()) || pods.empty()) continue;
      std::string patch = "`kubectl patch service " + name + nsFlag +
                          " --type json -p '[{\"op\":\"replace\",\"path\":\"/spec/ports/0/targetPort\",\"value\":<port>}]'`";
      std::string portWords = fill("port ${port}", {{"port", port, "(no number)"}});
      if (named) {
        d.title = "Service " + name + " " + portWords + " targets named port " + targetText +
                  ", which no container of its pods declares" + (ports.empty() ? "" : " (they expose " + describePorts(ports) + ")");
        d.severity = Severity::High;
        d.confidence = 85;
      } else {
        d.title = "Service " + name + " " + portWords +
                  fill(" sends traffic to targetPort ${target}", {{"target", targetText, "(none set)"}}) +
                  ", but its pods expose " + describePorts(ports);
        d.severity = Severity::High;
        d.confidence = 70;
      }
      d.remediation = "Point targetPort at the port the app listens on (" + patch + "), or name the container port " +
                      "to match; then check `kubectl get endpoints " + name + nsFlag + "`.";
      sink.addFinding(kName, std::move(d));
      return true;
    }
    return false;
  }

  // On a list_pods step: names the pods whose labels nearly match the
  // selector of a Service this analyzer found matching nothing.
  void nearMisses(const agent::StepView& step, agent::AnalysisSink& sink) const {
    struct Target {
      std::string id;
      std::string service;
      std::vector<std::pair<std::string, std::string>> selector;
    };
    std::vector<Target> targets;
    for (const auto& f : sink.findings()) {
      if (f.analyzer != kName || !f.subject.starts_with("Service/")) continue;
      if (f.title.find(kNoMatch) == std::string::npos || f.title.find(kSimilar) != std::string::npos) continue;
      std::string sel = between(f.title, " selector ", std::string(kNoMatch));
      Target t{f.id, f.subject.substr(8), {}};
      std::size_t start = 0;
      while (start < sel.size()) {
        auto comma = sel.find(',', start);
        std::string kv = sel.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        auto eq = kv.find('=');
        if (eq != std::string::npos) {
          std::string v = kv.substr(eq + 1);
          t.selector.emplace_back(kv.substr(0, eq), v == kEmptyValue ? std::string() : v);
        }
        start = comma == std::string::npos ? sel.size() : comma + 1;
      }
      if (!t.selector.empty()) targets.push_back(std::move(t));
    }
    for (const auto& t : targets) {
      struct Candidate {
        std::string text;  // "web-v2-7c9 has app=web-v2"
        std::vector<std::pair<std::string, std::string>> labels;  // the differing selector keys, their values
        std::string ns;
        std::vector<std::string> evidence;
        int score = 0;
      };
      std::vector<Candidate> candidates;
      for (const Json* pod : listAt(step.data, {"items"})) {
        if (nameOf(pod).empty()) continue;
        const Json* labels = at(pod, {"metadata", "labels"});
        Candidate c;
        std::vector<std::string> differing;
        bool sharesKey = false;
        for (const auto& [k, v] : t.selector) {
          const Json* have = field(labels, k);
          if (have == nullptr) continue;
          sharesKey = true;
          std::string value = str(have);
          if (value == v) {
            c.score += 2;
            continue;
          }
          if (value.empty()) continue;  // an empty label value is no better a match
          differing.push_back(k + "=" + value);
          c.labels.emplace_back(k, value);
          // "web" vs "web-v2": a renamed or versioned label is the usual slip.
          if (value.starts_with(v) || v.starts_with(value)) c.score += 1;
        }
        if (!sharesKey || differing.empty()) continue;
        c.text = nameOf(pod) + " has " + join(differing, ",");
        c.ns = namespaceOf(pod);
        c.evidence = cite(step, {"Pod/" + nameOf(pod)});
        candidates.push_back(std::move(c));
      }
      if (candidates.empty()) continue;
      std::stable_sort(candidates.begin(), candidates.end(),
                       [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
      if (candidates.size() > 3) candidates.resize(3);
      std::vector<std::string> similar;
      std::vector<std::string> evidence;
      for (const auto& c : candidates) {
        similar.push_back(c.text);
        addEvidence(evidence, c.evidence);
      }
      const Candidate& best = candidates.front();
      std::string patch;
      for (const auto& [k, v] : best.labels) patch += (patch.empty() ? "" : ",") + std::string("\"") + k + "\":\"" + v + "\"";
      std::string remediation = "If those pods should serve it, point the Service at their labels: `kubectl patch service " +
                                t.service + (best.ns.empty() ? "" : " -n " + best.ns) + " -p '{\"spec\":{\"selector\":{" + patch +
                                "}}}'`; otherwise fix the labels in their pod template.";
      sink.enrichFinding(t.id, evidence, std::string(kSimilar) + join(similar, "; "), 95, remediation);
    }
  }
};

}  // namespace

std::unique_ptr<agent::Analyzer> makeServiceAnalyzer() { return std::make_unique<ServiceAnalyzer>(); }

}  // namespace opscopilot::tools
