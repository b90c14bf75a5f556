// Rendering helpers for evidence text: compact, human-readable lines a person
// or a model can read. Every function takes the API server's JSON as is and
// copes with missing fields.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opscopilot::tools {

// The value at a path of member names; nullptr when any step is missing.
const rapidjson::Value* valueAt(const rapidjson::Value& v, std::initializer_list<std::string_view> path);
// The string at a path; "" when missing or not a string.
std::string_view stringAt(const rapidjson::Value& v, std::initializer_list<std::string_view> path);
// The integer at a path; nullopt when missing or not an integer.
std::optional<std::int64_t> intAt(const rapidjson::Value& v, std::initializer_list<std::string_view> path);
// An integer or string value as text ("8080", "http"); "" for anything else.
std::string scalarText(const rapidjson::Value* v);

// Seconds since the epoch of an RFC 3339 time ("2026-01-01T00:00:00Z",
// fractions and offsets allowed); nullopt when it is not one.
std::optional<double> parseTime(std::string_view rfc3339);
// "45s ago", "3m ago", "5h ago", "2d ago"; "" when ts does not parse.
std::string ago(std::string_view ts);

// s in double quotes, line breaks as spaces, cut to max bytes with "...".
std::string quoted(std::string_view s, std::size_t max = 240);
std::string join(const std::vector<std::string>& parts, std::string_view sep);

// One line per condition of a status.conditions array, each starting with
// "\n" + indent: "condition Available False (MinimumReplicasUnavailable): msg".
// abnormalOnly keeps the conditions in a bad state (False for most types,
// True for MemoryPressure, ReplicaFailure, Failed, ...; Unknown always).
std::string renderConditions(const rapidjson::Value* conditions, std::string_view indent, bool abnormalOnly);
// True when a condition is in a bad state (as above).
bool isAbnormalCondition(const rapidjson::Value& condition);

// The containers of a pod spec (or pod template spec), one line each with
// image, requests, limits and probes, and one line naming the ConfigMaps,
// Secrets and PVCs it refers to (names only). Lines start with "\n" + indent.
std::string renderPodSpec(const rapidjson::Value* podSpec, std::string_view indent);
// "cpu 100m, memory 128Mi" from a resource map; "" when empty.
std::string renderResourceList(const rapidjson::Value* resources);

// A Kubernetes quantity ("100m", "1.5Gi", "2", "1e3") as a number; nullopt
// when it does not parse.
std::optional<double> parseQuantity(std::string_view q);

}  // namespace opscopilot::tools
