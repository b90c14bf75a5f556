// recall_previous_run: what an earlier DiagnosticRun of the namespace asked,
// answered and cited, for a follow-up question (spec.previousRun). Read as the
// namespace's reader and for the run's requester: whoever may `get` that run
// may read its status with kubectl anyway. Its answer and evidence were
// redacted when they were written, and pass the redactor again here.
#include <algorithm>

#include "tools/kube_tool.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

const ApiKind kDiagnosticRun{"DiagnosticRun", {"opscopilot.io", "v1alpha1", "diagnosticruns", true}};
constexpr std::size_t kMaxAnswer = 1500;

class RecallPreviousRunTool : public KubeTool {
 public:
  RecallPreviousRunTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings, specFor(settings)) {}

 private:
  static agent::ToolSpec specFor(const ToolSettings& settings) {
    auto spec = makeSpec("recall_previous_run",
                         "Reads an earlier finished DiagnosticRun of this namespace: its question, answer, findings and "
                         "the evidence they cite (a follow-up question starts from it).",
                         R"({"type":"object","properties":{
"name":{"type":"string","minLength":1,"maxLength":253}},
"required":["name"],"additionalProperties":false})",
                         settings);
    spec.readsCluster = false;
    return spec;
  }

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) override {
    std::string name;
    if (auto bad = checkRequiredName(args, "name", &name)) return *bad;
    auto data = newData();
    auto& a = data->GetAllocator();
    auto got = call.get(kDiagnosticRun, name);
    if (!got.ok()) return call.failed(got.error(), "get", kDiagnosticRun, name, data);
    const auto& run = **got;
    const auto phase = std::string(run.stringAt({"status", "phase"}));
    const auto question = std::string(run.stringAt({"spec", "question"}));
    const auto finished = std::string(run.stringAt({"status", "completionTime"}));
    std::string answer(run.stringAt({"status", "answer"}));
    setMember(*data, "name", jsonString(name, a));
    setMember(*data, "question", jsonString(question, a));
    setMember(*data, "phase", jsonString(phase, a));
    setMember(*data, "reason", jsonString(run.stringAt({"status", "reason"}), a));
    setMember(*data, "completionTime", jsonString(finished, a));
    setMember(*data, "answer", jsonString(answer, a));

    agent::ToolOutput out;
    if (phase != "Succeeded" && phase != "Failed") {
      out.ok = false;
      out.errorReason = "Error";
      out.summary = "DiagnosticRun " + name + " has not finished (" + (phase.empty() ? "Pending" : phase) + ")";
      out.evidence.push_back({"DiagnosticRun/" + name, out.summary});
      out.data = std::move(data);
      return out;
    }
    if (answer.size() > kMaxAnswer) answer = answer.substr(0, kMaxAnswer) + " ...";
    out.evidence.push_back({"DiagnosticRun/" + name + " answer", "run " + name + " (" + phase + ", finished " + finished +
                                                                      ") was asked \"" + question + "\" and answered: " + answer});

    // Its findings, and the evidence they cite (most severe first).
    rapidjson::Value findings(rapidjson::kArrayType);
    std::vector<std::string> cited;
    if (const auto* fs = run.at({"status", "findings"}); fs && fs->IsArray()) {
      for (const auto& f : fs->GetArray()) {
        rapidjson::Value fi(rapidjson::kObjectType);
        for (const char* k : {"id", "severity", "title"}) fi.AddMember(rapidjson::StringRef(k), jsonString(kube::stringMember(f, k), a), a);
        auto ids = stringListArg(f, "evidence").value_or(std::vector<std::string>{});
        fi.AddMember("evidence", stringArray(ids, a), a);
        findings.PushBack(fi, a);
        for (auto& id : ids) {
          if (std::find(cited.begin(), cited.end(), id) == cited.end()) cited.push_back(id);
        }
      }
    }
    setMember(*data, "findings", std::move(findings));
    rapidjson::Value evidence(rapidjson::kArrayType);
    if (const auto* es = run.at({"status", "evidence"}); es && es->IsArray()) {
      for (const auto& id : cited) {
        for (const auto& e : es->GetArray()) {
          if (kube::stringMember(e, "id") != id) continue;
          const std::string ref(kube::stringMember(e, "ref"));
          const std::string excerpt(kube::stringMember(e, "excerpt"));
          rapidjson::Value ev(rapidjson::kObjectType);
          ev.AddMember("id", jsonString(id, a), a);
          ev.AddMember("tool", jsonString(kube::stringMember(e, "tool"), a), a);
          ev.AddMember("ref", jsonString(ref, a), a);
          evidence.PushBack(ev, a);
          if (out.evidence.size() < kMaxEvidence) {
            out.evidence.push_back({"DiagnosticRun/" + name + " " + id + " " + ref, "earlier, run " + name + " read: " + excerpt});
          }
        }
      }
    }
    setMember(*data, "evidence", std::move(evidence));
    // The reads it made, for reading again what may have changed.
    rapidjson::Value calls(rapidjson::kArrayType);
    if (const auto* ss = run.at({"status", "steps"}); ss && ss->IsArray()) {
      for (const auto& st : ss->GetArray()) {
        if (kube::stringMember(st, "node") != "tool" || kube::stringMember(st, "state") != "Succeeded") continue;
        rapidjson::Value c(rapidjson::kObjectType);
        c.AddMember("tool", jsonString(kube::stringMember(st, "tool"), a), a);
        rapidjson::Value argsCopy(rapidjson::kObjectType);
        if (const auto* sa = kube::member(st, "args"); sa && sa->IsObject()) argsCopy.CopyFrom(*sa, a);
        c.AddMember("args", argsCopy, a);
        calls.PushBack(c, a);
      }
    }
    setMember(*data, "calls", std::move(calls));
    out.summary = "run " + name + " (" + phase + ", finished " + finished + "): " +
                  std::to_string((*data)["findings"].Size()) + " findings, " + std::to_string(cited.size()) +
                  " pieces of evidence cited";
    out.data = std::move(data);
    return out;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeRecallPreviousRunTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<RecallPreviousRunTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
