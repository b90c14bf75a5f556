// The run's actions (spec.actions): what the graph proposes once the
// investigation is done, which destinations an action call may use, and the
// answer's account of what was sent. Sending is the action tools' job
// (tools/actions.cpp); approval is the gate in RunGraph::advance.
#include <rapidjson/document.h>

#include <algorithm>

#include "agent/graph.h"
#include "agent/json_writer.h"
#include "agent/redaction.h"
#include "agent/run_state_json.h"

namespace opscopilot::agent {

namespace {

constexpr std::size_t kMaxNotifyBytes = 3000;
constexpr std::size_t kMaxTicketTitleBytes = 200;
constexpr std::size_t kMaxTicketBodyBytes = 12000;

std::string destinationOf(const std::string& argsJson) {
  rapidjson::Document d;
  d.Parse(argsJson.c_str());
  if (d.HasParseError() || !d.IsObject()) return {};
  auto it = d.FindMember("destination");
  return it != d.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString()) : std::string();
}

std::string cut(const std::string& text, std::size_t max) { return truncateText(text, max, false).text; }

// Text that leaves the process in an action: redacted now, so that the
// ApprovalRequest shows exactly what will be sent (and its digest matches).
std::string clean(const std::string& text) { return redactSecrets(text).text; }

std::string addString(rapidjson::Document& d, const char* key, const std::string& value) {
  d.AddMember(rapidjson::StringRef(key), rapidjson::Value(value.c_str(), static_cast<rapidjson::SizeType>(value.size()), d.GetAllocator()),
              d.GetAllocator());
  return value;
}

}  // namespace

std::string RunGraph::actionRefusal(const RunSpec& spec, const PlannedCall& call) const {
  if (!isAction(call.tool)) return {};
  const std::string dest = destinationOf(call.argsJson);
  std::string allowed;
  for (const auto& a : spec.actions) {
    if (a.tool != call.tool) continue;
    if (a.destination == dest) return {};
    allowed += (allowed.empty() ? "" : ", ") + a.destination;
  }
  return "destination \"" + dest + "\" is not one that this run's spec.actions names for " + call.tool +
         (allowed.empty() ? " (it names none)" : " (it names " + allowed + ")");
}

bool RunGraph::planActions(const RunSpec& spec, RunState& state) {
  if (spec.actions.empty()) return false;
  if (std::any_of(state.steps.begin(), state.steps.end(),
                  [](const Step& s) { return s.node == Node::Planner && s.reason == "ProposeActions"; })) {
    return false;
  }
  const auto ranked = rankFindings(state);
  std::vector<const Finding*> problems;
  for (const auto* f : ranked) {
    if (f->severity >= Severity::Medium) problems.push_back(f);
  }
  const std::string headline =
      problems.empty() ? "No problem found in " + spec.targetDescription()
                       : std::to_string(problems.size()) + (problems.size() == 1 ? " problem" : " problems") +
                             " found in " + spec.targetDescription();
  const std::string where = "kubectl describe diagnosticrun " + spec.runName + " -n " + spec.ns;
  // The draft answer: the model's, or the built-in one from the findings.
  const std::string draft = modelMode(state) && !state.answer.empty() ? state.answer
                                                                       : composeAnswer(spec, state, "Completed", "");

  auto& step = addStep(state, Node::Planner);
  step.reason = "ProposeActions";
  std::string proposed, skipped;
  for (const auto& action : spec.actions) {
    const std::string label = action.tool + " to " + action.destination;
    if (!action.always && problems.empty()) {
      skipped += (skipped.empty() ? "" : ", ") + label;
      continue;
    }
    // One per destination: a model may already have sent this one.
    if (std::any_of(state.steps.begin(), state.steps.end(), [&](const Step& s) {
          return s.tool == action.tool && destinationOf(s.argsJson) == action.destination;
        })) {
      continue;
    }
    rapidjson::Document args(rapidjson::kObjectType);
    addString(args, "destination", action.destination);
    if (action.tool == "notify") {
      std::string text = "OpsCopilot: " + headline + " (namespace " + spec.ns + ", run " + spec.runName + ")";
      for (std::size_t i = 0; i < problems.size() && i < 5; ++i) {
        text += "\n- " + std::string(toString(problems[i]->severity)) + ": " + problems[i]->title;
      }
      if (!problems.empty() && !problems.front()->remediation.empty()) {
        text += "\nFix: " + cut(problems.front()->remediation, 600);
      }
      text += "\nDetails: " + where;
      addString(args, "message", cut(clean(text), kMaxNotifyBytes));
    } else {
      const std::string subject = problems.empty() ? "no problem found" : problems.front()->title;
      addString(args, "title", cut(clean(spec.targetDescription() + ": " + subject), kMaxTicketTitleBytes));
      std::string body = cut(draft, kMaxTicketBodyBytes - 1000);
      body += "\n\n---\nFound by the OpsCopilot run `" + spec.runName + "` in namespace `" + spec.ns +
              "`, asked: \"" + cut(spec.question, 400) + "\". Evidence IDs ([E1], [R1], ...) are the run's "
              "status.evidence: `kubectl get diagnosticrun " + spec.runName + " -n " + spec.ns + " -o yaml`.";
      addString(args, "body", cut(clean(body), kMaxTicketBodyBytes));
    }
    state.plan.push_back(PlannedCall{action.tool, canonicalJson(jsonText(args)),
                                     "spec.actions: " + label + (action.always ? "" : " when a problem is found")});
    proposed += (proposed.empty() ? "" : ", ") + label;
  }
  step.state = StepState::Succeeded;
  step.summary = proposed.empty() ? "no action proposed" : "proposed for a person's approval: " + proposed;
  if (!skipped.empty()) step.summary += "; not proposed, as nothing Medium or worse was found: " + skipped;
  return true;
}

std::string actionsReport(const RunState& state, const std::function<bool(const std::string&)>& isAction) {
  std::string lines;
  for (std::size_t i = 0; i < state.steps.size(); ++i) {
    const Step& s = state.steps[i];
    if (!isAction(s.tool)) continue;
    if (s.node == Node::Approval) {
      std::string line = "- " + s.tool + " to " + destinationOf(s.argsJson) + ": " + s.summary;
      if (i + 1 < state.steps.size() && state.steps[i + 1].node == Node::Tool && state.steps[i + 1].tool == s.tool &&
          state.steps[i + 1].argsJson == s.argsJson) {
        line += "; " + state.steps[i + 1].summary;
        ++i;
      }
      lines += line + "\n";
    } else if (s.node == Node::Tool) {
      lines += "- " + s.tool + " to " + destinationOf(s.argsJson) + ": " + s.summary + "\n";
    }
  }
  return lines.empty() ? lines : "\n\n**Actions**\n" + lines;
}

}  // namespace opscopilot::agent
