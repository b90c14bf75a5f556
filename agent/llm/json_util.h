// JSON helpers the providers share (RapidJSON underneath). Internal to
// agent/llm: not part of the llm.h interface.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace opscopilot::agent::llm::json {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Replaces each invalid UTF-8 sequence with U+FFFD. Tool output quoted back
// to a model can hold any bytes; one bad byte must not make a request invalid.
std::string validUtf8(std::string_view text);

// Writes text as a JSON string (cleaned with validUtf8).
void string(Writer& w, std::string_view text);
void key(Writer& w, std::string_view name);

// Writes JSON text as a value. Returns false, having written nothing, when
// the text is not valid JSON.
bool raw(Writer& w, std::string_view jsonText);

// Member lookups that never assert: nullptr / "" / 0 when obj is not an
// object, the member is absent, or it has another type. count() reads a
// non-negative integer (token counts, indexes), clamping negatives to 0.
const rapidjson::Value* member(const rapidjson::Value& obj, const char* name);
const rapidjson::Value* object(const rapidjson::Value& obj, const char* name);
const rapidjson::Value* array(const rapidjson::Value& obj, const char* name);
std::string_view str(const rapidjson::Value& obj, const char* name);
std::int64_t count(const rapidjson::Value& obj, const char* name);

// Serializes a value back to compact JSON text.
std::string text(const rapidjson::Value& value);

}  // namespace opscopilot::agent::llm::json
