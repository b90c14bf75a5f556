// The JSON writer for everything the operator serializes.
#pragma once

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <string>

namespace opscopilot::agent {

// A RapidJSON Writer that writes a number JSON cannot hold (infinity, NaN)
// as null. RapidJSON 1.1.0's reader turns some long numbers with an
// exponent into infinity instead of refusing them (found by
// tests/fuzz/object_json: {"n":1111110000000000000000e00300}); the plain
// Writer then stops mid-document, leaving text that does not parse.
template <class Buffer>
class JsonWriter : public rapidjson::Writer<Buffer> {
 public:
  using rapidjson::Writer<Buffer>::Writer;
  bool Double(double d) { return std::isfinite(d) ? rapidjson::Writer<Buffer>::Double(d) : this->Null(); }
};

// Compact JSON text of v, always parseable.
template <class Value>
std::string jsonText(const Value& v) {
  rapidjson::StringBuffer buf;
  JsonWriter<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace opscopilot::agent
