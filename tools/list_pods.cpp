// list_pods: the pods of the namespace matching a label selector and/or
// names, unhealthy first.
#include <algorithm>
#include <set>

#include "tools/kube_tool.h"
#include "tools/pod_status.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

constexpr std::int64_t kDefaultLimit = 50;
constexpr std::int64_t kMaxLimit = 500;
constexpr std::size_t kMaxSelectorBytes = 1024;

class ListPodsTool : public KubeTool {
 public:
  ListPodsTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings,
                 makeSpec("list_pods",
                          "Lists the pods of the namespace that match a label selector and/or names, with phase, "
                          "readiness, container states, restarts and last terminations, unhealthy pods first.",
                          R"json({"type":"object","properties":{
"selector":{"type":"string","maxLength":1024,"description":"label selector, e.g. app=web,tier in (a,b)"},
"names":{"type":"array","items":{"type":"string","minLength":1,"maxLength":253},"maxItems":50},
"limit":{"type":"integer","minimum":1,"maximum":500}},
"additionalProperties":false})json",
                          settings)) {}

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) override {
    kube::ListOptions opts;
    if (args.HasMember("selector")) {
      auto s = stringArg(args, "selector");
      if (!s || s->size() > kMaxSelectorBytes) return invalidArgs("\"selector\" must be a label selector string");
      opts.labelSelector = *s;
    }
    std::optional<std::set<std::string>> names;
    if (args.HasMember("names")) {
      auto list = stringListArg(args, "names");
      if (!list) return invalidArgs("\"names\" must be an array of pod names");
      for (const auto& n : *list) {
        if (!isObjectName(n)) return invalidArgs("\"names\" must hold pod names; \"" + n + "\" is not one");
      }
      names.emplace(list->begin(), list->end());
    }
    std::int64_t limit = std::clamp(intArg(args, "limit").value_or(kDefaultLimit), std::int64_t{1}, kMaxLimit);

    auto data = newData();
    auto& a = data->GetAllocator();
    setMember(*data, "items", rapidjson::Value(rapidjson::kArrayType));
    if (names && names->size() == 1 && opts.labelSelector.empty()) {
      opts.fieldSelector = "metadata.name=" + *names->begin();
    }
    auto listed = call.list(kinds::kPod, opts, 2000);
    if (!listed.ok()) return call.failed(listed.error(), "list", kinds::kPod, {}, data);

    std::vector<kube::ObjectPtr> pods;
    std::set<std::string> seen;
    for (auto& p : listed->items) {
      if (names && !names->contains(std::string(p->name()))) continue;
      seen.insert(std::string(p->name()));
      pods.push_back(std::move(p));
    }
    sortUnhealthyFirst(pods);
    std::size_t total = pods.size();
    if (pods.size() > static_cast<std::size_t>(limit)) pods.resize(static_cast<std::size_t>(limit));
    (*data)["items"] = trimmedArray(pods, a);

    agent::ToolOutput out;
    std::string scope = opts.labelSelector.empty() ? "" : " matching " + opts.labelSelector;
    if (names) {
      for (const auto& n : *names) {
        if (!seen.contains(n)) {
          out.evidence.push_back({"Pod/" + n, "not found: Pod " + n + " does not exist in namespace " + call.ns() +
                                                  (scope.empty() ? "" : " (or does not match " + opts.labelSelector + ")")});
        }
      }
    }
    for (const auto& p : pods) {
      if (out.evidence.size() >= kMaxEvidence) break;
      out.evidence.push_back({"Pod/" + std::string(p->name()), renderPod(p->json())});
    }
    if (total == 0 && !names) {
      out.evidence.push_back({"Pod/*", "no pods in namespace " + call.ns() + scope});
    }
    out.summary = total == 0 ? "no pods" + scope : podsSummary(pods);
    if (total > pods.size()) out.summary += " (showing " + std::to_string(pods.size()) + " of " + std::to_string(total) + ")";
    if (listed->truncated) out.summary += " (more pods exist than were read)";
    out.data = std::move(data);
    return out;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeListPodsTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<ListPodsTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
