// Ingress analyzer (get_ingress): routes whose backend Service does not
// exist or does not expose the port the rule names.
#include <algorithm>
#include <cctype>
#include <map>

#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "ingress";

struct ServiceInfo {
  bool exists = false;
  std::vector<std::string> numbers;  // "80"
  std::vector<std::string> names;    // "http"
};

std::map<std::string, ServiceInfo> servicesOf(const Json* data) {
  std::map<std::string, ServiceInfo> out;
  for (const Json* s : listAt(data, {"services"})) {
    std::string name = strAt(s, {"name"});
    const Json* exists = field(s, "exists");
    if (name.empty() || exists == nullptr || !exists->IsBool()) continue;
    ServiceInfo info;
    info.exists = exists->GetBool();
    for (const Json* p : listAt(s, {"ports"})) {
      if (p->IsObject()) {
        std::string number = scalarText(field(p, "port"));
        std::string portName = strAt(p, {"name"});
        if (!number.empty()) info.numbers.push_back(number);
        if (!portName.empty()) info.names.push_back(portName);
      } else if (p->IsString() && !str(p).empty() && !std::isdigit(static_cast<unsigned char>(str(p)[0]))) {
        info.names.push_back(str(p));
      } else {
        std::string number = scalarText(p);
        if (!number.empty()) info.numbers.push_back(number);
      }
    }
    out[name] = info;
  }
  return out;
}

struct Backend {
  std::string route;  // "shop.example.com/api" or "(default)"
  std::string service;
  std::string port;   // number or name
  bool named = false;
};

std::vector<Backend> backendsOf(const Json* ing) {
  std::vector<Backend> out;
  auto add = [&](const std::string& route, const Json* svc) {
    std::string name = strAt(svc, {"name"});
    if (name.empty()) return;
    Backend b{route, name, scalarText(at(svc, {"port", "number"})), false};
    if (b.port.empty()) {
      b.port = strAt(svc, {"port", "name"});
      b.named = !b.port.empty();
    }
    out.push_back(b);
  };
  add("(default backend)", at(ing, {"spec", "defaultBackend", "service"}));
  for (const Json* rule : listAt(ing, {"spec", "rules"})) {
    std::string host = strAt(rule, {"host"});
    for (const Json* path : listAt(rule, {"http", "paths"})) {
      std::string p = strAt(path, {"path"});
      add((host.empty() ? "*" : host) + (p.empty() ? "/" : p), at(path, {"backend", "service"}));
    }
  }
  return out;
}

class IngressAnalyzer : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override {
    if (step.tool != "get_ingress" || !step.ok) return;
    auto services = servicesOf(step.data);
    for (const Json* ing : listAt(step.data, {"items"})) {
      std::string name = nameOf(ing);
      if (name.empty()) continue;
      std::string ns = namespaceOf(ing);
      std::vector<std::string> problems;
      std::vector<std::string> fixes;
      std::vector<std::string> evidence = cite(step, {"Ingress/" + name});
      for (const Backend& b : backendsOf(ing)) {
        auto it = services.find(b.service);
        if (it == services.end()) continue;
        const ServiceInfo& s = it->second;
        if (!s.exists) {
          problems.push_back("routes " + b.route + " to Service " + b.service + ", which does not exist");
          fixes.push_back("create Service " + b.service + " or point the rule at an existing one");
          addEvidence(evidence, cite(step, {"Service/" + b.service}));
          continue;
        }
        const auto& known = b.named ? s.names : s.numbers;
        bool found = std::find(known.begin(), known.end(), b.port) != known.end();
        if (!found && !(s.numbers.empty() && s.names.empty()) && !b.port.empty()) {
          std::vector<std::string> exposed = s.numbers;
          for (const auto& n : s.names) exposed.push_back(n);
          problems.push_back("routes " + b.route + " to port " + b.port + " of Service " + b.service + ", which exposes " +
                             join(exposed, ", "));
          fixes.push_back("set the backend port of " + b.route + " to one of " + join(exposed, ", "));
          addEvidence(evidence, cite(step, {"Service/" + b.service}));
          continue;
        }
        sink.suggest(plannedCall("get_service", CallArgs().str("name", b.service),
                                 "check Service " + b.service + " behind Ingress " + name + " has ready endpoints"));
      }
      agent::FindingDraft d;
      d.subject = "Ingress/" + name;
      d.evidence = evidence;
      if (!problems.empty()) {
        d.title = "Ingress " + name + " " + problems.front() +
                  (problems.size() > 1 ? " (and " + countOf(static_cast<std::int64_t>(problems.size() - 1), "more broken route") + ")" : "");
        d.severity = Severity::High;
        d.confidence = 90;
        d.remediation = "Requests to those routes get 503/404 from the ingress controller: " + join(fixes, "; ") +
                        " (`kubectl edit ingress " + name + (ns.empty() ? "" : " -n " + ns) + "`).";
        sink.addFinding(kName, std::move(d));
      } else if (listAt(ing, {"status", "loadBalancer", "ingress"}).empty() && at(ing, {"status"}) != nullptr) {
        std::string cls = strAt(ing, {"spec", "ingressClassName"});
        d.title = "Ingress " + name + " has no address yet: no ingress controller has admitted it" +
                  (cls.empty() ? std::string(" (no ingressClassName)") : " (class " + cls + ")");
        d.severity = Severity::Low;
        d.confidence = 60;
        d.remediation = "Check an ingress controller serves this class (`kubectl get ingressclass`) and set "
                        "spec.ingressClassName accordingly.";
        sink.addFinding(kName, std::move(d));
      }
    }
  }
};

}  // namespace

std::unique_ptr<agent::Analyzer> makeIngressAnalyzer() { return std::make_unique<IngressAnalyzer>(); }

}  // namespace opscopilot::tools
