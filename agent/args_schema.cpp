#include "agent/args_schema.h"

#include <rapidjson/document.h>
#include <rapidjson/schema.h>
#include <re2/re2.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <map>
#include <optional>
#include <set>
#include <string_view>

namespace opscopilot::agent {

namespace {

// The subset of JSON Schema that tool specs may use, as a schema. Its
// additionalProperties:false is what refuses a misspelt keyword ("requried"),
// which a validator would otherwise ignore, accepting more than intended.
constexpr const char* kMetaSchema = R"({"type":"object","properties":{
  "type":{"enum":["object","array","string","integer","number","boolean","null"]},
  "properties":{"type":"object","additionalProperties":{"$ref":"#"}},
  "items":{"$ref":"#"},
  "required":{"type":"array","items":{"type":"string"}},
  "additionalProperties":{"type":"boolean"},
  "enum":{"type":"array","minItems":1},
  "minimum":{"type":"number"},"maximum":{"type":"number"},
  "minLength":{"type":"integer","minimum":0,"maximum":4294967295},
  "maxLength":{"type":"integer","minimum":0,"maximum":4294967295},
  "minItems":{"type":"integer","minimum":0,"maximum":4294967295},
  "maxItems":{"type":"integer","minimum":0,"maximum":4294967295},
  "pattern":{"type":"string"},
  "description":{"type":"string"}},
  "additionalProperties":false})";

const rapidjson::SchemaDocument& metaSchema() {
  static const rapidjson::Document doc = [] {
    rapidjson::Document d;
    d.Parse(kMetaSchema);
    return d;
  }();
  static const rapidjson::SchemaDocument schema(doc);
  return schema;
}

std::string toJson(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return buf.GetString();
}

// A member name as it appears in a message: printable, on one line, short.
std::string printable(std::string_view name) {
  constexpr std::size_t kMax = 64;
  std::string out;
  for (char c : name.substr(0, kMax)) out += static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? '?' : c;
  if (name.size() > kMax) {
    while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
    if (!out.empty() && static_cast<unsigned char>(out.back()) >= 0xC0) out.pop_back();
    out += "...";
  }
  return out;
}

// "args.names[1]" for the JSON pointer /names/1 into args; *at is the value
// the pointer reaches (null when it does not).
template <typename Pointer>
std::string memberPath(const Pointer& pointer, const rapidjson::Value& args, const rapidjson::Value** at) {
  std::string path = "args";
  const rapidjson::Value* v = &args;
  for (std::size_t i = 0; i < pointer.GetTokenCount(); ++i) {
    const auto& t = pointer.GetTokens()[i];
    std::string_view name(t.name, t.length);
    if (v && v->IsArray() && t.index != rapidjson::kPointerInvalidIndex) {
      path += "[" + std::to_string(t.index) + "]";
      v = t.index < v->Size() ? &(*v)[t.index] : nullptr;
      continue;
    }
    path += "." + printable(name);
    const rapidjson::Value* next = nullptr;
    if (v && v->IsObject()) {
      auto m = v->FindMember(rapidjson::Value(rapidjson::StringRef(t.name, t.length)));
      if (m != v->MemberEnd()) next = &m->value;
    }
    v = next;
  }
  *at = v;
  return path;
}

std::string keywordValue(const rapidjson::Value* schema, const char* keyword) {
  if (!schema || !schema->IsObject()) return "?";
  auto m = schema->FindMember(keyword);
  if (m == schema->MemberEnd()) return "?";
  return m->value.IsString() ? printable(std::string_view(m->value.GetString(), m->value.GetStringLength()))
                             : toJson(m->value);
}

std::string allowedValues(const rapidjson::Value* schema) {
  if (!schema || !schema->IsObject() || !schema->HasMember("enum") || !(*schema)["enum"].IsArray()) return {};
  std::string out;
  for (const auto& option : (*schema)["enum"].GetArray()) {
    out += out.empty() ? "" : ", ";
    out += option.IsString() ? printable(std::string_view(option.GetString(), option.GetStringLength())) : toJson(option);
  }
  return " (" + out + ")";
}

// One line from the validator's report: the keyword that failed, the schema
// that holds it, and the instance pointer.
template <typename Validator>
std::string describe(const rapidjson::Value& schemaRoot, const Validator& v, const rapidjson::Value& args) {
  const std::string_view keyword = v.GetInvalidSchemaKeyword();
  const rapidjson::Value* schema = v.GetInvalidSchemaPointer().Get(schemaRoot);
  const rapidjson::Value* at = nullptr;
  const std::string path = memberPath(v.GetInvalidDocumentPointer(), args, &at);
  if (keyword == "required") {
    // The pointer is the object; name the first missing member.
    if (schema && at && at->IsObject() && schema->HasMember("required") && (*schema)["required"].IsArray()) {
      for (const auto& r : (*schema)["required"].GetArray()) {
        if (r.IsString() && !at->HasMember(r)) {
          return path + "." + printable(std::string_view(r.GetString(), r.GetStringLength())) + ": required";
        }
      }
    }
    return path + ": a required member is missing";
  }
  if (keyword == "additionalProperties") return path + ": unknown argument";
  if (keyword == "type") return path + ": must be of type " + keywordValue(schema, "type");
  if (keyword == "enum") return path + ": not one of the allowed values" + allowedValues(schema);
  if (keyword == "minimum") return path + ": below the minimum " + keywordValue(schema, "minimum");
  if (keyword == "maximum") return path + ": above the maximum " + keywordValue(schema, "maximum");
  if (keyword == "minLength") return path + ": too short (at least " + keywordValue(schema, "minLength") + " characters)";
  if (keyword == "maxLength") return path + ": too long (at most " + keywordValue(schema, "maxLength") + " characters)";
  if (keyword == "minItems") return path + ": too few items (at least " + keywordValue(schema, "minItems") + ")";
  if (keyword == "maxItems") return path + ": too many items (at most " + keywordValue(schema, "maxItems") + ")";
  return path + ": fails the schema keyword " + std::string(keyword);
}

// Patterns are matched with RE2, not RapidJSON's regex: that one recurses
// once per state while matching, so a pattern such as "(a?){1000}" overflows
// the stack (found by tests/fuzz/args_schema), and it silently drops a
// pattern it cannot compile, accepting any string. RapidJSON sees each
// pattern under a name it ignores; checkPatterns applies them after the
// rest of the schema has passed.
constexpr const char* kPatternKey = "x-opscopilot-pattern";

std::unique_ptr<re2::RE2> compilePattern(std::string_view pattern) {
  re2::RE2::Options o;
  o.set_log_errors(false);
  o.set_max_mem(1 << 20);  // a tool's argument pattern is small
  return std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), o);
}

// The first member name that appears twice in one object of v, if any. A
// schema with one is refused: which of the two counts is up to the reader
// (RapidJSON's validator takes the first, other tools the last), and a
// second "pattern" slipped past the renaming below (found by
// tests/fuzz/args_schema).
std::optional<std::string> duplicateName(const rapidjson::Value& v) {
  if (v.IsObject()) {
    std::set<std::string_view> seen;
    for (const auto& m : v.GetObject()) {
      const std::string_view name(m.name.GetString(), m.name.GetStringLength());
      if (!seen.insert(name).second) return std::string(name);
      if (auto d = duplicateName(m.value)) return d;
    }
  } else if (v.IsArray()) {
    for (const auto& item : v.GetArray()) {
      if (auto d = duplicateName(item)) return d;
    }
  }
  return std::nullopt;
}

// Renames every "pattern" to kPatternKey. The meta-schema has already fixed
// where sub-schemas sit: under properties and items.
void hidePatterns(rapidjson::Value& schema, rapidjson::Document::AllocatorType& alloc) {
  if (auto p = schema.FindMember("pattern"); p != schema.MemberEnd()) p->name.SetString(kPatternKey, alloc);
  if (auto props = schema.FindMember("properties"); props != schema.MemberEnd()) {
    for (auto& m : props->value.GetObject()) hidePatterns(m.value, alloc);
  }
  if (auto items = schema.FindMember("items"); items != schema.MemberEnd()) hidePatterns(items->value, alloc);
}

using Patterns = std::map<const rapidjson::Value*, std::unique_ptr<re2::RE2>>;

// Compiles each pattern under schema into *out, keyed by the sub-schema that
// holds it; returns where the first one that does not compile sits.
std::string compilePatterns(const rapidjson::Value& schema, const std::string& where, Patterns* out) {
  if (auto p = schema.FindMember(kPatternKey); p != schema.MemberEnd()) {
    const std::string_view text(p->value.GetString(), p->value.GetStringLength());
    auto re = compilePattern(text);
    if (!re->ok()) return where + "/pattern: does not compile: " + printable(text);
    (*out)[&schema] = std::move(re);
  }
  if (auto props = schema.FindMember("properties"); props != schema.MemberEnd()) {
    for (const auto& m : props->value.GetObject()) {
      auto err = compilePatterns(m.value, where + "/properties/" + printable(m.name.GetString()), out);
      if (!err.empty()) return err;
    }
  }
  if (auto items = schema.FindMember("items"); items != schema.MemberEnd()) {
    return compilePatterns(items->value, where + "/items", out);
  }
  return {};
}

// Walks args along schema (which args already satisfy in every other
// respect) and returns the first string that its pattern does not find, as
// JSON Schema's "pattern" does: a search, not a whole-string match.
std::string checkPatterns(const rapidjson::Value& schema, const Patterns& patterns, const rapidjson::Value& value,
                          const std::string& path) {
  if (value.IsString()) {
    auto re = patterns.find(&schema);
    if (re != patterns.end() &&
        !re2::RE2::PartialMatch(re2::StringPiece(value.GetString(), value.GetStringLength()), *re->second)) {
      return path + ": does not match the pattern " + keywordValue(&schema, kPatternKey);
    }
    return {};
  }
  if (value.IsObject()) {
    auto props = schema.FindMember("properties");
    if (props == schema.MemberEnd()) return {};
    for (const auto& m : value.GetObject()) {
      auto sub = props->value.FindMember(m.name);
      if (sub == props->value.MemberEnd()) continue;
      auto err = checkPatterns(sub->value, patterns, m.value,
                               path + "." + printable(std::string_view(m.name.GetString(), m.name.GetStringLength())));
      if (!err.empty()) return err;
    }
    return {};
  }
  if (value.IsArray()) {
    auto items = schema.FindMember("items");
    if (items == schema.MemberEnd()) return {};
    for (rapidjson::SizeType i = 0; i < value.Size(); ++i) {
      auto err = checkPatterns(items->value, patterns, value[i], path + "[" + std::to_string(i) + "]");
      if (!err.empty()) return err;
    }
  }
  return {};
}

}  // namespace

struct ArgsSchema::Compiled {
  explicit Compiled(rapidjson::Document&& d) : doc(std::move(d)), schema(doc) {}
  rapidjson::Document doc;
  rapidjson::SchemaDocument schema;
  Patterns patterns;  // keyed by sub-schemas of doc; RE2 is safe to share
};

ArgsSchema ArgsSchema::compile(const std::string& schemaJson) {
  ArgsSchema out;
  rapidjson::Document doc;
  doc.Parse(schemaJson.c_str(), schemaJson.size());
  if (doc.HasParseError()) {
    out.error_ = "schema is not JSON (offset " + std::to_string(doc.GetErrorOffset()) + ")";
    return out;
  }
  rapidjson::SchemaValidator meta(metaSchema());
  if (!doc.Accept(meta)) {
    // Not StringifyUriFragment: RapidJSON 1.1.0 reads past a name that ends
    // in a cut UTF-8 sequence there (found by tests/fuzz/args_schema).
    std::string at = "#";
    const auto& pointer = meta.GetInvalidDocumentPointer();
    for (std::size_t i = 0; i < pointer.GetTokenCount(); ++i) {
      at += "/" + printable(std::string_view(pointer.GetTokens()[i].name, pointer.GetTokens()[i].length));
    }
    out.error_ = "schema breaks the supported subset at " + at + " (keyword " + meta.GetInvalidSchemaKeyword() + ")";
    return out;
  }
  if (auto d = duplicateName(doc)) {
    out.error_ = "schema has the member " + printable(*d) + " twice in one object";
    return out;
  }
  if (keywordValue(&doc, "type") != "object") {
    out.error_ = "schema root must be {\"type\":\"object\"}";
    return out;
  }
  hidePatterns(doc, doc.GetAllocator());
  auto compiled = std::make_shared<Compiled>(std::move(doc));
  if (auto err = compilePatterns(compiled->doc, "#", &compiled->patterns); !err.empty()) {
    out.error_ = "schema " + err;
    return out;
  }
  out.compiled_ = std::move(compiled);
  return out;
}

const std::string& ArgsSchema::error() const { return error_; }

std::string ArgsSchema::validate(const rapidjson::Value& args) const {
  if (!compiled_) return "args: refused, the tool's schema is invalid: " + error_;
  rapidjson::SchemaValidator v(compiled_->schema);
  if (!args.Accept(v)) return describe(compiled_->doc, v, args);
  return checkPatterns(compiled_->doc, compiled_->patterns, args, "args");
}

}  // namespace opscopilot::agent
