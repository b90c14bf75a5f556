#include "agent/sink_redaction.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "agent/json_writer.h"
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

RedactedText redactText(std::string_view text) { return RedactedText(redactSecrets(text).text); }

RedactedText redactJsonBody(std::string_view json) {
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseFullPrecisionFlag>(json.data(), json.size());
  // Not JSON (a caller's mistake, or a body in another format): the text
  // redactor still covers it.
  if (doc.HasParseError()) return redactText(json);
  return redactJson(doc);
}

RedactedText redactJson(rapidjson::Document& doc) {
  redactJsonStrings(doc, doc.GetAllocator());
  return RedactedText(jsonText(doc));
}

}  // namespace opscopilot::agent
