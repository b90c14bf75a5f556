// Conversion between RunState and the JSON of a DiagnosticRun's status
// fields (steps, evidence, findings, plan, answer, usage, phase, ...).
#pragma once

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "agent/run_state.h"

namespace opscopilot::agent {

// Reads what a previous writeRunState stored; missing or malformed fields
// are left at their defaults.
RunState readRunState(const rapidjson::Value& status);

// What a status may hold, as the CRD's maxItems say (the API server refuses a
// write beyond them), and the byte budget of all evidence excerpts together:
// a status stays far under etcd's 1.5 MiB object limit.
inline constexpr std::size_t kMaxStatusSteps = 512;
inline constexpr std::size_t kMaxStatusEvidence = 1024;
inline constexpr std::size_t kMaxStatusFindings = 256;
inline constexpr std::size_t kMaxStatusPlan = 256;
inline constexpr std::size_t kMaxCitations = 64;  // evidence IDs per step or finding
inline constexpr std::size_t kStatusExcerptBudget = 256 * 1024;

// Sets the run-state members of `status` (an object), replacing earlier
// values and leaving other members (conditions, startTime, ...) alone. Keeps
// within the limits above: when the excerpts together pass the budget, the
// oldest are replaced by a visible marker first (their ref and ID stay, so
// citations still resolve); lists past their maxItems keep their first
// entries (the plan: its next calls).
void writeRunState(const RunState& state, rapidjson::Value& status, rapidjson::Document::AllocatorType& alloc);

}  // namespace opscopilot::agent

namespace opscopilot::agent {
// Compact JSON with object members sorted by name, so that equal arguments
// compare equal as text ("{}" when json is not valid JSON).
std::string canonicalJson(const std::string& json);
}  // namespace opscopilot::agent
