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

// Sets the run-state members of `status` (an object), replacing earlier
// values and leaving other members (conditions, startTime, ...) alone.
void writeRunState(const RunState& state, rapidjson::Value& status, rapidjson::Document::AllocatorType& alloc);

}  // namespace opscopilot::agent

namespace opscopilot::agent {
// Compact JSON with object members sorted by name, so that equal arguments
// compare equal as text ("{}" when json is not valid JSON).
std::string canonicalJson(const std::string& json);
}  // namespace opscopilot::agent
