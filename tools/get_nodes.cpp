// get_nodes: Nodes (cluster-scoped). A namespace reader is normally refused
// them; that is the expected answer and comes back as {"forbidden":true}
// with ok=false and an evidence item saying so.
#include <set>

#include "tools/kube_tool.h"
#include "tools/render.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

constexpr std::size_t kMaxNames = 20;

bool nodeReady(const rapidjson::Value& n) {
  const auto* conds = valueAt(n, {"status", "conditions"});
  if (!conds || !conds->IsArray()) return false;
  for (const auto& c : conds->GetArray()) {
    if (kube::stringMember(c, "type") == "Ready") return kube::stringMember(c, "status") == "True";
  }
  return false;
}

std::string renderNode(const rapidjson::Value& n) {
  std::string out = "Node " + std::string(stringAt(n, {"metadata", "name"})) + ": Ready " +
                    (nodeReady(n) ? "True" : "False");
  if (auto* u = valueAt(n, {"spec", "unschedulable"}); u && u->IsBool() && u->GetBool()) out += ", unschedulable";
  if (auto v = stringAt(n, {"status", "nodeInfo", "kubeletVersion"}); !v.empty()) out += "; kubelet " + std::string(v);
  if (auto c = renderResourceList(valueAt(n, {"status", "allocatable"})); !c.empty()) out += "; allocatable " + c;
  if (const auto* taints = valueAt(n, {"spec", "taints"}); taints && taints->IsArray() && !taints->Empty()) {
    std::vector<std::string> ts;
    for (const auto& t : taints->GetArray()) {
      std::string s(kube::stringMember(t, "key"));
      if (auto v = kube::stringMember(t, "value"); !v.empty()) s += "=" + std::string(v);
      ts.push_back(s + ":" + std::string(kube::stringMember(t, "effect")));
    }
    out += "; taints " + join(ts, ", ");
  }
  if (const auto* conds = valueAt(n, {"status", "conditions"}); conds && conds->IsArray()) {
    for (const auto& c : conds->GetArray()) {
      if (kube::stringMember(c, "type") == "Ready" && nodeReady(n)) continue;
      if (!isAbnormalCondition(c)) continue;
      out += "\n  condition " + std::string(kube::stringMember(c, "type")) + " " +
             std::string(kube::stringMember(c, "status"));
      if (auto r = kube::stringMember(c, "reason"); !r.empty()) out += " (" + std::string(r) + ")";
      if (auto m = kube::stringMember(c, "message"); !m.empty()) out += ": " + quoted(m);
    }
  }
  return out;
}

class GetNodesTool : public KubeTool {
 public:
  GetNodesTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings,
                 makeSpec("get_nodes",
                          "Reads Nodes (readiness, pressure conditions, taints, allocatable resources); usually "
                          "forbidden to a namespace's reader, which is reported as such.",
                          R"({"type":"object","properties":{
"names":{"type":"array","items":{"type":"string","minLength":1,"maxLength":253},"maxItems":20}},
"additionalProperties":false})",
                          settings)) {}

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) override {
    std::optional<std::vector<std::string>> names;
    if (args.HasMember("names")) {
      names = stringListArg(args, "names");
      if (!names || names->size() > kMaxNames) return invalidArgs("\"names\" must be an array of at most 20 node names");
      for (const auto& n : *names) {
        if (!isObjectName(n)) return invalidArgs("\"names\" holds \"" + n + "\", not a node name");
      }
    }
    auto forbiddenData = [] {
      auto d = newData();
      setMember(*d, "forbidden", rapidjson::Value(true));
      return d;
    };
    auto data = newData();
    auto& a = data->GetAllocator();
    setMember(*data, "items", rapidjson::Value(rapidjson::kArrayType));
    std::vector<kube::ObjectPtr> nodes;
    agent::ToolOutput out;
    if (names && !names->empty()) {
      for (const auto& n : *names) {
        auto node = call.get(kinds::kNode, n);
        if (node.ok()) {
          nodes.push_back(*node);
        } else if (node.error().isForbidden()) {
          return call.failed(node.error(), "get", kinds::kNode, n, forbiddenData());
        } else {
          out.evidence.push_back(call.failureEvidence(node.error(), "get", kinds::kNode, n));
        }
      }
    } else {
      auto listed = call.list(kinds::kNode, {}, 500);
      if (!listed.ok()) {
        return call.failed(listed.error(), "list", kinds::kNode, {},
                           listed.error().isForbidden() ? forbiddenData() : data);
      }
      nodes = std::move(listed->items);
    }
    std::stable_partition(nodes.begin(), nodes.end(), [](const kube::ObjectPtr& n) { return !nodeReady(n->json()); });
    (*data)["items"] = trimmedArray(nodes, a);
    std::size_t notReady = 0;
    for (const auto& n : nodes) {
      notReady += nodeReady(n->json()) ? 0 : 1;
      out.evidence.push_back({"Node/" + std::string(n->name()), renderNode(n->json())});
    }
    out.summary = std::to_string(nodes.size()) + (nodes.size() == 1 ? " node, " : " nodes, ") +
                  std::to_string(notReady) + " not ready";
    out.data = std::move(data);
    return out;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeGetNodesTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<GetNodesTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
