#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

bool keepAnnotation(std::string_view key) {
  return key.starts_with("sim.opscopilot.io/") || key == "deployment.kubernetes.io/revision" ||
         key == "storageclass.kubernetes.io/is-default-class";
}

}  // namespace

std::shared_ptr<rapidjson::Document> newData() {
  auto d = std::make_shared<rapidjson::Document>();
  d->SetObject();
  return d;
}

rapidjson::Value trimmed(const rapidjson::Value& object, JsonAlloc& a) {
  rapidjson::Value copy(object, a);
  if (!copy.IsObject()) return copy;
  auto meta = copy.FindMember("metadata");
  if (meta == copy.MemberEnd() || !meta->value.IsObject()) return copy;
  meta->value.RemoveMember("managedFields");
  auto ann = meta->value.FindMember("annotations");
  if (ann != meta->value.MemberEnd() && ann->value.IsObject()) {
    for (auto it = ann->value.MemberBegin(); it != ann->value.MemberEnd();) {
      if (keepAnnotation(std::string_view(it->name.GetString(), it->name.GetStringLength()))) {
        ++it;
      } else {
        it = ann->value.EraseMember(it);
      }
    }
    if (ann->value.MemberCount() == 0) meta->value.RemoveMember("annotations");
  }
  return copy;
}

rapidjson::Value trimmedArray(const std::vector<kube::ObjectPtr>& objects, JsonAlloc& a) {
  rapidjson::Value arr(rapidjson::kArrayType);
  for (const auto& o : objects) arr.PushBack(trimmed(o->json(), a), a);
  return arr;
}

rapidjson::Value jsonString(std::string_view s, JsonAlloc& a) {
  return rapidjson::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

rapidjson::Value stringArray(const std::vector<std::string>& values, JsonAlloc& a) {
  rapidjson::Value arr(rapidjson::kArrayType);
  for (const auto& v : values) arr.PushBack(jsonString(v, a), a);
  return arr;
}

void setMember(rapidjson::Document& doc, std::string_view key, rapidjson::Value value) {
  auto& a = doc.GetAllocator();
  if (auto it = doc.FindMember(rapidjson::StringRef(key.data(), key.size())); it != doc.MemberEnd()) {
    it->value = std::move(value);
    return;
  }
  doc.AddMember(jsonString(key, a), value, a);
}

}  // namespace opscopilot::tools
