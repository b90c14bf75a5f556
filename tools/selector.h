// Label selectors as the strings the API's labelSelector query parameter
// takes ("app=web,tier in (a,b),!canary").
#pragma once

#include <rapidjson/fwd.h>

#include <string>

namespace opscopilot::tools {

// Converts a metav1.LabelSelector ({matchLabels, matchExpressions}) to its
// query-string form. Labels and values are sorted, so equal selectors give
// equal strings. Operators: In -> "k in (a,b)", NotIn -> "k notin (a,b)",
// Exists -> "k", DoesNotExist -> "!k"; an expression with an unknown operator
// or an In/NotIn without values is left out. Returns "" for an empty or
// missing selector, which the API reads as "everything": callers that must
// match nothing for an empty selector check for "" themselves.
std::string selectorToString(const rapidjson::Value& labelSelector);

// Converts a plain label map (a Service's spec.selector, a matchLabels) to
// "k=v,k2=v2", sorted by key; "" when empty or not an object.
std::string matchLabelsToString(const rapidjson::Value& labels);

}  // namespace opscopilot::tools
