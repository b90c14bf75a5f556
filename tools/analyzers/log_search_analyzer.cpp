// Log search analyzer (search_logs): says how often the pattern appears, in
// which pods and since which line, citing the logs that matched. It is what
// the person asked to look for, not a diagnosis: Low when the pattern
// matched, Info when nothing did (also an answer).
#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "log-search";
constexpr std::size_t kQuoteMax = 160;

class LogSearchAnalyzer final : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override {
    if (step.tool != "search_logs" || !step.ok || !step.data) return;
    const auto* data = step.data;
    std::string pattern = strAt(data, {"pattern"});
    if (pattern.empty()) return;
    auto matches = intAt(data, {"matches"}).value_or(0);
    auto searched = intAt(data, {"podsSearched"}).value_or(0);
    auto matched = intAt(data, {"podsMatched"}).value_or(0);

    agent::FindingDraft f;
    f.subject = "search /" + pattern + "/";
    f.evidence = step.allEvidence();
    if (matches == 0) {
      if (searched == 0) return;
      f.severity = Severity::Info;
      f.confidence = 80;
      f.title = "No log line of the " + countOf(searched, "pod") + " searched matches /" + pattern + "/";
      sink.addFinding(kName, std::move(f));
      return;
    }
    // The log with the most matches, and its first matching line.
    const Json* top = nullptr;
    for (const auto* log : listAt(data, {"logs"})) {
      if (intAt(log, {"matches"}).value_or(0) > (top ? intAt(top, {"matches"}).value_or(0) : 0)) top = log;
    }
    std::string where = strAt(top, {"pod"}) + " (container " + strAt(top, {"container"}) +
                        (boolAt(top, {"previous"}) ? ", previous instance" : "") + ")";
    std::string first;
    if (auto lines = listAt(top, {"firstMatches"}); !lines.empty()) first = shorten(oneLine(str(lines.front())), kQuoteMax);
    f.severity = Severity::Low;
    f.confidence = 90;
    f.title = countOf(matches, "log line") + " in " + std::to_string(matched) + " of " + countOf(searched, "pod") +
              " match /" + pattern + "/, most in " + where + (first.empty() ? "" : ": \"" + first + "\"");
    sink.addFinding(kName, std::move(f));
  }
};

}  // namespace

std::unique_ptr<agent::Analyzer> makeLogSearchAnalyzer() { return std::make_unique<LogSearchAnalyzer>(); }

}  // namespace opscopilot::tools
