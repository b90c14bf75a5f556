// get_quotas: the ResourceQuotas and LimitRanges of the namespace, with the
// quota resources at or near their limit named first.
#include "tools/kube_tool.h"
#include "tools/render.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

constexpr double kNearLimit = 0.9;

struct QuotaRender {
  std::string text;
  std::vector<std::string> exhausted;  // "pods 10/10"
};

QuotaRender renderQuota(const rapidjson::Value& q) {
  QuotaRender r;
  std::vector<std::string> full, rest;
  const auto* hard = valueAt(q, {"status", "hard"});
  if (!hard || !hard->IsObject()) hard = valueAt(q, {"spec", "hard"});
  const auto* used = valueAt(q, {"status", "used"});
  if (hard && hard->IsObject()) {
    for (const auto& h : hard->GetObject()) {
      std::string res(h.name.GetString(), h.name.GetStringLength());
      std::string limit = scalarText(&h.value);
      std::string usage = used ? scalarText(kube::member(*used, res)) : "";
      std::string item = res + " " + (usage.empty() ? "?" : usage) + "/" + limit;
      auto u = parseQuantity(usage), l = parseQuantity(limit);
      if (u && l && *u >= *l) {
        full.push_back(item + " (at limit)");
        r.exhausted.push_back(item);
      } else if (u && l && *l > 0 && *u >= kNearLimit * *l) {
        full.push_back(item + " (near limit)");
      } else {
        rest.push_back(item);
      }
    }
  }
  for (auto& s : rest) full.push_back(std::move(s));
  r.text = "ResourceQuota " + std::string(stringAt(q, {"metadata", "name"})) + ": " +
           (full.empty() ? std::string("no hard limits") : join(full, ", "));
  return r;
}

std::string renderLimitRange(const rapidjson::Value& lr) {
  std::string out = "LimitRange " + std::string(stringAt(lr, {"metadata", "name"})) + ":";
  const auto* limits = valueAt(lr, {"spec", "limits"});
  if (!limits || !limits->IsArray() || limits->Empty()) return out + " no limits";
  for (const auto& l : limits->GetArray()) {
    out += "\n  " + std::string(kube::stringMember(l, "type"));
    for (auto field : {"default", "defaultRequest", "min", "max", "maxLimitRequestRatio"}) {
      if (auto s = renderResourceList(kube::member(l, field)); !s.empty()) out += "; " + std::string(field) + " " + s;
    }
  }
  return out;
}

class GetQuotasTool : public KubeTool {
 public:
  GetQuotasTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings,
                 makeSpec("get_quotas",
                          "Reads the namespace's ResourceQuotas (used versus hard limits) and LimitRanges (defaults, "
                          "minimums and maximums per container or pod).",
                          R"({"type":"object","properties":{},"additionalProperties":false})", settings)) {}

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value&) override {
    auto data = newData();
    auto& a = data->GetAllocator();
    setMember(*data, "resourceQuotas", rapidjson::Value(rapidjson::kArrayType));
    setMember(*data, "limitRanges", rapidjson::Value(rapidjson::kArrayType));

    auto quotas = call.list(kinds::kResourceQuota, {}, 100);
    auto ranges = call.list(kinds::kLimitRange, {}, 100);
    if (!quotas.ok() && !ranges.ok()) return call.failed(quotas.error(), "list", kinds::kResourceQuota, {}, data);

    agent::ToolOutput out;
    std::vector<std::string> exhausted;
    std::vector<agent::EvidenceDraft> healthy;
    if (quotas.ok()) {
      (*data)["resourceQuotas"] = trimmedArray(quotas->items, a);
      for (const auto& q : quotas->items) {
        auto r = renderQuota(q->json());
        for (auto& e : r.exhausted) exhausted.push_back(std::string(q->name()) + " " + e);
        (r.exhausted.empty() ? healthy : out.evidence).push_back({"ResourceQuota/" + std::string(q->name()), r.text});
      }
      for (auto& e : healthy) out.evidence.push_back(std::move(e));
    } else {
      out.evidence.push_back(call.failureEvidence(quotas.error(), "list", kinds::kResourceQuota));
    }
    if (ranges.ok()) {
      (*data)["limitRanges"] = trimmedArray(ranges->items, a);
      for (const auto& l : ranges->items) {
        out.evidence.push_back({"LimitRange/" + std::string(l->name()), renderLimitRange(l->json())});
      }
    } else {
      out.evidence.push_back(call.failureEvidence(ranges.error(), "list", kinds::kLimitRange));
    }

    auto countOf = [](const auto& r, const char* one) {
      if (!r.ok()) return std::string(one) + "s not readable";
      auto n = r->items.size();
      return std::to_string(n) + " " + one + (n == 1 ? "" : "s");
    };
    out.summary = countOf(quotas, "ResourceQuota") + ", " + countOf(ranges, "LimitRange");
    if (!exhausted.empty()) out.summary += "; at limit: " + join(exhausted, ", ");
    if (out.evidence.empty()) {
      out.evidence.push_back({"ResourceQuota/*", "no ResourceQuotas or LimitRanges in namespace " + call.ns()});
    }
    out.data = std::move(data);
    return out;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeGetQuotasTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<GetQuotasTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
