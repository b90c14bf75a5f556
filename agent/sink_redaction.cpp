#include "agent/sink_redaction.h"

#include "agent/redaction.h"

namespace opscopilot::agent {

int redactJsonStrings(rapidjson::Value& v, rapidjson::Document::AllocatorType& alloc) {
  int count = 0;
  if (v.IsString()) {
    std::string_view s(v.GetString(), v.GetStringLength());
    auto r = redactSecrets(s);
    if (r.redactions > 0) {
      v.SetString(r.text.c_str(), static_cast<rapidjson::SizeType>(r.text.size()), alloc);
      count += r.redactions;
    }
  } else if (v.IsObject()) {
    for (auto& m : v.GetObject()) count += redactJsonStrings(m.value, alloc);
  } else if (v.IsArray()) {
    for (auto& e : v.GetArray()) count += redactJsonStrings(e, alloc);
  }
  return count;
}

std::string redactForSink(std::string_view text) { return redactSecrets(text).text; }

}  // namespace opscopilot::agent
