#include "agent/run_state.h"

namespace opscopilot::agent {

std::string_view toString(Severity s) {
  switch (s) {
    case Severity::Info: return "Info";
    case Severity::Low: return "Low";
    case Severity::Medium: return "Medium";
    case Severity::High: return "High";
    case Severity::Critical: return "Critical";
  }
  return "Info";
}

Severity severityFrom(std::string_view s) {
  if (s == "Low") return Severity::Low;
  if (s == "Medium") return Severity::Medium;
  if (s == "High") return Severity::High;
  if (s == "Critical") return Severity::Critical;
  return Severity::Info;
}

const EvidenceItem* RunState::findEvidence(std::string_view id) const {
  for (const auto& e : evidence) {
    if (e.id == id) return &e;
  }
  return nullptr;
}

bool RunState::alreadyCalled(const PlannedCall& call) const {
  for (const auto& s : steps) {
    if (s.node == "tool" && s.tool == call.tool && s.argsJson == call.argsJson) return true;
  }
  return false;
}

std::string_view toString(Verdict v) {
  switch (v) {
    case Verdict::Accepted: return "Accepted";
    case Verdict::NeedsEvidence: return "NeedsEvidence";
    case Verdict::Kept: return "Kept";
    default: return "";
  }
}

Verdict verdictFrom(std::string_view s) {
  if (s == "Accepted") return Verdict::Accepted;
  if (s == "NeedsEvidence") return Verdict::NeedsEvidence;
  if (s == "Kept") return Verdict::Kept;
  return Verdict::None;
}

}  // namespace opscopilot::agent
