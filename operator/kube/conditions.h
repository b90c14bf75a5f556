// Conditions: metav1.Condition lists in an object's status, the way
// apimachinery's meta.SetStatusCondition keeps them: one entry per type,
// lastTransitionTime moved only when the status changes.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <string>

namespace opscopilot::kube {

struct Condition {
  std::string type;
  std::string status;  // True, False, Unknown
  std::string reason;  // CamelCase
  std::string message;
  std::int64_t observedGeneration = 0;
};

// Sets the condition in status.conditions (created when missing). now is the
// RFC 3339 time to record when the status changed or the type is new. The
// message is cut at 32768 bytes (the API's maximum).
void setStatusCondition(rapidjson::Value& status, const Condition& condition, const std::string& now,
                        rapidjson::Document::AllocatorType& alloc);

// Sets or replaces obj[key].
void setMember(rapidjson::Value& obj, const char* key, rapidjson::Value value, rapidjson::Document::AllocatorType& alloc);

}  // namespace opscopilot::kube
