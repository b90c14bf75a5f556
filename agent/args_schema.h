// Tool argument schemas, checked with RapidJSON's JSON Schema validator.
// Supported subset (anything else is refused when the schema is compiled):
// type, properties, required, additionalProperties (boolean), enum,
// minimum/maximum, minLength/maxLength, pattern, items, minItems/maxItems,
// description. The root must be {"type":"object", ...}.
#pragma once

#include <rapidjson/fwd.h>

#include <memory>
#include <string>

namespace opscopilot::agent {

class ArgsSchema {
 public:
  // Compiles schemaJson once. Never throws. When the schema does not parse,
  // uses a keyword outside the subset, or has a pattern that does not compile,
  // error() says why and validate() refuses every call (fails closed).
  static ArgsSchema compile(const std::string& schemaJson);

  // "" when the schema compiled, else one line naming the problem.
  const std::string& error() const;

  // Returns "" when args satisfy the schema, else one line naming the
  // offending member, e.g. "args.name: required",
  // "args.tailLines: above the maximum 5000". Safe to call concurrently.
  std::string validate(const rapidjson::Value& args) const;

 private:
  struct Compiled;
  ArgsSchema() = default;
  std::shared_ptr<const Compiled> compiled_;  // null when error_ is set
  std::string error_;
};

}  // namespace opscopilot::agent
