#include "agent/analyzer.h"

#include <rapidjson/document.h>

#include <algorithm>

#include "agent/run_state_json.h"

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

namespace {

void merge(std::vector<std::string>& into, const std::vector<std::string>& more) {
  for (const auto& id : more) {
    if (std::find(into.begin(), into.end(), id) == into.end()) into.push_back(id);
  }
}

}  // namespace

void RunStateSink::addFinding(std::string_view analyzer, FindingDraft d) {
  d.evidence = existing(d.evidence);
  for (auto& f : state_.findings) {
    if (f.analyzer == analyzer && f.subject == d.subject) {
      // Re-made from a later read. When it says nothing new (its title is the
      // start of the one in place), what other analyzers added (": log says
      // ...", their remediation and confidence) stays.
      const bool enriched = f.title.size() > d.title.size() && f.title.starts_with(d.title);
      f.severity = d.severity;
      if (!enriched) {
        f.title = d.title;
        f.confidence = std::clamp(d.confidence, 0, 100);
        if (!d.remediation.empty()) f.remediation = d.remediation;
      }
      merge(f.evidence, d.evidence);
      return;
    }
  }
  Finding f;
  f.id = "F" + std::to_string(state_.findings.size() + 1);
  f.title = std::move(d.title);
  f.severity = d.severity;
  f.confidence = std::clamp(d.confidence, 0, 100);
  f.evidence = std::move(d.evidence);
  f.remediation = std::move(d.remediation);
  f.analyzer = std::string(analyzer);
  f.subject = std::move(d.subject);
  state_.findings.push_back(std::move(f));
}

void RunStateSink::enrichFinding(std::string_view id, const std::vector<std::string>& evidence, std::string_view detail,
                                 int confidence, std::string_view remediation) {
  for (auto& f : state_.findings) {
    if (f.id != id) continue;
    merge(f.evidence, existing(evidence));
    if (!detail.empty() && f.title.find(detail) == std::string::npos) f.title += std::string(detail);
    f.confidence = std::max(f.confidence, std::clamp(confidence, 0, 100));
    if (!remediation.empty()) f.remediation = std::string(remediation);
  }
}

void RunStateSink::suggest(PlannedCall call) {
  call.argsJson = canonicalJson(call.argsJson);
  if (!spec_.toolAllowed(call.tool) || state_.alreadyCalled(call) || podsAlreadyRead(call)) return;
  if (std::find(state_.plan.begin(), state_.plan.end(), call) != state_.plan.end()) return;
  state_.plan.push_back(std::move(call));
}

std::vector<std::string> RunStateSink::existing(const std::vector<std::string>& ids) const {
  std::vector<std::string> out;
  for (const auto& id : ids) {
    if (state_.findEvidence(id) && std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  }
  return out;
}

// list_pods {names:[...]} for pods an earlier list_pods already read (its
// evidence has ref "Pod/NAME") would read the same objects again.
bool RunStateSink::podsAlreadyRead(const PlannedCall& call) const {
  if (call.tool != "list_pods") return false;
  rapidjson::Document args;
  args.Parse(call.argsJson.c_str());
  if (args.HasParseError() || !args.IsObject() || args.MemberCount() != 1 || !args.HasMember("names") ||
      !args["names"].IsArray() || args["names"].Empty()) {
    return false;
  }
  for (const auto& n : args["names"].GetArray()) {
    if (!n.IsString()) return false;
    const std::string ref = std::string("Pod/") + n.GetString();
    bool read = std::any_of(state_.evidence.begin(), state_.evidence.end(), [&](const EvidenceItem& e) {
      return e.tool == "list_pods" && (e.ref == ref || e.ref.rfind(ref + " ", 0) == 0);
    });
    if (!read) return false;
  }
  return true;
}

}  // namespace opscopilot::agent
