// Runbook analyzer (search_runbooks): when a runbook section found for the
// run fits a finding, the finding's fix becomes that section's steps, citing
// the runbook ([R1]); the built-in advice stays after it. A team's own
// procedure beats generic advice, but only where it is about the same thing:
// the finding and the section must share at least two index terms.
#include <set>

#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/support.h"
#include "tools/runbook_index.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "runbooks";
constexpr std::size_t kMinShared = 2;
constexpr std::size_t kStepsShown = 4;
constexpr std::string_view kMarker = "From runbook ";

std::size_t shared(const std::set<std::string>& a, const std::set<std::string>& b) {
  std::size_t n = 0;
  for (const auto& t : a) n += b.contains(t) ? 1 : 0;
  return n;
}

class RunbookAnalyzer final : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override {
    if (step.tool != "search_runbooks" || !step.ok || !step.data) return;
    struct Candidate {
      std::string id, ref, advice;
      std::set<std::string> terms;
    };
    std::vector<Candidate> candidates;
    for (const auto* r : listAt(step.data, {"results"})) {
      Candidate c;
      c.ref = strAt(r, {"ref"});
      c.id = step.evidenceFor(c.ref);
      if (c.id.empty()) continue;
      auto terms = indexTerms(strAt(r, {"heading"}) + "\n" + strAt(r, {"text"}));
      c.terms = {terms.begin(), terms.end()};
      std::vector<std::string> steps;
      for (const auto* s : listAt(r, {"steps"})) {
        if (steps.size() < kStepsShown) steps.push_back(std::to_string(steps.size() + 1) + ". " + shorten(oneLine(str(s)), 200));
      }
      c.advice = steps.empty() ? shorten(oneLine(strAt(r, {"text"})), 300) : join(steps, " ");
      std::string heading = strAt(r, {"heading"});
      std::string name = strAt(r, {"configMap"});
      c.advice = std::string(kMarker) + name + (heading.empty() ? "" : " (\"" + heading + "\")") + " [" + c.id + "]" +
                 ": " + c.advice;
      candidates.push_back(std::move(c));
    }
    if (candidates.empty()) return;
    // Copies: enriching a finding may move the sink's vector.
    std::vector<agent::Finding> findings = sink.findings();
    for (const auto& f : findings) {
      if (f.severity < Severity::Low || f.remediation.starts_with(kMarker)) continue;
      auto t = indexTerms(f.title);
      std::set<std::string> terms(t.begin(), t.end());
      const Candidate* best = nullptr;
      std::size_t bestShared = 0;
      for (const auto& c : candidates) {
        auto n = shared(terms, c.terms);
        if (n >= kMinShared && n > bestShared) {
          best = &c;
          bestShared = n;
        }
      }
      if (!best) continue;
      std::string remediation = best->advice;
      if (!f.remediation.empty()) remediation += " Built-in advice: " + f.remediation;
      sink.enrichFinding(f.id, {best->id}, "", f.confidence, remediation);
    }
  }
};

}  // namespace

std::unique_ptr<agent::Analyzer> makeRunbookAnalyzer() { return std::make_unique<RunbookAnalyzer>(); }

}  // namespace opscopilot::tools
