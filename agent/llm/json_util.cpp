#include "agent/llm/json_util.h"

#include <cmath>
#include <limits>

namespace opscopilot::agent::llm::json {

namespace {

// Length of the valid UTF-8 sequence starting at text[i], or 0 when invalid
// (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
std::size_t sequenceLength(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char c = byte(i);
  if (c < 0x80) return 1;
  std::size_t n = 0;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    n = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    n = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    n = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  if (i + n > text.size()) return 0;
  if (byte(i + 1) < lo || byte(i + 1) > hi) return 0;
  for (std::size_t k = 2; k < n; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  return n;
}

}  // namespace

std::string validUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = sequenceLength(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

void string(Writer& w, std::string_view text) {
  const std::string clean = validUtf8(text);
  w.String(clean.data(), static_cast<rapidjson::SizeType>(clean.size()), true);
}

void key(Writer& w, std::string_view name) {
  w.Key(name.data(), static_cast<rapidjson::SizeType>(name.size()), true);
}

bool raw(Writer& w, std::string_view jsonText) {
  rapidjson::Document doc;
  doc.Parse(jsonText.data(), jsonText.size());
  if (doc.HasParseError()) return false;
  return doc.Accept(w);
}

const rapidjson::Value* member(const rapidjson::Value& obj, const char* name) {
  if (!obj.IsObject()) return nullptr;
  auto it = obj.FindMember(name);
  return it == obj.MemberEnd() ? nullptr : &it->value;
}

const rapidjson::Value* object(const rapidjson::Value& obj, const char* name) {
  const auto* v = member(obj, name);
  return v && v->IsObject() ? v : nullptr;
}

const rapidjson::Value* array(const rapidjson::Value& obj, const char* name) {
  const auto* v = member(obj, name);
  return v && v->IsArray() ? v : nullptr;
}

std::string_view str(const rapidjson::Value& obj, const char* name) {
  const auto* v = member(obj, name);
  if (!v || !v->IsString()) return {};
  return {v->GetString(), v->GetStringLength()};
}

std::int64_t count(const rapidjson::Value& obj, const char* name) {
  const auto* v = member(obj, name);
  if (!v) return 0;
  if (v->IsInt64()) return v->GetInt64() < 0 ? 0 : v->GetInt64();
  if (v->IsUint64()) return std::numeric_limits<std::int64_t>::max();
  if (v->IsNumber()) {
    const double d = v->GetDouble();
    if (!std::isfinite(d) || d <= 0) return 0;
    if (d >= 9.0e18) return std::numeric_limits<std::int64_t>::max();
    return static_cast<std::int64_t>(d);
  }
  return 0;
}

std::string text(const rapidjson::Value& value) {
  rapidjson::StringBuffer sb;
  Writer w(sb);
  value.Accept(w);
  return {sb.GetString(), sb.GetSize()};
}

}  // namespace opscopilot::agent::llm::json
