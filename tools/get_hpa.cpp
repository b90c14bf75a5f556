// get_hpa: HorizontalPodAutoscalers (autoscaling/v2) of the namespace, one
// or all, with their targets, metrics and conditions.
#include "tools/kube_tool.h"
#include "tools/render.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

// "cpu 90%/80%", "packets-per-second 1k/500 (Pods)".
std::string renderMetricValue(const rapidjson::Value* v) {
  if (!v) return "?";
  if (auto u = scalarText(kube::member(*v, "averageUtilization")); !u.empty()) return u + "%";
  if (auto s = scalarText(kube::member(*v, "averageValue")); !s.empty()) return s;
  if (auto s = scalarText(kube::member(*v, "value")); !s.empty()) return s;
  return "?";
}

std::string metricName(const rapidjson::Value& m) {
  auto type = kube::stringMember(m, "type");
  for (auto key : {"resource", "containerResource", "pods", "object", "external"}) {
    const auto* s = kube::member(m, key);
    if (!s) continue;
    std::string name(kube::stringMember(*s, "name"));
    if (name.empty()) name = std::string(stringAt(*s, {"metric", "name"}));
    return type == "Resource" ? name : name + " (" + std::string(type) + ")";
  }
  return std::string(type);
}

const rapidjson::Value* metricSource(const rapidjson::Value& m) {
  for (auto key : {"resource", "containerResource", "pods", "object", "external"}) {
    if (const auto* s = kube::member(m, key)) return s;
  }
  return nullptr;
}

std::string renderHpa(const rapidjson::Value& h) {
  std::string out = "HorizontalPodAutoscaler " + std::string(stringAt(h, {"metadata", "name"})) + ": target " +
                    std::string(stringAt(h, {"spec", "scaleTargetRef", "kind"})) + "/" +
                    std::string(stringAt(h, {"spec", "scaleTargetRef", "name"}));
  auto min = scalarText(valueAt(h, {"spec", "minReplicas"}));
  out += "; replicas " + std::to_string(intAt(h, {"status", "currentReplicas"}).value_or(0)) + " (desired " +
         std::to_string(intAt(h, {"status", "desiredReplicas"}).value_or(0)) + ", min " + (min.empty() ? "1" : min) +
         ", max " + scalarText(valueAt(h, {"spec", "maxReplicas"})) + ")";
  const auto* metrics = valueAt(h, {"spec", "metrics"});
  const auto* current = valueAt(h, {"status", "currentMetrics"});
  if (metrics && metrics->IsArray()) {
    std::vector<std::string> parts;
    for (rapidjson::SizeType i = 0; i < metrics->Size(); ++i) {
      const auto& m = (*metrics)[i];
      const auto* src = metricSource(m);
      std::string now = "?";
      if (current && current->IsArray() && i < current->Size()) {
        const auto* cs = metricSource((*current)[i]);
        if (cs) now = renderMetricValue(kube::member(*cs, "current"));
      }
      parts.push_back(metricName(m) + " " + now + "/" + renderMetricValue(src ? kube::member(*src, "target") : nullptr));
    }
    if (!parts.empty()) out += "; metrics (current/target) " + join(parts, ", ");
  }
  out += renderConditions(valueAt(h, {"status", "conditions"}), "  ", false);
  return out;
}

class GetHpaTool : public KubeTool {
 public:
  GetHpaTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings,
                 makeSpec("get_hpa",
                          "Reads a HorizontalPodAutoscaler (or all of the namespace) with its target, replica bounds, "
                          "current versus target metrics and conditions.",
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
    agent::ToolOutput failure;
    auto read = call.getOrList(kinds::kHorizontalPodAutoscaler, name, 200, data, &failure);
    if (!read) return failure;
    std::vector<kube::ObjectPtr> hpas = std::move(*read);
    (*data)["items"] = trimmedArray(hpas, a);

    agent::ToolOutput out;
    // Autoscalers that cannot scale or are pinned at a bound come first.
    std::stable_partition(hpas.begin(), hpas.end(), [](const kube::ObjectPtr& h) {
      const auto* conds = h->at({"status", "conditions"});
      if (!conds || !conds->IsArray()) return false;
      for (const auto& c : conds->GetArray()) {
        if (isAbnormalCondition(c)) return true;
      }
      return false;
    });
    std::vector<std::string> limited;
    for (const auto& h : hpas) {
      out.evidence.push_back({"HorizontalPodAutoscaler/" + std::string(h->name()), renderHpa(h->json())});
      const auto* conds = h->at({"status", "conditions"});
      if (!conds || !conds->IsArray()) continue;
      for (const auto& c : conds->GetArray()) {
        if (isAbnormalCondition(c)) {
          limited.push_back(std::string(h->name()) + " " + std::string(kube::stringMember(c, "type")) + " " +
                            std::string(kube::stringMember(c, "status")) + " (" +
                            std::string(kube::stringMember(c, "reason")) + ")");
          break;
        }
      }
    }
    if (hpas.empty()) {
      out.summary = "no HorizontalPodAutoscalers in namespace " + call.ns();
      out.evidence.push_back({"HorizontalPodAutoscaler/*", out.summary});
    } else {
      out.summary = std::to_string(hpas.size()) + " HorizontalPodAutoscaler" + (hpas.size() == 1 ? "" : "s");
      if (!limited.empty()) out.summary += "; " + join(limited, ", ");
    }
    out.data = std::move(data);
    return out;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeGetHpaTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<GetHpaTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
