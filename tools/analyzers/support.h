// Small helpers shared by the built-in analyzers: defensive reads of the
// API server's JSON (every accessor tolerates missing fields and wrong types),
// text shaping for titles, label selectors, quantities, follow-up call
// arguments and lookups of earlier findings.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/analyzer.h"

namespace opscopilot::tools::analysis {

using Json = rapidjson::Value;

// ---- JSON reads: nullptr / "" / nullopt / empty when missing or mistyped.

// The member `key` of an object, or nullptr.
const Json* field(const Json* v, std::string_view key);
// The value at a path of member names, or nullptr.
const Json* at(const Json* v, std::initializer_list<std::string_view> path);
// A string value without surrounding blanks (a blank value is ""), or ""
// (numbers and booleans are not converted).
std::string str(const Json* v);
std::string strAt(const Json* v, std::initializer_list<std::string_view> path);
// A string or a number rendered as text (for IntOrString fields), or "".
std::string scalarText(const Json* v);
// An integer value (integral doubles accepted), or nullopt.
std::optional<std::int64_t> integer(const Json* v);
std::optional<std::int64_t> intAt(const Json* v, std::initializer_list<std::string_view> path);
// A boolean, or `fallback` when missing or not a boolean.
bool boolAt(const Json* v, std::initializer_list<std::string_view> path, bool fallback = false);
// The elements of an array value; empty when not an array.
std::vector<const Json*> list(const Json* v);
std::vector<const Json*> listAt(const Json* v, std::initializer_list<std::string_view> path);
// The string members of an object value, in document order.
std::vector<std::pair<std::string, std::string>> stringMap(const Json* v);
// metadata.name / metadata.namespace of an object.
std::string nameOf(const Json* obj);
std::string namespaceOf(const Json* obj);
// The status.conditions entry of `type`, or nullptr.
const Json* condition(const Json* obj, std::string_view type);

// ---- Text.

// At most `max` bytes of s (cut on a UTF-8 boundary), with "…" when cut.
std::string shorten(std::string_view s, std::size_t max);
bool containsNoCase(std::string_view haystack, std::string_view needle);
bool containsAnyNoCase(std::string_view haystack, std::initializer_list<std::string_view> needles);
std::string toLower(std::string_view s);
std::string join(const std::vector<std::string>& parts, std::string_view sep);
// s as one word of a shell command: as is when plain, else in single quotes
// (a selector "tier in (a,b)", "!legacy", or "app=" with an empty value).
std::string shellWord(std::string_view s);
// "1 restart", "6 restarts".
std::string countOf(std::int64_t n, std::string_view singular, std::string_view pluralForm = {});
// Text between the first `open` after `from` and the next `close`; "" when absent.
std::string between(std::string_view s, std::string_view open, std::string_view close, std::size_t from = 0);
// Keeps log and message text printable on one line: control characters and
// runs of blanks become one space, none at either end.
std::string oneLine(std::string_view s);

// ---- Kubernetes values.

// A resource quantity ("500m", "2Gi", "1e3") as a number of base units, or
// nullopt when it does not parse.
std::optional<double> parseQuantity(std::string_view q);
// A LabelSelector (matchLabels and matchExpressions) in kubectl's syntax:
// "app=web,tier in (a,b),!legacy"; "" when it selects nothing expressible.
std::string selectorString(const Json* labelSelector);
// A plain label map (Service spec.selector) as "k=v,k2=v2".
std::string labelMapString(const Json* labels);
// True when every k=v of `selector` is in the object's labels.
bool labelsMatch(const std::vector<std::pair<std::string, std::string>>& selector, const Json* labels);
// What a container exit code usually means ("application error",
// "SIGKILL: OOM kill or forced stop", ...).
std::string exitCodeMeaning(std::int64_t code);

// The controller a pod belongs to, resolved through its ReplicaSet to the
// Deployment when the name shows it ({"", ""} for a bare pod).
struct OwnerRef {
  std::string kind;
  std::string name;
};
OwnerRef podOwner(const Json* pod);
// "deployment/checkout" for kubectl, or "" when there is no owner.
std::string kubectlTarget(const OwnerRef& owner);

// ---- Follow-up calls.

// Builds the JSON arguments of a follow-up call, members in insertion order.
class CallArgs {
 public:
  CallArgs& str(std::string_view key, std::string_view value);
  CallArgs& flag(std::string_view key, bool value);
  CallArgs& num(std::string_view key, std::int64_t value);
  CallArgs& strings(std::string_view key, const std::vector<std::string>& values);
  std::string json() const;

 private:
  std::vector<std::pair<std::string, std::string>> members_;  // key, raw JSON value
};
agent::PlannedCall plannedCall(std::string tool, const CallArgs& args, std::string reason);

// ---- Evidence and earlier findings.

// The step's evidence IDs for the first ref that has one, tried in order;
// empty when none has (never an invented ID).
std::vector<std::string> cite(const agent::StepView& step, std::initializer_list<std::string> refs);
// Appends the IDs of `more` not already in `ids`.
void addEvidence(std::vector<std::string>& ids, const std::vector<std::string>& more);

// The ID of a finding whose subject equals `subject`, made by an analyzer
// other than `notBy`; "" when none. Prefers higher severity.
std::string findingWithSubject(const agent::AnalysisSink& sink, std::string_view subject, std::string_view notBy = {});
// The ID of the first finding whose subject starts with `prefix` and whose
// title contains `needle` (any when empty), not made by `notBy`; "" when none.
std::string findingMatching(const agent::AnalysisSink& sink, std::string_view prefix, std::string_view needle,
                            std::string_view notBy = {});
// What a finding says before its first ": ", lower case, with generated pod
// name suffixes and numbers set aside, for comparing runs' findings:
// "Container app in pod web-7d9f8b6c5-x2x7q crash-loops" -> "container app in pod web-<pod> crash-loops".
std::string findingSignature(std::string_view title);

// The finding with this ID, or nullptr (valid until the sink changes).
const agent::Finding* findingById(const agent::AnalysisSink& sink, std::string_view id);

}  // namespace opscopilot::tools::analysis
