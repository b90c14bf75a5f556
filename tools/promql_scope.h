// Confining a PromQL query to one namespace, as prom-label-proxy does: every
// series selector gets the matcher LABEL="VALUE", so a query can only ever
// select that namespace's series, whatever it aggregates afterwards.
//
// scopeQuery rewrites the text (a lexer that knows PromQL's strings,
// comments, label lists and grouping clauses); scopedEverywhere then checks
// the result against Prometheus's own parse of it (/api/v1/parse_query), so a
// selector the rewrite missed is caught by the real parser, never sent.
#pragma once

#include <rapidjson/document.h>

#include <optional>
#include <string>
#include <string_view>

namespace opscopilot::tools {

struct ScopedQuery {
  std::string query;  // the rewritten query
  std::string error;  // set when the query cannot be scoped (then query is empty)
};

// The query with LABEL="VALUE" added to every series selector. value must be
// a label value without quotes or backslashes (a namespace name).
ScopedQuery scopeQuery(std::string_view query, std::string_view label, std::string_view value);

// nullopt when every vectorSelector and matrixSelector of the parsed query
// (the "data" of Prometheus's /api/v1/parse_query answer) has the matcher
// label="value"; otherwise what is wrong, in a sentence.
std::optional<std::string> unscopedSelector(const rapidjson::Value& ast, std::string_view label, std::string_view value);

}  // namespace opscopilot::tools
