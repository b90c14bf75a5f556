// Follow-up analyzer (recall_previous_run): a follow-up run starts from what
// the earlier run found. On the recall step it plans reading again what the
// earlier run read that may have changed (objects' state; Events and logs
// only since it finished: ToolContext::since), and records what the earlier
// run found as an Info finding on DiagnosticRun/NAME. On every later step it
// compares: each Medium+ finding of this run is marked as found by the
// earlier run too, or new since it; each of the earlier run's findings is
// marked still seen, or not seen now.
#include <set>

#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "follow-up";
constexpr std::string_view kFound = " found: ";
constexpr std::string_view kStill = " [still seen]";
constexpr std::string_view kGone = " [not seen now]";

// Tools whose earlier calls are made again: what they read may have changed.
// Logs are read again through the pods read now (pods are replaced).
bool readAgain(std::string_view tool) {
  for (std::string_view t : {"get_workload", "list_pods", "get_events", "get_service", "get_storage", "get_config_refs",
                             "get_quotas", "get_hpa", "get_ingress", "get_nodes", "query_metrics"}) {
    if (t == tool) return true;
  }
  return false;
}

struct Earlier {
  std::string run, subject, prefix;          // prefix: "Earlier run NAME (finished T)"
  std::vector<std::string> headlines;         // "(High) Container app ... crash-loops"
  std::vector<std::string> evidence;
};

// The earlier run as the recall step recorded it in its finding's title.
std::optional<Earlier> earlierFrom(const agent::AnalysisSink& sink) {
  for (const auto& f : sink.findings()) {
    if (f.analyzer != kName) continue;
    Earlier e;
    e.subject = f.subject;
    e.run = f.subject.substr(f.subject.find('/') + 1);
    e.evidence = f.evidence;
    const auto at = f.title.find(kFound);
    if (at == std::string::npos) return e;  // it found nothing
    e.prefix = f.title.substr(0, at);
    std::string rest = f.title.substr(at + kFound.size());
    for (std::size_t from = 0; from <= rest.size();) {
      auto end = rest.find("; (", from);
      std::string h = rest.substr(from, end == std::string::npos ? std::string::npos : end - from);
      for (auto mark : {kStill, kGone}) {
        if (h.ends_with(mark)) h.resize(h.size() - mark.size());
      }
      if (!h.empty()) e.headlines.push_back(h);
      if (end == std::string::npos) break;
      from = end + 2;
    }
    return e;
  }
  return std::nullopt;
}

// "(High) Container app ..." -> the signature of the text after the severity.
std::string signatureOf(const std::string& headline) {
  const auto close = headline.find(") ");
  return findingSignature(close == std::string::npos ? headline : headline.substr(close + 2));
}

class FollowUpAnalyzer final : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override {
    if (step.tool == "recall_previous_run") {
      if (step.ok && step.data) recall(step, sink);
      return;
    }
    compare(sink);
  }

 private:
  static void recall(const agent::StepView& step, agent::AnalysisSink& sink) {
    const std::string run = strAt(step.data, {"name"});
    for (const auto* c : listAt(step.data, {"calls"})) {
      const std::string tool = strAt(c, {"tool"});
      const auto* args = field(c, "args");
      if (!readAgain(tool) || !args || !args->IsObject()) continue;
      CallArgs copy;
      for (auto it = args->MemberBegin(); it != args->MemberEnd(); ++it) {
        const std::string key = it->name.GetString();
        if (it->value.IsString()) copy.str(key, it->value.GetString());
        else if (it->value.IsBool()) copy.flag(key, it->value.GetBool());
        else if (it->value.IsInt64()) copy.num(key, it->value.GetInt64());
        else if (it->value.IsArray()) {
          std::vector<std::string> items;
          for (const auto& x : it->value.GetArray()) {
            if (x.IsString()) items.emplace_back(x.GetString());
          }
          copy.strings(key, items);
        }
      }
      sink.suggest(plannedCall(tool, copy, "read again what run " + run + " read: it may have changed since"));
    }
    std::vector<std::string> headlines;
    for (const auto* f : listAt(step.data, {"findings"})) {
      const std::string severity = strAt(f, {"severity"});
      if (severity != "Medium" && severity != "High" && severity != "Critical") continue;
      std::string title = strAt(f, {"title"});
      title = title.substr(0, title.find(": "));
      headlines.push_back("(" + severity + ") " + title);
    }
    agent::FindingDraft d;
    d.subject = "DiagnosticRun/" + run;
    const std::string prefix = "Earlier run " + run + " (finished " + strAt(step.data, {"completionTime"}) + ")";
    d.title = headlines.empty() ? prefix + " found no problem" : prefix + std::string(kFound) + join(headlines, "; ");
    d.severity = Severity::Info;
    d.confidence = 100;
    if (auto id = step.evidenceFor("DiagnosticRun/" + run + " answer"); !id.empty()) d.evidence.push_back(id);
    d.remediation = "Compare with what this run reads now: Events and logs since then are the new ones.";
    sink.addFinding(kName, std::move(d));
  }

  static void compare(agent::AnalysisSink& sink) {
    auto earlier = earlierFrom(sink);
    if (!earlier) return;
    std::set<std::string> before, now;
    for (const auto& h : earlier->headlines) before.insert(signatureOf(h));
    const std::string also = "; the earlier run " + earlier->run + " found it too";
    const std::string fresh = "; new since the earlier run " + earlier->run;
    std::vector<agent::Finding> findings = sink.findings();  // enriching may move the sink's vector
    for (const auto& f : findings) {
      if (f.analyzer == kName || f.severity < Severity::Medium) continue;
      const auto sig = findingSignature(f.title);
      now.insert(sig);
      if (f.title.find(also) != std::string::npos || f.title.find(fresh) != std::string::npos) continue;
      sink.enrichFinding(f.id, before.contains(sig) ? earlier->evidence : std::vector<std::string>{},
                         before.contains(sig) ? also : fresh, 0, {});
    }
    if (earlier->headlines.empty()) return;
    std::vector<std::string> marked;
    for (const auto& h : earlier->headlines) marked.push_back(h + std::string(now.contains(signatureOf(h)) ? kStill : kGone));
    agent::FindingDraft d;
    d.subject = earlier->subject;
    d.title = earlier->prefix + std::string(kFound) + join(marked, "; ");
    d.severity = Severity::Info;
    d.confidence = 100;
    d.evidence = earlier->evidence;
    d.remediation = "Compare with what this run reads now: Events and logs since then are the new ones.";
    sink.addFinding(kName, std::move(d));
  }
};

}  // namespace

std::unique_ptr<agent::Analyzer> makeFollowUpAnalyzer() { return std::make_unique<FollowUpAnalyzer>(); }

}  // namespace opscopilot::tools
