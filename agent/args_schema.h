// Checks tool arguments against the subset of JSON Schema that tool specs
// use: type, properties, required, additionalProperties:false, enum,
// minimum/maximum, minLength/maxLength, items.
#pragma once

#include <rapidjson/fwd.h>

#include <string>

namespace opscopilot::agent {

// Returns "" when args satisfy schema, else a sentence naming the first
// problem, e.g. "args.name: required". A schema that does not parse accepts
// any object.
std::string validateArgs(const std::string& schemaJson, const rapidjson::Value& args);

}  // namespace opscopilot::agent
