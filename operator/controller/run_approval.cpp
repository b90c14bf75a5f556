// A run's wait for a person: the ApprovalRequest it creates, and the decision
// it honours (approval.h says which).
#include "operator/controller/run_reconciler.h"

#include <rapidjson/document.h>

#include "agent/graph.h"
#include "agent/sink_redaction.h"
#include "operator/controller/json_log.h"

namespace opscopilot::controller {

using Clock = std::chrono::system_clock;

std::optional<ReconcileResult> RunReconciler::awaitApproval(kube::ObjectPtr& run, agent::RunState& state,
                                                            Clock::time_point start, const std::string& targetRef) {
  const agent::Step* step = agent::RunGraph::pendingApproval(state);
  if (!step) return std::nullopt;
  const auto action = approval::actionFor(*run, *step);
  const std::string name = approval::requestName(action.runName, action.generation, action.stepID);
  const std::string stepText = "step " + std::to_string(step->id) + " (" + step->tool + ")";
  const EventTarget target = eventTargetFor(*run);

  auto record = approval::recordFrom(*run);
  if (!record || record->stepID != action.stepID || record->generation != action.generation) {
    // Nothing recorded in the cached copy. The cache may not have our last
    // status write yet: ask the API server before concluding that the
    // controller never created a request for this step.
    auto fresh = client_->get(kDiagnosticRuns, run->ns(), run->name());
    if (!fresh.ok()) {
      return ReconcileResult{{}, fresh.error().isNotFound() ? std::nullopt : std::optional(fresh.error()), "Refetch"};
    }
    if ((*fresh)->uid() != run->uid() || (*fresh)->generation() != run->generation() ||
        (*fresh)->intAt({"status", "stepCount"}) != run->intAt({"status", "stepCount"})) {
      return ReconcileResult{std::chrono::milliseconds(50), {}, "Superseded"};
    }
    run = *fresh;
    record = approval::recordFrom(*run);
  }
  // A request this process created whose record never reached the status
  // (the write after the create failed): this process knows its UID, so it
  // is still the controller's own. It is recorded again below.
  std::optional<approval::Record> unrecorded;
  if (!record || record->stepID != action.stepID || record->generation != action.generation) {
    std::lock_guard lock(writtenMu_);
    if (auto it = unrecorded_.find(run->key()); it != unrecorded_.end()) {
      const auto& [runUID, rec] = it->second;
      if (runUID == run->uid() && rec.name == name && rec.stepID == action.stepID && rec.generation == action.generation) {
        unrecorded = rec;
        record = rec;
      }
    }
  }

  kube::ObjectPtr request;
  if (auto got = client_->get(kApprovalRequests, run->ns(), name); got.ok()) {
    request = *got;
  } else if (!got.error().isNotFound()) {
    return ReconcileResult{{}, got.error(), "ApprovalReadFailed"};
  }
  auto decision = approval::decide(action, record, request ? &request->json() : nullptr, Clock::now());
  if (unrecorded && decision.verdict == approval::Verdict::Wait) {
    ++state.usage.apiRequests;  // this status write
    if (auto written = writeStatus(run, state, start, targetRef, false, &*unrecorded); written.ok()) {
      run = *written;
      remember(run->key(), run, static_cast<int>(state.steps.size()), false);
      std::lock_guard lock(writtenMu_);
      unrecorded_.erase(run->key());
    } else {
      logError("cannot record the ApprovalRequest in the run's status yet", {{"controller", "diagnosticrun"},
               {"namespace", run->ns()}, {"name", run->name()}, {"approvalRequest", name},
               {"error", written.error().toString()}});
      return statusWriteFailed(run->key(), run, state, start, targetRef, written.error());
    }
  }

  if (decision.verdict == approval::Verdict::Create) {
    const agent::Tool* tool = tools_.find(step->tool);
    const std::string risk = tool && !tool->spec().risk.empty() ? tool->spec().risk : "Medium";
    const auto expiresAt = Clock::now() + std::chrono::hours(1);
    // The sink: the whole request passes the redactor. Arguments that lost a
    // secret to it no longer match the action, so such a request is Rejected,
    // never run. The summary (it quotes what the model or a tool wrote) is
    // redacted before requestJson cuts it, so no secret is cut in half.
    auto created = client_->create(kApprovalRequests, run->ns(),
                                   agent::redactJsonBody(approval::requestJson(
                                       action, agent::redactForSink(step->summary), risk, expiresAt)));
    if (created.ok()) {
      // Record which request is ours (its UID) before anyone can decide on
      // it; only that object is ever honoured for this step. Should this
      // write fail, this process remembers the UID and records it on the
      // next reconcile; should the process die first, the request stays
      // unrecorded and is refused: the failure mode is "not run", never
      // "run without approval".
      const approval::Record rec{name, std::string((*created)->uid()), action.stepID, action.generation};
      ++state.usage.apiRequests;  // this status write
      auto written = writeStatus(run, state, start, targetRef, false, &rec);
      if (!written.ok()) {
        {
          // Kept in memory, so this process still knows the request as its
          // own; lost with the process, and then the request is refused.
          std::lock_guard lock(writtenMu_);
          unrecorded_[run->key()] = {std::string(run->uid()), rec};
        }
        logError("cannot record the ApprovalRequest in the run's status; will record it again",
                 {{"controller", "diagnosticrun"}, {"namespace", run->ns()}, {"name", run->name()},
                  {"approvalRequest", name}, {"error", written.error().toString()}});
        return statusWriteFailed(run->key(), run, state, start, targetRef, written.error());
      }
      run = *written;
      remember(run->key(), run, static_cast<int>(state.steps.size()), false);
      {
        std::lock_guard lock(writtenMu_);
        unrecorded_.erase(run->key());
      }
      events_.record(target, "Normal", "AwaitingApproval", agent::redactText(stepText + " waits for ApprovalRequest " + name));
      return ReconcileResult{std::chrono::hours(1) + std::chrono::milliseconds(10), {}, "AwaitingApproval"};
    }
    if (created.error().reason != "AlreadyExists") return ReconcileResult{{}, created.error(), "ApprovalCreateFailed"};
    // Someone created it between our read and our create: not ours.
    auto got = client_->get(kApprovalRequests, run->ns(), name);
    if (!got.ok()) return ReconcileResult{{}, got.error(), "ApprovalReadFailed"};
    request = *got;
    decision = approval::decide(action, std::nullopt, &request->json(), Clock::now());
  }

  if (decision.verdict == approval::Verdict::Wait) {
    auto wait = decision.expiresAt ? std::chrono::duration_cast<std::chrono::milliseconds>(*decision.expiresAt - Clock::now())
                                   : std::chrono::milliseconds(std::chrono::hours(1));
    return ReconcileResult{std::max(wait, std::chrono::milliseconds(0)) + std::chrono::milliseconds(10), {}, "AwaitingApproval"};
  }

  agent::ApprovalDecision d;
  d.decidedBy = decision.decidedBy;
  d.comment = decision.comment;
  std::string phase(approval::toString(decision.verdict));
  std::string message;
  switch (decision.verdict) {
    case approval::Verdict::Approved:
      d.outcome = agent::ApprovalDecision::Outcome::Approved;
      message = "approved by " + d.decidedBy;
      break;
    case approval::Verdict::Denied:
      d.outcome = agent::ApprovalDecision::Outcome::Denied;
      message = "denied by " + d.decidedBy;
      break;
    case approval::Verdict::Expired:
      d.outcome = agent::ApprovalDecision::Outcome::Expired;
      message = "expired without a decision";
      break;
    default:
      // Rejected: the step is skipped like a denied one and the run goes on
      // without it. Failing the whole run instead would let anyone who can
      // create an ApprovalRequest (a forged or stale one) abort other
      // people's investigations; skipping keeps the rest of the evidence
      // and answer, and the step, an Event and the request's status say why.
      d.outcome = agent::ApprovalDecision::Outcome::Denied;
      d.decidedBy.clear();
      d.comment.clear();
      message = decision.why;
      break;
  }
  agent::RunGraph::decide(state, d);
  if (decision.verdict == approval::Verdict::Rejected) {
    agent::Step& s = state.steps.back();  // the approval step (decide adds none)
    s.summary = s.tool + " did not run: " + decision.why;
    s.error = "ApprovalRequestRejected: " + decision.why;
    events_.record(target, "Warning", "ApprovalRequestRejected", agent::redactText(stepText + " did not run: " + decision.why));
    logInfo("approval request rejected", {{"controller", "diagnosticrun"}, {"namespace", run->ns()},
                                          {"name", run->name()}, {"approvalRequest", name}, {"why", decision.why}});
  }
  // The request's status says what the controller made of it. A request
  // already judged keeps its phase (the controller's own request from an
  // earlier generation stays Approved or Denied); the UID in the patch makes
  // it apply to exactly the object that was judged.
  const auto current = request ? request->stringAt({"status", "phase"}) : std::string_view();
  const bool judged = !current.empty() && current != "Pending";
  if (request && current != phase && !(decision.verdict == approval::Verdict::Rejected && judged)) {
    rapidjson::Document patch(rapidjson::kObjectType);
    auto& a = patch.GetAllocator();
    rapidjson::Value meta(rapidjson::kObjectType), st(rapidjson::kObjectType);
    meta.AddMember("uid", rapidjson::Value(std::string(request->uid()).c_str(), a), a);
    st.AddMember("phase", rapidjson::Value(phase.c_str(), a), a);
    st.AddMember("message", rapidjson::Value(agent::redactForSink(message).substr(0, 2000).c_str(), a), a);
    if (decision.verdict == approval::Verdict::Approved || decision.verdict == approval::Verdict::Denied) {
      st.AddMember("decidedAt", rapidjson::Value(agent::formatTime(Clock::now()).c_str(), a), a);
    }
    patch.AddMember("metadata", meta, a);
    patch.AddMember("status", st, a);
    auto r = client_->patch(kApprovalRequests, run->ns(), name, kube::PatchType::Merge, agent::redactJson(patch), {},
                            "status");
    if (!r.ok()) logError("cannot update the ApprovalRequest status", {{"name", name}, {"error", r.error().toString()}});
  }
  return std::nullopt;
}

}  // namespace opscopilot::controller
