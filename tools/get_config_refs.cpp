// get_config_refs: whether named ConfigMaps and Secrets exist and which keys
// they hold. Never values: each object is dropped as soon as its key names
// are taken, and no value reaches data, evidence, summary or a log.
#include <algorithm>
#include <set>
#include <tuple>

#include "tools/kube_tool.h"
#include "tools/render.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

constexpr std::size_t kMaxNames = 20;

struct RefState {
  std::string name;
  bool exists = false;
  std::vector<std::string> keys;
  std::string type;  // a Secret's type: it says what the secret is for, not what it holds
};

std::vector<std::string> keysOf(const kube::Object& o) {
  std::set<std::string> keys;
  for (auto field : {"data", "binaryData"}) {
    const auto* m = o.at({field});
    if (!m || !m->IsObject()) continue;
    for (const auto& kv : m->GetObject()) keys.emplace(kv.name.GetString(), kv.name.GetStringLength());
  }
  return {keys.begin(), keys.end()};
}

class GetConfigRefsTool : public KubeTool {
 public:
  GetConfigRefsTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings,
                 makeSpec("get_config_refs",
                          "Checks whether named ConfigMaps and Secrets exist and lists their key names (never their "
                          "values).",
                          R"({"type":"object","properties":{
"configMaps":{"type":"array","items":{"type":"string","minLength":1,"maxLength":253},"maxItems":20},
"secrets":{"type":"array","items":{"type":"string","minLength":1,"maxLength":253},"maxItems":20}},
"additionalProperties":false})",
                          settings)) {}

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) override {
    std::vector<std::string> configMaps, secrets;
    for (auto [key, into] : {std::pair{"configMaps", &configMaps}, std::pair{"secrets", &secrets}}) {
      if (!args.HasMember(key)) continue;
      auto list = stringListArg(args, key);
      if (!list || list->size() > kMaxNames) {
        return invalidArgs(std::string("\"") + key + "\" must be an array of at most 20 names");
      }
      for (const auto& n : *list) {
        if (!isObjectName(n)) return invalidArgs(std::string("\"") + key + "\" holds \"" + n + "\", not a name");
        if (std::find(into->begin(), into->end(), n) == into->end()) into->push_back(n);
      }
    }
    if (configMaps.empty() && secrets.empty()) return invalidArgs("give \"configMaps\" and/or \"secrets\" to check");

    auto data = newData();
    auto& a = data->GetAllocator();
    agent::ToolOutput out;
    std::vector<agent::EvidenceDraft> present, problems;
    std::vector<std::string> forbidden, missing;
    std::size_t failures = 0, reads = 0;
    std::optional<kube::Error> lastError;

    for (auto [kind, names, key] : {std::tuple{&kinds::kConfigMap, &configMaps, "configMaps"},
                                    std::tuple{&kinds::kSecret, &secrets, "secrets"}}) {
      rapidjson::Value entries(rapidjson::kArrayType);
      for (const auto& n : *names) {
        ++reads;
        RefState state{n};
        std::string ref = std::string(kind->kind) + "/" + n;
        {
          auto obj = call.get(*kind, n);
          if (obj.ok()) {
            state.exists = true;
            state.keys = keysOf(**obj);
            state.type = std::string((*obj)->stringAt({"type"}));
          } else if (obj.error().isNotFound()) {
            state.exists = false;
          } else {
            ++failures;
            lastError = obj.error();
            if (obj.error().isForbidden() &&
                std::find(forbidden.begin(), forbidden.end(), kind->ref.resource) == forbidden.end()) {
              forbidden.push_back(kind->ref.resource);
            }
            problems.push_back(call.failureEvidence(obj.error(), "get", *kind, n));
            continue;
          }
        }  // the object, values and all, is gone here
        rapidjson::Value entry(rapidjson::kObjectType);
        entry.AddMember("name", jsonString(n, a), a);
        entry.AddMember("exists", state.exists, a);
        entry.AddMember("keys", stringArray(state.keys, a), a);
        entries.PushBack(entry, a);
        if (!state.exists) {
          missing.push_back(ref);
          problems.insert(problems.begin(), {ref, "not found: " + std::string(kind->kind) + " " + n + " does not exist in namespace " + call.ns()});
        } else {
          std::string text = std::string(kind->kind) + " " + n + ": exists";
          if (!state.type.empty()) text += " (type " + state.type + ")";
          text += state.keys.empty() ? ", no keys" : ", keys " + join(state.keys, ", ");
          if (kind == &kinds::kSecret) text += " (values withheld)";
          present.push_back({ref, std::move(text)});
        }
      }
      setMember(*data, key, std::move(entries));
    }
    if (!forbidden.empty()) setMember(*data, "forbidden", stringArray(forbidden, a));

    for (auto& e : problems) out.evidence.push_back(std::move(e));
    for (auto& e : present) out.evidence.push_back(std::move(e));
    out.data = std::move(data);
    if (failures == reads && lastError) {
      out.ok = false;
      out.errorReason = errorReasonFor(*lastError);
      out.summary = out.evidence.front().text;
      return out;
    }
    std::size_t found = reads - failures - missing.size();
    out.summary = std::to_string(found) + " of " + std::to_string(reads) + " exist";
    if (!missing.empty()) out.summary += "; missing: " + join(missing, ", ");
    if (failures) out.summary += "; " + std::to_string(failures) + " not readable";
    return out;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeGetConfigRefsTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<GetConfigRefsTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
