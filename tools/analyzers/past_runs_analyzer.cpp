// Past runs analyzer (recall_past_runs): a finding that earlier runs on the
// same target also made is marked as a repeat, citing those runs ("seen
// before: 2 earlier runs in the last 7 days"). Findings are compared by what
// they say before their first ": ", with pod names and numbers set aside
// (each run sees new pods and counts).
#include <set>

#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "past-runs";
constexpr std::size_t kNamed = 3;

class PastRunsAnalyzer final : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override {
    if (step.tool != "recall_past_runs" || !step.ok || !step.data) return;
    const auto days = intAt(step.args, {"days"}).value_or(7);
    struct Earlier {
      std::string run, day, evidence;
      std::set<std::string> signatures;
    };
    std::vector<Earlier> earlier;
    for (const auto* r : listAt(step.data, {"runs"})) {
      Earlier e;
      e.run = strAt(r, {"name"});
      e.day = strAt(r, {"created"}).substr(0, 10);
      e.evidence = step.evidenceFor("DiagnosticRun/" + e.run);
      for (const auto* f : listAt(r, {"findings"})) e.signatures.insert(findingSignature(strAt(f, {"title"})));
      if (!e.evidence.empty() && !e.signatures.empty()) earlier.push_back(std::move(e));
    }
    if (earlier.empty()) return;
    std::vector<agent::Finding> findings = sink.findings();  // enriching may move the sink's vector
    for (const auto& f : findings) {
      if (f.severity < Severity::Medium) continue;
      const auto sig = findingSignature(f.title);
      std::vector<std::string> cited, named;
      for (const auto& e : earlier) {
        if (!e.signatures.contains(sig)) continue;
        cited.push_back(e.evidence);
        if (named.size() < kNamed) named.push_back(e.run + " on " + e.day);
      }
      if (cited.empty()) continue;
      std::string detail = "; seen before: " + countOf(static_cast<std::int64_t>(cited.size()), "earlier run") +
                           " in the last " + countOf(days, "day") + " found the same (" + join(named, ", ") +
                           (cited.size() > named.size() ? ", ..." : "") + ")";
      sink.enrichFinding(f.id, cited, detail, f.confidence, "");
    }
  }
};

}  // namespace

std::unique_ptr<agent::Analyzer> makePastRunsAnalyzer() { return std::make_unique<PastRunsAnalyzer>(); }

}  // namespace opscopilot::tools
