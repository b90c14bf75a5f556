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
    if (s.node == Node::Tool && s.tool == call.tool && s.argsJson == call.argsJson) return true;
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

namespace {

// One table per enum: its values in order, as the status spells them.
constexpr std::string_view kPhases[] = {"Pending", "Running", "AwaitingApproval", "Succeeded", "Failed"};
constexpr std::string_view kNodes[] = {"planner", "tool", "critic", "finalizer", "approval"};
constexpr std::string_view kStepStates[] = {"Pending", "Running", "Succeeded", "Failed", "Skipped", "AwaitingApproval"};

template <typename E, std::size_t N>
E fromTable(const std::string_view (&names)[N], std::string_view s, E otherwise) {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return otherwise;
}

}  // namespace

std::string_view toString(Phase p) { return kPhases[static_cast<std::size_t>(p)]; }
Phase phaseFrom(std::string_view s) { return fromTable(kPhases, s, Phase::Pending); }
std::string_view toString(Node n) { return kNodes[static_cast<std::size_t>(n)]; }
Node nodeFrom(std::string_view s) { return fromTable(kNodes, s, Node::Tool); }
std::string_view toString(StepState s) { return kStepStates[static_cast<std::size_t>(s)]; }
StepState stepStateFrom(std::string_view s) { return fromTable(kStepStates, s, StepState::Pending); }

}  // namespace opscopilot::agent
