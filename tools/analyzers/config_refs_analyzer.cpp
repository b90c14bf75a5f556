// Config refs analyzer (get_config_refs): confirms which referenced
// ConfigMaps and Secrets (and keys) are missing. It confirms the finding that
// named them (CreateContainerConfigError, FailedMount) or reports them on its
// own. It sees key names only, and never mentions values.
#include <algorithm>

#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/k8s_messages.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "config-refs";
constexpr std::string_view kConfirmed = "; confirmed: ";

struct Ref {
  std::string kind;
  std::string name;
  std::vector<std::string> keys;
  std::vector<std::string> evidence;
};

std::string keyList(const std::vector<std::string>& keys) {
  if (keys.empty()) return "it has no keys";
  std::vector<std::string> shown(keys.begin(), keys.begin() + std::min<std::size_t>(keys.size(), 8));
  return "keys: " + join(shown, ", ") + (keys.size() > shown.size() ? ", …" : "");
}

class ConfigRefsAnalyzer : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override {
    if (step.tool != "get_config_refs" || !step.ok) return;
    for (auto [field, kind] : {std::pair<const char*, const char*>{"configMaps", "ConfigMap"}, {"secrets", "Secret"}}) {
      for (const Json* entry : listAt(step.data, {field})) {
        Ref ref;
        ref.kind = kind;
        ref.name = strAt(entry, {"name"});
        const Json* exists = analysis::field(entry, "exists");
        if (ref.name.empty() || exists == nullptr || !exists->IsBool()) continue;
        for (const Json* k : listAt(entry, {"keys"})) {
          if (k->IsString() && !str(k).empty()) ref.keys.push_back(str(k));
        }
        ref.evidence = cite(step, {ref.kind + "/" + ref.name});
        if (exists->GetBool()) {
          checkKeys(ref, sink);
        } else {
          missing(ref, sink);
        }
      }
    }
  }

 private:
  static void missing(const Ref& ref, agent::AnalysisSink& sink) {
    std::string object = ref.kind + " " + ref.name;
    std::string id;
    for (const auto& f : sink.findings()) {
      if (f.analyzer == kName) continue;
      if (f.title.find(object + " not found") != std::string::npos ||
          f.title.find("not found in " + object) != std::string::npos) {
        id = f.id;
        break;
      }
    }
    if (!id.empty()) {
      const agent::Finding* f = findingById(sink, id);
      bool said = f != nullptr && f->title.find(kConfirmed) != std::string::npos;
      sink.enrichFinding(id, ref.evidence, said ? "" : std::string(kConfirmed) + object + " does not exist", 95, "");
      return;
    }
    agent::FindingDraft d;
    d.subject = ref.kind + "/" + ref.name;
    d.title = object + ", referenced by the workload's pods, does not exist";
    d.severity = Severity::High;
    d.confidence = 85;
    d.evidence = ref.evidence;
    d.remediation = configRefRemediation(ConfigRefError{ref.kind, ref.name, ""}, "", "");
    sink.addFinding(kName, std::move(d));
  }

  // Findings that said a key was missing from this object: confirm or correct.
  static void checkKeys(const Ref& ref, agent::AnalysisSink& sink) {
    std::string object = ref.kind + " " + ref.name;
    std::string marker = " not found in " + object;
    struct Update {
      std::string id;
      std::string detail;
      int confidence = 0;
    };
    std::vector<Update> updates;
    for (const auto& f : sink.findings()) {
      if (f.analyzer == kName || f.title.find(kConfirmed) != std::string::npos) continue;
      if (f.title.find(object + " not found") != std::string::npos) {
        updates.push_back({f.id, std::string(kConfirmed) + object + " exists now; the kubelet retries on its own", 0});
        continue;
      }
      auto p = f.title.find(marker);
      if (p == std::string::npos) continue;
      auto k = f.title.rfind("key ", p);
      if (k == std::string::npos || k + 4 > p) continue;
      std::string key = f.title.substr(k + 4, p - k - 4);
      bool present = std::find(ref.keys.begin(), ref.keys.end(), key) != ref.keys.end();
      updates.push_back({f.id, present ? std::string(kConfirmed) + object + " has key " + key + " now"
                                       : std::string(kConfirmed) + object + " has no key " + key + " (" + keyList(ref.keys) + ")",
                         present ? 0 : 95});
    }
    for (const auto& u : updates) sink.enrichFinding(u.id, ref.evidence, u.detail, u.confidence, "");
  }
};

}  // namespace

std::unique_ptr<agent::Analyzer> makeConfigRefsAnalyzer() { return std::make_unique<ConfigRefsAnalyzer>(); }

}  // namespace opscopilot::tools
