#include "operator/kube/conditions.h"

#include "operator/kube/object.h"

namespace opscopilot::kube {

void setMember(rapidjson::Value& obj, const char* key, rapidjson::Value value, rapidjson::Document::AllocatorType& a) {
  if (auto it = obj.FindMember(key); it != obj.MemberEnd()) {
    it->value = std::move(value);
  } else {
    obj.AddMember(rapidjson::Value(key, a), std::move(value), a);
  }
}

void setStatusCondition(rapidjson::Value& status, const Condition& cond, const std::string& now,
                        rapidjson::Document::AllocatorType& a) {
  if (!status.HasMember("conditions") || !status["conditions"].IsArray()) {
    setMember(status, "conditions", rapidjson::Value(rapidjson::kArrayType), a);
  }
  auto& conds = status["conditions"];
  rapidjson::Value* existing = nullptr;
  for (auto& c : conds.GetArray()) {
    if (c.IsObject() && stringMember(c, "type") == cond.type) existing = &c;
  }
  std::string transition = now;
  if (existing && stringMember(*existing, "status") == cond.status) {
    transition = std::string(stringMember(*existing, "lastTransitionTime"));
    if (transition.empty()) transition = now;
  }
  rapidjson::Value c(rapidjson::kObjectType);
  c.AddMember("type", rapidjson::Value(cond.type.c_str(), a), a);
  c.AddMember("status", rapidjson::Value(cond.status.c_str(), a), a);
  c.AddMember("reason", rapidjson::Value(cond.reason.c_str(), a), a);
  c.AddMember("message", rapidjson::Value(cond.message.substr(0, 32768).c_str(), a), a);
  c.AddMember("lastTransitionTime", rapidjson::Value(transition.c_str(), a), a);
  c.AddMember("observedGeneration", cond.observedGeneration, a);
  if (existing) {
    *existing = std::move(c);
  } else {
    conds.PushBack(c, a);
  }
}

}  // namespace opscopilot::kube
