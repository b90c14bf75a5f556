// How runs end other than by finishing their investigation: a refused status
// write, and a finished run's TTL.
#include "operator/controller/run_reconciler.h"

#include <rapidjson/document.h>

#include "agent/graph.h"
#include "agent/sink_redaction.h"
#include "operator/controller/json_log.h"

namespace opscopilot::controller {

using Clock = std::chrono::system_clock;

ReconcileResult RunReconciler::statusWriteFailed(const std::string& key, const kube::ObjectPtr& run,
                                                 agent::RunState state, Clock::time_point start,
                                                 const std::string& targetRef, const kube::Error& error) {
  if (error.isConflict() || error.isNotFound()) return {std::chrono::milliseconds(50), {}, "Superseded"};
  if (error.isTooLarge() || error.isInvalid()) return endRefusedRun(key, run, std::move(state), start, targetRef, error);
  return {{}, error, "StatusWriteFailed"};
}

ReconcileResult RunReconciler::endRefusedRun(const std::string& key, const kube::ObjectPtr& run, agent::RunState state,
                                             Clock::time_point start, const std::string& targetRef,
                                             const kube::Error& refused, bool prepared) {
  const bool tooLarge = refused.isTooLarge();
  const std::string why = "the API server refused the run's status (" + refused.toString() + ")";
  const auto uid = std::string(run->uid());
  const auto generation = run->generation();
  const EventTarget target = eventTargetFor(*run);
  if (!prepared) {
    // The ending (else prepared here before, and its write is retried).
    state.phase = agent::Phase::Failed;
    state.reason = tooLarge ? "StatusTooLarge" : "StatusRejected";
    state.plan.clear();
    for (auto& step : state.steps) {
      if (step.state == agent::StepState::AwaitingApproval || step.state == agent::StepState::Running) {
        step.state = agent::StepState::Failed;
        step.error = state.reason + ": the run ended before this step could run";
      }
    }
    std::size_t dropped = 0;
    for (auto& e : state.evidence) {
      if (e.excerpt.empty()) continue;
      e.excerpt = "[excerpt left out: the API server refused the run's status]";
      e.truncated = true;
      ++dropped;
    }
    state.message = why + "; the run ended here, saved without its " + std::to_string(dropped) + " evidence excerpts";
    if (state.answer.empty()) state.answer = "The investigation stopped early: " + why + ".";
  }
  ++state.usage.apiRequests;  // this status write
  auto written = writeStatus(run, state, start, targetRef, false);
  std::size_t steps = state.steps.size();
  if (!written.ok() && (written.error().isTooLarge() || written.error().isInvalid())) {
    // Not even that fits: keep the outcome and what it cost.
    agent::RunState bare;
    bare.phase = state.phase;
    bare.reason = state.reason;
    bare.usage = state.usage;
    ++bare.usage.apiRequests;
    bare.message = why + "; the run ended here, saved without its " + std::to_string(state.steps.size()) +
                   " steps, its evidence and its findings (" + written.error().toString() + ")";
    bare.answer = "The investigation stopped early and could not be saved: " + why + ".";
    written = writeStatus(run, bare, start, targetRef, false);
    steps = 0;
    state = std::move(bare);
  }
  if (!written.ok()) {
    // Kept until the final write lands: the next reconcile retries only it.
    std::lock_guard lock(writtenMu_);
    refusedEnds_[key] = RefusedEnd{uid, generation, state, start, targetRef, refused};
    logError("cannot write the final status of a run whose status was refused; will retry that write only",
             {{"controller", "diagnosticrun"}, {"namespace", run->ns()}, {"name", run->name()},
              {"error", written.error().toString()}});
    if (written.error().isConflict()) return {std::chrono::milliseconds(50), {}, "StatusRefused"};
    return {{}, written.error(), "StatusRefused"};
  }
  {
    std::lock_guard lock(writtenMu_);
    refusedEnds_.erase(key);
  }
  remember(key, *written, static_cast<int>(steps), true);
  events_.record(target, "Warning", state.reason, agent::redactText(state.message));
  logError("run ended: the API server refused its status",
           {{"controller", "diagnosticrun"}, {"namespace", run->ns()}, {"name", run->name()},
            {"reason", state.reason}, {"error", refused.toString()}});
  return {{}, {}, state.reason, state.reason};
}

ReconcileResult RunReconciler::finishedRun(const kube::ObjectPtr& run) {
  auto ttl = run->intAt({"spec", "ttlSecondsAfterFinished"});
  if (!ttl) return {{}, {}, "Finished"};
  auto done = parseRfc3339(run->stringAt({"status", "completionTime"}));
  if (!done) return {{}, {}, "Finished"};
  auto expiry = *done + std::chrono::seconds(*ttl);
  auto now = Clock::now();
  if (expiry > now) {
    return {std::chrono::duration_cast<std::chrono::milliseconds>(expiry - now) + std::chrono::milliseconds(10), {},
            "WaitingForTTL"};
  }
  kube::DeleteOptions del;
  del.preconditionUID = std::string(run->uid());
  del.propagationPolicy = "Background";
  auto r = client_->remove(kDiagnosticRuns, run->ns(), run->name(), del);
  if (!r.ok() && !r.error().isNotFound()) return {{}, r.error(), "DeleteFailed"};
  logInfo("deleted finished run after its TTL", {{"controller", "diagnosticrun"}, {"namespace", run->ns()}, {"name", run->name()}});
  return {{}, {}, "DeletedAfterTTL"};
}

}  // namespace opscopilot::controller
