// Quota analyzer (get_quotas): ResourceQuotas whose usage reached their hard
// limit, which makes the API server reject new pods (FailedCreate). When a
// finding already names the quota, it adds the quota's numbers to it.
#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "quota";
constexpr double kNearlyFull = 0.9;

class QuotaAnalyzer : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override {
    if (step.tool != "get_quotas" || !step.ok) return;
    for (const Json* rq : listAt(step.data, {"resourceQuotas"})) {
      std::string name = nameOf(rq);
      if (name.empty()) continue;
      std::string ns = namespaceOf(rq);
      const Json* hard = at(rq, {"status", "hard"});
      if (hard == nullptr || !hard->IsObject()) hard = at(rq, {"spec", "hard"});
      const Json* used = at(rq, {"status", "used"});
      std::vector<std::string> full;
      std::vector<std::string> nearly;
      std::vector<std::string> fullKeys;
      if (hard == nullptr || !hard->IsObject()) continue;
      for (const auto& m : hard->GetObject()) {
        std::string resource = str(&m.name);
        std::string limit = scalarText(&m.value);
        std::string use = scalarText(field(used, resource));
        auto l = parseQuantity(limit);
        auto u = parseQuantity(use);
        if (!l || !u) continue;
        std::string text = resource + " " + use + "/" + limit;
        if (*u >= *l) {
          full.push_back(text);
          fullKeys.push_back("spec.hard." + resource);
        } else if (*l > 0 && *u >= kNearlyFull * *l) {
          nearly.push_back(text);
        }
      }
      auto evidence = cite(step, {"ResourceQuota/" + name});
      std::string nsFlag = ns.empty() ? std::string() : " -n " + ns;
      std::string remediation = "Raise " + join(fullKeys, ", ") + " (`kubectl edit resourcequota " + name + nsFlag +
                                "`), or free quota: scale down or delete unused workloads and finished pods, or lower requests.";
      if (!full.empty()) {
        std::string existing = findingMatching(sink, "", "ResourceQuota " + name, kName);
        if (!existing.empty()) {
          const agent::Finding* f = findingById(sink, existing);
          std::string detail = "; quota usage " + join(full, ", ");
          bool said = f != nullptr && f->title.find("; quota usage") != std::string::npos;
          sink.enrichFinding(existing, evidence, said ? "" : detail, 95, "");
          continue;
        }
        agent::FindingDraft d;
        d.subject = "ResourceQuota/" + name;
        d.title = "ResourceQuota " + name + " is exhausted: " + join(full, ", ") +
                  (nearly.empty() ? std::string() : " (nearly: " + join(nearly, ", ") + ")") +
                  "; new pods that need more are rejected (FailedCreate)";
        d.severity = Severity::Medium;
        d.confidence = 90;
        d.evidence = evidence;
        d.remediation = remediation;
        sink.addFinding(kName, std::move(d));
      } else if (!nearly.empty()) {
        agent::FindingDraft d;
        d.subject = "ResourceQuota/" + name;
        d.title = "ResourceQuota " + name + " is nearly exhausted: " + join(nearly, ", ");
        d.severity = Severity::Low;
        d.confidence = 80;
        d.evidence = evidence;
        d.remediation = "The next scale-up or rollout surge may be rejected: raise the quota or trim usage.";
        sink.addFinding(kName, std::move(d));
      }
    }
  }
};

}  // namespace

std::unique_ptr<agent::Analyzer> makeQuotaAnalyzer() { return std::make_unique<QuotaAnalyzer>(); }

}  // namespace opscopilot::tools
