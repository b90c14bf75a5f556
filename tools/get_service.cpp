// get_service: a Service, its Endpoints and EndpointSlices, and the pods its
// selector matches.
#include "tools/kube_tool.h"
#include "tools/pod_status.h"
#include "tools/render.h"
#include "tools/selector.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

constexpr std::size_t kMaxSliceEvidence = 2;
constexpr std::size_t kMaxNamed = 5;

std::string renderPorts(const rapidjson::Value* ports, bool service) {
  if (!ports || !ports->IsArray()) return "none";
  std::vector<std::string> parts;
  for (const auto& p : ports->GetArray()) {
    std::string s;
    if (auto n = kube::stringMember(p, "name"); !n.empty()) s += std::string(n) + " ";
    s += scalarText(kube::member(p, "port"));
    if (service) {
      if (auto t = scalarText(kube::member(p, "targetPort")); !t.empty()) s += "->" + t;
      if (auto np = scalarText(kube::member(p, "nodePort")); !np.empty()) s += " (nodePort " + np + ")";
    }
    auto proto = kube::stringMember(p, "protocol");
    s += "/" + std::string(proto.empty() ? "TCP" : proto);
    parts.push_back(std::move(s));
  }
  return parts.empty() ? "none" : join(parts, ", ");
}

std::string renderService(const rapidjson::Value& svc, const std::string& selector) {
  std::string out = "Service " + std::string(stringAt(svc, {"metadata", "name"})) + ": type " +
                    std::string(stringAt(svc, {"spec", "type"}));
  if (auto ip = stringAt(svc, {"spec", "clusterIP"}); !ip.empty()) out += ", clusterIP " + std::string(ip);
  if (auto ext = stringAt(svc, {"spec", "externalName"}); !ext.empty()) out += ", externalName " + std::string(ext);
  out += "; ports " + renderPorts(valueAt(svc, {"spec", "ports"}), true);
  out += selector.empty() ? "; no selector (endpoints are managed by hand)" : "; selector " + selector;
  return out;
}

std::string targetName(const rapidjson::Value& address) {
  auto kind = stringAt(address, {"targetRef", "kind"});
  auto name = stringAt(address, {"targetRef", "name"});
  if (name.empty()) return std::string(kube::stringMember(address, "ip"));
  return (kind == "Pod" || kind.empty() ? "" : std::string(kind) + "/") + std::string(name);
}

std::string namedList(const std::vector<std::string>& names) {
  if (names.empty()) return "";
  std::vector<std::string> shown(names.begin(), names.begin() + std::min(names.size(), kMaxNamed));
  return " (" + join(shown, ", ") + (names.size() > kMaxNamed ? ", ..." : "") + ")";
}

struct EndpointCounts {
  std::size_t ready = 0, notReady = 0;
};

std::string renderEndpoints(const rapidjson::Value& ep, EndpointCounts& counts) {
  std::vector<std::string> ready, notReady, ports;
  const auto* subsets = valueAt(ep, {"subsets"});
  if (subsets && subsets->IsArray()) {
    for (const auto& s : subsets->GetArray()) {
      for (auto [key, into] : {std::pair{"addresses", &ready}, std::pair{"notReadyAddresses", &notReady}}) {
        const auto* list = kube::member(s, key);
        if (!list || !list->IsArray()) continue;
        for (const auto& addr : list->GetArray()) into->push_back(targetName(addr));
      }
      ports.push_back(renderPorts(kube::member(s, "ports"), false));
    }
  }
  counts.ready += ready.size();
  counts.notReady += notReady.size();
  std::string out = "Endpoints " + std::string(stringAt(ep, {"metadata", "name"})) + ": ";
  if (ready.empty() && notReady.empty()) return out + "no addresses";
  out += std::to_string(ready.size()) + " ready" + namedList(ready) + ", " + std::to_string(notReady.size()) +
         " not ready" + namedList(notReady);
  return out + "; ports " + (ports.empty() ? "none" : join(ports, ", "));
}

std::string renderSlice(const rapidjson::Value& slice) {
  std::vector<std::string> ready, notReady;
  const auto* eps = valueAt(slice, {"endpoints"});
  if (eps && eps->IsArray()) {
    for (const auto& e : eps->GetArray()) {
      const auto* r = valueAt(e, {"conditions", "ready"});
      // An absent ready condition means ready (discovery.k8s.io/v1).
      bool isReady = !r || !r->IsBool() || r->GetBool();
      std::string name(stringAt(e, {"targetRef", "name"}));
      if (name.empty()) {
        const auto* addrs = kube::member(e, "addresses");
        name = addrs && addrs->IsArray() && !addrs->Empty() ? scalarText(&(*addrs)[0]) : "?";
      }
      (isReady ? ready : notReady).push_back(std::move(name));
    }
  }
  std::string out = "EndpointSlice " + std::string(stringAt(slice, {"metadata", "name"})) + ": addressType " +
                    std::string(stringAt(slice, {"addressType"})) + "; " + std::to_string(ready.size()) + " ready" +
                    namedList(ready) + ", " + std::to_string(notReady.size()) + " not ready" + namedList(notReady);
  return out + "; ports " + renderPorts(valueAt(slice, {"ports"}), false);
}

// Whether every key=value of the selector is among the template's labels.
bool selectsTemplate(const rapidjson::Value& selector, const rapidjson::Value* labels) {
  if (!selector.IsObject() || selector.MemberCount() == 0 || !labels || !labels->IsObject()) return false;
  for (const auto& m : selector.GetObject()) {
    const auto* v = kube::member(*labels, m.name.GetString());
    if (!v || !v->IsString() || !m.value.IsString() || std::string_view(v->GetString()) != m.value.GetString()) return false;
  }
  return true;
}

class GetServiceTool : public KubeTool {
 public:
  GetServiceTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings,
                 makeSpec("get_service",
                          "Reads a Service with its Endpoints, EndpointSlices and the pods its selector matches, to "
                          "explain why it has or lacks ready endpoints.",
                          R"({"type":"object","properties":{
"name":{"type":"string","minLength":1,"maxLength":253}},
"required":["name"],"additionalProperties":false})",
                          settings)) {}

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) override {
    std::string name;
    if (auto bad = checkRequiredName(args, "name", &name)) return *bad;
    auto data = newData();
    auto& a = data->GetAllocator();
    setMember(*data, "service", rapidjson::Value(rapidjson::kNullType));
    setMember(*data, "endpoints", rapidjson::Value(rapidjson::kNullType));
    setMember(*data, "endpointSlices", rapidjson::Value(rapidjson::kArrayType));
    setMember(*data, "pods", rapidjson::Value(rapidjson::kArrayType));

    auto svc = call.get(kinds::kService, name);
    if (!svc.ok()) return call.failed(svc.error(), "get", kinds::kService, name, data);
    (*data)["service"] = trimmed((*svc)->json(), a);
    const auto* selectorMap = (*svc)->at({"spec", "selector"});
    std::string selector = selectorMap ? matchLabelsToString(*selectorMap) : "";

    agent::ToolOutput out;
    out.evidence.push_back({"Service/" + name, renderService((*svc)->json(), selector)});
    std::vector<agent::EvidenceDraft> denied;
    EndpointCounts counts;
    bool endpointsKnown = false;

    if (auto ep = call.get(kinds::kEndpoints, name); ep.ok()) {
      (*data)["endpoints"] = trimmed((*ep)->json(), a);
      out.evidence.push_back({"Endpoints/" + name, renderEndpoints((*ep)->json(), counts)});
      endpointsKnown = true;
    } else if (ep.error().isNotFound()) {
      out.evidence.push_back({"Endpoints/" + name, "Endpoints " + name + ": none exist for this Service"});
      endpointsKnown = true;
    } else {
      denied.push_back(call.failureEvidence(ep.error(), "get", kinds::kEndpoints, name));
    }

    kube::ListOptions sliceOpts;
    sliceOpts.labelSelector = "kubernetes.io/service-name=" + name;
    if (auto slices = call.list(kinds::kEndpointSlice, sliceOpts, 100); slices.ok()) {
      (*data)["endpointSlices"] = trimmedArray(slices->items, a);
      for (std::size_t i = 0; i < slices->items.size() && i < kMaxSliceEvidence; ++i) {
        out.evidence.push_back({"EndpointSlice/" + std::string(slices->items[i]->name()),
                                renderSlice(slices->items[i]->json())});
      }
    } else {
      denied.push_back(call.failureEvidence(slices.error(), "list", kinds::kEndpointSlice));
    }

    std::vector<kube::ObjectPtr> pods;
    bool podsKnown = selector.empty();
    if (!selector.empty()) {
      kube::ListOptions podOpts;
      podOpts.labelSelector = selector;
      if (auto listed = call.list(kinds::kPod, podOpts, 500); listed.ok()) {
        pods = std::move(listed->items);
        sortUnhealthyFirst(pods);
        (*data)["pods"] = trimmedArray(pods, a);
        podsKnown = true;
      } else {
        denied.push_back(call.failureEvidence(listed.error(), "list", kinds::kPod));
      }
    }
    // What could not be read matters more than the fifth healthy pod.
    for (auto& d : denied) out.evidence.push_back(std::move(d));
    for (const auto& p : pods) {
      if (out.evidence.size() >= kMaxEvidence) break;
      out.evidence.push_back({"Pod/" + std::string(p->name()), renderPod(p->json())});
    }
    if (!selector.empty() && podsKnown && pods.empty()) {
      out.evidence.push_back({"Pod/*", "no pods in namespace " + call.ns() + " match the selector " + selector});
      // No pods: do the workloads whose pod template the selector matches
      // run none (scaled to 0), or fail to create them?
      setMember(*data, "workloads", rapidjson::Value(rapidjson::kArrayType));
      for (const ApiKind* kind : {&kinds::kDeployment, &kinds::kStatefulSet}) {
        auto listed = call.list(*kind, {}, 500);
        if (!listed.ok()) continue;  // the selector finding stands without them
        for (const auto& w : listed->items) {
          if (!selectsTemplate(*selectorMap, w->at({"spec", "template", "metadata", "labels"}))) continue;
          rapidjson::Value v(rapidjson::kObjectType);
          const std::string kindName(kind->kind);
          v.AddMember("kind", jsonString(kindName, a), a);
          v.AddMember("name", jsonString(std::string(w->name()), a), a);
          v.AddMember("replicas", rapidjson::Value(w->intAt({"spec", "replicas"}).value_or(1)), a);
          v.AddMember("readyReplicas", rapidjson::Value(w->intAt({"status", "readyReplicas"}).value_or(0)), a);
          (*data)["workloads"].PushBack(v, a);
          out.evidence.push_back({kindName + "/" + std::string(w->name()),
                                  kindName + " " + std::string(w->name()) + ": spec.replicas " +
                                      std::to_string(w->intAt({"spec", "replicas"}).value_or(1)) +
                                      "; its pod template's labels match the selector " + selector});
        }
      }
    }

    out.summary = "Service " + name;
    if (selector.empty()) {
      out.summary += ": no selector";
    } else if (podsKnown) {
      out.summary += ": selector " + selector + " matches " + podsSummary(pods);
    }
    if (endpointsKnown) {
      out.summary += counts.ready + counts.notReady == 0
                         ? "; no endpoints"
                         : "; endpoints " + std::to_string(counts.ready) + " ready, " + std::to_string(counts.notReady) +
                               " not ready";
    }
    if (!denied.empty()) out.summary += "; some reads were forbidden or failed";
    out.data = std::move(data);
    return out;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeGetServiceTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<GetServiceTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
