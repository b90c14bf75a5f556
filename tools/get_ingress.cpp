// get_ingress: Ingresses of the namespace (one or all) and, for each backend
// Service they name, whether it exists and which ports it has.
#include <set>

#include "tools/kube_tool.h"
#include "tools/render.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

std::string renderBackend(const rapidjson::Value* backend, std::set<std::string>& services) {
  if (!backend) return "?";
  if (const auto* svc = kube::member(*backend, "service")) {
    std::string name(kube::stringMember(*svc, "name"));
    if (!name.empty()) services.insert(name);
    auto port = scalarText(valueAt(*svc, {"port", "number"}));
    if (port.empty()) port = scalarText(valueAt(*svc, {"port", "name"}));
    return name + ":" + port;
  }
  if (const auto* res = kube::member(*backend, "resource")) {
    return std::string(kube::stringMember(*res, "kind")) + "/" + std::string(kube::stringMember(*res, "name"));
  }
  return "?";
}

std::string renderIngress(const rapidjson::Value& ing, std::set<std::string>& services) {
  std::string out = "Ingress " + std::string(stringAt(ing, {"metadata", "name"}));
  auto cls = stringAt(ing, {"spec", "ingressClassName"});
  out += ": class " + (cls.empty() ? std::string("(default)") : std::string(cls));
  if (const auto* def = valueAt(ing, {"spec", "defaultBackend"})) out += "; default backend " + renderBackend(def, services);
  if (const auto* rules = valueAt(ing, {"spec", "rules"}); rules && rules->IsArray()) {
    for (const auto& r : rules->GetArray()) {
      auto host = kube::stringMember(r, "host");
      out += "\n  host " + (host.empty() ? std::string("*") : std::string(host)) + ":";
      const auto* paths = valueAt(r, {"http", "paths"});
      if (!paths || !paths->IsArray()) continue;
      std::vector<std::string> ps;
      for (const auto& p : paths->GetArray()) {
        auto path = kube::stringMember(p, "path");
        ps.push_back((path.empty() ? std::string("/") : std::string(path)) + " -> " +
                     renderBackend(kube::member(p, "backend"), services));
      }
      out += " " + join(ps, ", ");
    }
  }
  if (const auto* tls = valueAt(ing, {"spec", "tls"}); tls && tls->IsArray()) {
    std::vector<std::string> secrets;
    for (const auto& t : tls->GetArray()) secrets.emplace_back(kube::stringMember(t, "secretName"));
    if (!secrets.empty()) out += "\n  tls secrets " + join(secrets, ", ");
  }
  std::vector<std::string> addrs;
  if (const auto* lb = valueAt(ing, {"status", "loadBalancer", "ingress"}); lb && lb->IsArray()) {
    for (const auto& l : lb->GetArray()) {
      auto ip = kube::stringMember(l, "ip");
      addrs.emplace_back(ip.empty() ? kube::stringMember(l, "hostname") : ip);
    }
  }
  out += "\n  address " + (addrs.empty() ? std::string("none yet") : join(addrs, ", "));
  return out;
}

std::string renderServicePorts(const rapidjson::Value* ports) {
  if (!ports || !ports->IsArray() || ports->Empty()) return "no ports";
  std::vector<std::string> parts;
  for (const auto& p : ports->GetArray()) {
    auto n = kube::stringMember(p, "name");
    parts.push_back((n.empty() ? "" : std::string(n) + " ") + scalarText(kube::member(p, "port")) + "->" +
                    scalarText(kube::member(p, "targetPort")));
  }
  return "ports " + join(parts, ", ");
}

class GetIngressTool : public KubeTool {
 public:
  GetIngressTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings,
                 makeSpec("get_ingress",
                          "Reads an Ingress (or all of the namespace) with its rules and backends, and checks that "
                          "each backend Service exists and which ports it exposes.",
                          R"({"type":"object","properties":{
"name":{"type":"string","minLength":1,"maxLength":253}},
"additionalProperties":false})",
                          settings)) {}

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) override {
    std::string name;
    if (auto bad = checkOptionalName(args, &name)) return *bad;
    auto data = newData();
    auto& a = data->GetAllocator();
    setMember(*data, "items", rapidjson::Value(rapidjson::kArrayType));
    setMember(*data, "services", rapidjson::Value(rapidjson::kArrayType));
    agent::ToolOutput failure;
    auto read = call.getOrList(kinds::kIngress, name, 200, data, &failure);
    if (!read) return failure;
    std::vector<kube::ObjectPtr> ingresses = std::move(*read);
    (*data)["items"] = trimmedArray(ingresses, a);

    agent::ToolOutput out;
    std::set<std::string> services;
    for (const auto& i : ingresses) {
      out.evidence.push_back({"Ingress/" + std::string(i->name()), renderIngress(i->json(), services)});
    }
    std::vector<std::string> missing;
    std::vector<agent::EvidenceDraft> serviceEvidence;
    for (const auto& s : services) {
      auto svc = call.get(kinds::kService, s);
      if (!svc.ok() && !svc.error().isNotFound()) {
        out.evidence.push_back(call.failureEvidence(svc.error(), "get", kinds::kService, s));
        continue;
      }
      rapidjson::Value entry(rapidjson::kObjectType);
      entry.AddMember("name", jsonString(s, a), a);
      entry.AddMember("exists", svc.ok(), a);
      const auto* ports = svc.ok() ? (*svc)->at({"spec", "ports"}) : nullptr;
      // The Service's own port objects (name, port, targetPort, protocol):
      // a backend may name its port by number or by name.
      entry.AddMember("ports", ports && ports->IsArray() ? rapidjson::Value(*ports, a) : rapidjson::Value(rapidjson::kArrayType), a);
      (*data)["services"].PushBack(entry, a);
      if (svc.ok()) {
        serviceEvidence.push_back({"Service/" + s, "Service " + s + ": exists, " + renderServicePorts(ports)});
      } else {
        missing.push_back(s);
        // A missing backend is the likely cause; it goes right after the Ingress.
        out.evidence.push_back({"Service/" + s, "not found: Service " + s + " (an Ingress backend) does not exist in namespace " + call.ns()});
      }
    }
    for (auto& e : serviceEvidence) out.evidence.push_back(std::move(e));

    if (ingresses.empty()) {
      out.summary = "no Ingresses in namespace " + call.ns();
      out.evidence.push_back({"Ingress/*", out.summary});
    } else {
      out.summary = std::to_string(ingresses.size()) + " Ingress" + (ingresses.size() == 1 ? "" : "es") + ", " +
                    std::to_string(services.size()) + " backend Service" + (services.size() == 1 ? "" : "s");
      if (!missing.empty()) out.summary += "; missing: " + join(missing, ", ");
    }
    out.data = std::move(data);
    return out;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeGetIngressTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<GetIngressTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
