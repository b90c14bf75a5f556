// recall_past_runs: what earlier DiagnosticRuns of the namespace found about
// the same target in the last days ("the third OOMKilled for this Deployment
// this week"). Reads the runs' status as the namespace's reader (and for the
// run's requester); their findings were redacted when they were written, and
// only their headlines are passed on, never the details after the first ": ".
#include <algorithm>
#include <cctype>
#include <ctime>

#include "tools/kube_tool.h"
#include "tools/render.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

const ApiKind kDiagnosticRun{"DiagnosticRun", {"opscopilot.io", "v1alpha1", "diagnosticruns", true}};
constexpr std::int64_t kDefaultDays = 7;
constexpr std::int64_t kMaxDays = 31;
constexpr std::size_t kMaxRuns = 200;  // of the target's runs, at most
constexpr std::size_t kMaxFindingsPerRun = 5;

std::string dayOf(double epoch) {
  std::time_t t = static_cast<std::time_t>(epoch);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

class RecallPastRunsTool : public KubeTool {
 public:
  RecallPastRunsTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings,
                 makeSpec("recall_past_runs",
                          "Lists what earlier finished DiagnosticRuns of this namespace found (Medium or worse) about "
                          "the same target in the last days, newest first: is this a repeat?",
                          R"({"type":"object","properties":{
"kind":{"type":"string","minLength":1,"maxLength":63},
"name":{"type":"string","minLength":1,"maxLength":253},
"days":{"type":"integer","minimum":1,"maximum":31}},
"required":["kind","name"],"additionalProperties":false})",
                          settings)) {}

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) override {
    auto kind = stringArg(args, "kind").value_or("");
    if (kind.empty() || !std::all_of(kind.begin(), kind.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); })) {
      return invalidArgs("\"kind\" must be a Kind, e.g. Deployment");
    }
    std::string name;
    if (auto bad = checkRequiredName(args, "name", &name)) return *bad;
    const auto days = std::clamp(intArg(args, "days").value_or(kDefaultDays), std::int64_t{1}, kMaxDays);
    const double since = static_cast<double>(std::time(nullptr)) - static_cast<double>(days) * 86400;

    auto data = newData();
    auto& a = data->GetAllocator();
    setMember(*data, "runs", rapidjson::Value(rapidjson::kArrayType));
    // The API server filters by target (the CRD's selectableFields).
    kube::ListOptions opts;
    opts.fieldSelector = "spec.target.kind=" + kind + ",spec.target.name=" + name;
    auto listed = call.list(kDiagnosticRun, opts, kMaxRuns);
    if (!listed.ok()) return call.failed(listed.error(), "list", kDiagnosticRun, {}, data);

    struct Past {
      double created;
      kube::ObjectPtr run;
    };
    std::vector<Past> past;
    for (auto& r : listed->items) {
      const auto phase = r->stringAt({"status", "phase"});
      if (phase != "Succeeded" && phase != "Failed") continue;
      if (r->stringAt({"spec", "target", "kind"}) != kind || r->stringAt({"spec", "target", "name"}) != name) continue;
      auto created = parseTime(r->stringAt({"metadata", "creationTimestamp"}));
      if (!created || *created < since) continue;
      past.push_back({*created, std::move(r)});
    }
    std::stable_sort(past.begin(), past.end(), [](const Past& x, const Past& y) { return x.created > y.created; });

    agent::ToolOutput out;
    std::size_t withFindings = 0;
    for (const auto& p : past) {
      rapidjson::Value item(rapidjson::kObjectType);
      item.AddMember("name", jsonString(std::string(p.run->name()), a), a);
      item.AddMember("created", jsonString(std::string(p.run->stringAt({"metadata", "creationTimestamp"})), a), a);
      rapidjson::Value findings(rapidjson::kArrayType);
      std::string text;
      if (const auto* fs = p.run->at({"status", "findings"}); fs && fs->IsArray()) {
        for (const auto& f : fs->GetArray()) {
          auto severity = kube::stringMember(f, "severity");
          if (severity != "Medium" && severity != "High" && severity != "Critical") continue;
          if (findings.Size() >= kMaxFindingsPerRun) break;
          // Only the headline (before the first ": "): what was wrong, not
          // the details (log lines, messages) the earlier run's reads showed,
          // which its requester may have been allowed to see and this one not.
          std::string_view title = kube::stringMember(f, "title");
          title = title.substr(0, title.find(": "));
          rapidjson::Value fi(rapidjson::kObjectType);
          fi.AddMember("severity", jsonString(std::string(severity), a), a);
          fi.AddMember("title", jsonString(std::string(title), a), a);
          findings.PushBack(fi, a);
          text += "\n(" + std::string(severity) + ") " + std::string(title);
        }
      }
      if (!findings.Empty()) {
        ++withFindings;
        if (out.evidence.size() < kMaxEvidence) {
          out.evidence.push_back({"DiagnosticRun/" + std::string(p.run->name()),
                                  "run " + std::string(p.run->name()) + " of " + dayOf(p.created) + " (" +
                                      std::string(p.run->stringAt({"status", "reason"})) + ") found:" + text});
        }
      }
      item.AddMember("findings", findings, a);
      (*data)["runs"].PushBack(item, a);
    }
    const std::string target = kind + "/" + name;
    out.summary = std::to_string(past.size()) + " earlier finished run" + (past.size() == 1 ? "" : "s") + " on " +
                  target + " in the last " + std::to_string(days) + " days, " + std::to_string(withFindings) +
                  " with findings";
    if (listed->truncated) out.summary += " (only the first " + std::to_string(kMaxRuns) + " runs were read)";
    if (out.evidence.empty()) out.evidence.push_back({"DiagnosticRun/*", out.summary});
    out.data = std::move(data);
    return out;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeRecallPastRunsTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<RecallPastRunsTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
