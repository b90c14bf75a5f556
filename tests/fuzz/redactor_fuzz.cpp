// The redactor, the injection guard and truncation on arbitrary text, and the
// status sink's JSON walk when the text is JSON.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <rapidjson/document.h>

#include "agent/redaction.h"
#include "agent/sink_redaction.h"

using namespace opscopilot::agent;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t cap = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  auto r = redactSecrets(text);
  if (r.redactions < 0) std::abort();
  (void)looksLikeSecretKeyName(text);
  (void)looksLikeInjection(text);
  (void)redactForSink(text);
  (void)truncateText(r.text, cap, (cap & 1) != 0);
  rapidjson::Document d;
  d.Parse(text.data(), text.size());
  if (!d.HasParseError()) (void)redactJsonStrings(d, d.GetAllocator());
  return 0;
}
