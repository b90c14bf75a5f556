#include <algorithm>
#include <set>

#include "agent/graph.h"

namespace opscopilot::agent {

namespace {

std::string cite(const std::vector<std::string>& ids) {
  std::string out;
  for (const auto& id : ids) out += " [" + id + "]";
  return out;
}

}  // namespace

std::vector<const Finding*> rankFindings(const RunState& state) {
  std::vector<const Finding*> ranked;
  for (const auto& f : state.findings) ranked.push_back(&f);
  // Most severe first; among equals, the most specific subject (a container
  // explains its Deployment's unavailability, not the other way round), then
  // the most confident.
  auto depth = [](const Finding* f) { return std::count(f->subject.begin(), f->subject.end(), '/'); };
  std::stable_sort(ranked.begin(), ranked.end(), [&](const Finding* x, const Finding* y) {
    if (x->severity != y->severity) return x->severity > y->severity;
    if (depth(x) != depth(y)) return depth(x) > depth(y);
    return x->confidence > y->confidence;
  });
  return ranked;
}

std::string composeAnswer(const RunSpec& spec, const RunState& state, const std::string& reason,
                          const std::string& limitMessage) {
  std::string a;
  // Never an empty clause: a stop without a message still says why.
  const std::string why = limitMessage.empty() ? "the run stopped (" + (reason.empty() ? std::string("no reason") : reason) + ")"
                                               : limitMessage;
  if (reason == "TargetNotFound" || reason == "Forbidden") {
    a = "**Could not investigate " + spec.targetDescription() + ":** " + why + ".";
    std::vector<std::string> all;
    for (const auto& e : state.evidence) all.push_back(e.id);
    if (!all.empty()) a += cite(all);
    a += "\n";
    return a;
  }
  if (reason != "Completed") a += "**Partial answer:** " + why + "; this is what the evidence so far shows.\n\n";

  const auto ranked = rankFindings(state);
  std::vector<const Finding*> problems;
  for (const auto* f : ranked) {
    if (f->severity >= Severity::Low && !f->evidence.empty()) problems.push_back(f);
  }

  if (problems.empty()) {
    a += "**No problem found in " + spec.targetDescription() + ".**";
    std::vector<std::string> read;
    for (const auto& e : state.evidence) {
      if (read.size() < 6) read.push_back(e.id);
    }
    if (!read.empty()) a += " What was read looks healthy" + cite(read) + ".";
    for (const auto* f : ranked) {
      if (f->severity == Severity::Info && !f->evidence.empty()) a += "\n- " + f->title + cite(f->evidence);
    }
    a += "\n";
  } else {
    const Finding* top = problems.front();
    a += "**Root cause (" + std::string(toString(top->severity)) + ", " + std::to_string(top->confidence) +
         "% confidence):** " + top->title + cite(top->evidence) + "\n";
    if (!top->remediation.empty()) a += "\n**Fix:** " + top->remediation + "\n";
    if (problems.size() > 1) {
      a += "\n**Also found:**\n";
      for (std::size_t i = 1; i < problems.size() && i < 8; ++i) {
        const auto* f = problems[i];
        a += "- (" + std::string(toString(f->severity)) + ") " + f->title + cite(f->evidence);
        if (!f->remediation.empty()) a += " Fix: " + f->remediation;
        a += "\n";
      }
    }
  }

  std::set<std::string> tools;
  for (const auto& s : state.steps) {
    // The actions (spec.actions) are not reads: the Actions section tells of them.
    const bool action = std::any_of(spec.actions.begin(), spec.actions.end(), [&](const RunAction& a) { return a.tool == s.tool; });
    if (s.node == Node::Tool && s.state == StepState::Succeeded && !action) tools.insert(s.tool);
  }
  int flagged = static_cast<int>(std::count_if(state.evidence.begin(), state.evidence.end(),
                                               [](const EvidenceItem& e) { return e.injectionSuspected; }));
  a += "\n_Checked with " + std::to_string(state.usage.toolCalls) + " read-only tool calls";
  if (!tools.empty()) {
    a += " (";
    bool first = true;
    for (const auto& t : tools) {
      a += (first ? "" : ", ") + t;
      first = false;
    }
    a += ")";
  }
  a += "._";
  if (flagged) {
    a += " _" + std::to_string(flagged) +
         " evidence item(s) contained text that looks like instructions; it was treated as data._";
  }
  a += "\n";
  return a;
}

}  // namespace opscopilot::agent
