// read_configmap_data (gated, risk Medium): the data of one ConfigMap. It
// runs only after a person approved it; the executor redacts what it returns.
#include "tools/kube_tool.h"
#include "tools/render.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

// "key: value", or "key: |" followed by indented lines for multi-line values.
std::string renderEntry(std::string_view key, std::string_view value) {
  std::string out = "\n  " + std::string(key) + ":";
  if (value.find('\n') == std::string_view::npos) return out + " " + std::string(value);
  out += " |";
  std::size_t start = 0;
  while (start < value.size()) {
    auto nl = value.find('\n', start);
    auto line = value.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    out += "\n    " + std::string(line);
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return out;
}

class ReadConfigMapDataTool : public KubeTool {
 public:
  ReadConfigMapDataTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings, gatedSpec(settings)) {}

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) override {
    std::string name;
    if (auto bad = checkRequiredName(args, "name", &name)) return *bad;
    auto data = newData();
    auto& a = data->GetAllocator();
    setMember(*data, "name", jsonString(name, a));
    setMember(*data, "data", rapidjson::Value(rapidjson::kObjectType));

    auto cm = call.get(kinds::kConfigMap, name);
    if (!cm.ok()) return call.failed(cm.error(), "get", kinds::kConfigMap, name, data);

    std::string text = "ConfigMap " + name + ":";
    std::size_t keys = 0;
    if (const auto* d = (*cm)->at({"data"}); d && d->IsObject()) {
      for (const auto& kv : d->GetObject()) {
        ++keys;
        std::string_view k(kv.name.GetString(), kv.name.GetStringLength());
        std::string v = scalarText(&kv.value);
        (*data)["data"].AddMember(jsonString(k, a), jsonString(v, a), a);
        text += renderEntry(k, v);
      }
    }
    if (const auto* b = (*cm)->at({"binaryData"}); b && b->IsObject()) {
      for (const auto& kv : b->GetObject()) {
        ++keys;
        std::string_view k(kv.name.GetString(), kv.name.GetStringLength());
        // Binary values stay out: they are not text a person or model reads.
        std::string note = "(binary, " + std::to_string(kv.value.IsString() ? kv.value.GetStringLength() : 0) +
                           " bytes of base64)";
        (*data)["data"].AddMember(jsonString(k, a), jsonString(note, a), a);
        text += renderEntry(k, note);
      }
    }
    if (keys == 0) text += " no keys";
    agent::ToolOutput out;
    out.summary = "ConfigMap " + name + ": " + std::to_string(keys) + (keys == 1 ? " key" : " keys");
    out.evidence.push_back({"ConfigMap/" + name, std::move(text)});
    out.data = std::move(data);
    return out;
  }

 private:
  static agent::ToolSpec gatedSpec(const ToolSettings& settings) {
    auto s = makeSpec("read_configmap_data",
                      "Reads the keys and values of one ConfigMap (needs a person's approval; values are redacted).",
                      R"({"type":"object","properties":{
"name":{"type":"string","minLength":1,"maxLength":253}},
"required":["name"],"additionalProperties":false})",
                      settings);
    s.gated = true;
    s.risk = "Medium";
    return s;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeReadConfigMapDataTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<ReadConfigMapDataTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
