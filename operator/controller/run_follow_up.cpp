// Follow-up runs (spec.previousRun): a run waits until the earlier run it
// follows has finished, and fails with PreviousRunNotFound when there is no
// such run. What the earlier run found is read by the recall_previous_run
// tool, as the namespace's reader and for the requester, like any read.
#include "operator/controller/run_reconciler.h"

#include "agent/graph.h"
#include "agent/sink_redaction.h"
#include "operator/controller/json_log.h"

namespace opscopilot::controller {

using Clock = std::chrono::system_clock;

namespace {

// A run created moments ago may be seen before the earlier run it names
// (both applied at once, the cache a moment behind): not found only after this.
constexpr auto kNotFoundGrace = std::chrono::seconds(10);
constexpr auto kLookAgain = std::chrono::milliseconds(1000);

}  // namespace

std::optional<ReconcileResult> RunReconciler::awaitPreviousRun(const std::string& key, const kube::ObjectPtr& run,
                                                               agent::RunSpec& spec, Clock::time_point start) {
  const auto previous = cache_.get(spec.ns + "/" + spec.previousRun);
  if (!previous) {
    const auto created = parseRfc3339(run->stringAt({"metadata", "creationTimestamp"})).value_or(Clock::now());
    if (Clock::now() - created < kNotFoundGrace) return ReconcileResult{kLookAgain, {}, "WaitingForPreviousRun"};
    agent::RunState ended;
    ended.phase = agent::Phase::Failed;
    ended.reason = "PreviousRunNotFound";
    ended.message = "spec.previousRun: there is no DiagnosticRun \"" + spec.previousRun + "\" in namespace " + spec.ns;
    ended.answer = "The follow-up could not start: " + ended.message + ".";
    auto w = writeStatus(run, ended, start, {}, true);
    if (!w.ok()) return ReconcileResult{{}, w.error(), "StatusWriteFailed"};
    remember(key, *w, 0, true);
    events_.record(eventTargetFor(*run), "Warning", ended.reason, agent::redactText(ended.message));
    return ReconcileResult{{}, {}, ended.reason, ended.reason};
  }
  const auto phase = previous->stringAt({"status", "phase"});
  if (phase != "Succeeded" && phase != "Failed") {
    return ReconcileResult{kLookAgain, {}, "WaitingForPreviousRun"};
  }
  spec.previousFinished = parseRfc3339(previous->stringAt({"status", "completionTime"})).value_or(Clock::now());
  return std::nullopt;
}

}  // namespace opscopilot::controller
