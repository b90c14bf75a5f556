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
    for (auto& m : v.GetObject()) {
      // {"password": "hunter2"}: the value alone does not look like a secret;
      // its key says it is one.
      if (m.value.IsString() && m.value.GetStringLength() > 0 &&
          looksLikeSecretKeyName(std::string_view(m.name.GetString(), m.name.GetStringLength())) &&
          std::string_view(m.value.GetString(), m.value.GetStringLength()) != kRedactedMarker) {
        m.value.SetString(kRedactedMarker.data(), static_cast<rapidjson::SizeType>(kRedactedMarker.size()), alloc);
        ++count;
        continue;
      }
      count += redactJsonStrings(m.value, alloc);
    }
  } else if (v.IsArray()) {
    for (auto& e : v.GetArray()) count += redactJsonStrings(e, alloc);
  }
  return count;
}

std::string redactForSink(std::string_view text) { return redactSecrets(text).text; }

}  // namespace opscopilot::agent
