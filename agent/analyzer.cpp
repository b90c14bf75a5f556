#include "agent/analyzer.h"

namespace opscopilot::agent {

std::string StepView::evidenceFor(std::string_view ref) const {
  for (const auto& e : evidence) {
    if (e.ref == ref) return e.id;
  }
  for (const auto& e : evidence) {
    if (e.ref.size() > ref.size() && std::string_view(e.ref).starts_with(ref) && e.ref[ref.size()] == ' ') {
      return e.id;
    }
  }
  return {};
}

std::vector<std::string> StepView::allEvidence() const {
  std::vector<std::string> out;
  for (const auto& e : evidence) out.push_back(e.id);
  return out;
}

}  // namespace opscopilot::agent
