// RunReconciler: the DiagnosticRun reconciler. Level-based: it reads the run
// and its status and converges. A worker advances a run by one graph node at
// a time and hands the node itself (a tool or model call) to the NodePool,
// so a worker never waits on a call; when the node is done, the run's key is
// queued again and a worker takes the next step.
//
// What is written, and when (docs/DESIGN.md, "The run graph"): a phase change
// at once; a model call before it is sent (usage.llmCallsStarted) and its
// result and charge as soon as it returns, before anything uses them; other
// steps (tool reads, which are idempotent) once the call after them has been
// out for statusWriteInterval (the run waits on something slow: it shows what
// it did before), and at the latest 4 intervals after they happened. A fast
// built-in run writes twice: Running, and its answer. A restarted operator
// resumes from the last write: it may read again what a lost write held, but
// never repeats a model call on record or charges one twice.
//
// A spec change (a new metadata.generation) starts a fresh run for that
// generation; the previous steps and answer are replaced.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/analyzer.h"
#include "agent/llm/llm.h"
#include "agent/planner.h"
#include "agent/run_spec.h"
#include "agent/tool.h"
#include "operator/controller/approval.h"
#include "operator/controller/event_recorder.h"
#include "operator/controller/node_pool.h"
#include "operator/controller/operator_config.h"
#include "operator/controller/requester.h"
#include "operator/controller/run_spec_from.h"
#include "operator/controller/run_status.h"
#include "operator/kube/client.h"
#include "operator/controller/budget.h"
#include "operator/kube/informer.h"

namespace opscopilot::controller {

extern const kube::ResourceRef kDiagnosticRuns;
extern const kube::ResourceRef kApprovalRequests;

struct ReconcileResult {
  std::chrono::milliseconds requeueAfter{0};  // > 0: look again after this long
  std::optional<kube::Error> error;           // retry with backoff
  std::string outcome;                        // for logs: Completed, Advanced, InFlight, Requeued, ...
  std::string finishedReason;                 // the run ended in this reconcile, with this reason
  std::string finishedPhase;                  // and this phase (Succeeded, Failed)
};

// What the Events about a run point at.
EventTarget eventTargetFor(const kube::Object& run);

class OperatorMetrics;
class SpanExporter;

class RunReconciler {
 public:
  RunReconciler(std::shared_ptr<kube::Client> client, const kube::Informer& cache, const agent::ToolRegistry& tools,
                const std::vector<std::unique_ptr<agent::Analyzer>>& analyzers, const OperatorConfig& config,
                EventRecorder& events, const std::atomic<bool>& stopping, RequesterPolicy& requesterPolicy,
                const std::map<std::string, std::unique_ptr<agent::llm::Gateway>>* gateways = nullptr);
  ~RunReconciler();

  // Where a run's key goes when its node is done (the work queue's add).
  // Set before the first reconcile.
  void onNodeDone(std::function<void(const std::string&)> requeue) { requeue_ = std::move(requeue); }

  ReconcileResult reconcile(const std::string& key);

  // On shutdown, after the workers stopped: lets the nodes in flight end
  // (model calls end at once once the gateways are shut down), then writes
  // what each run in progress has not written yet. Returns the runs written.
  int checkpointAll();

  // Namespace budgets (DiagnosticBudget): with a cache of them, model runs
  // are admitted against their namespace's budget (budget.h). Set before the
  // first reconcile; without it, no budget applies.
  void useBudgets(const kube::Informer* budgets) { budgets_ = budgets; }
  // Node and tool durations go to metrics (set before the first reconcile).
  void useMetrics(OperatorMetrics* metrics) { metrics_ = metrics; }
  // Spans of each node and of each run at its end go to spans (tracing.h).
  void useTracing(SpanExporter* spans) { spans_ = spans; }
  // DiagnosticSchedules, and this process's identity: a run a schedule made
  // reads with the schedule's requester (schedule_reconciler.h).
  void useSchedules(const kube::Informer* schedules, agent::Requester self) {
    schedules_ = schedules;
    self_ = std::move(self);
  }
  // Writes the namespace's DiagnosticBudget status (period, spend, runs,
  // refusals) when it changed; errors are logged (the next charge writes again).
  void publishBudget(const std::string& ns);
  // A run was deleted: what it spent stays charged, its reservation goes.
  void runDeleted(const kube::Object& run);

  // Runs in progress in memory, and nodes in flight (for metrics).
  std::size_t activeRuns() const;
  std::size_t nodesInFlight() const { return pool_.running(); }
  std::size_t nodesWaiting() const { return pool_.waiting(); }

  // Status writes since start (for metrics and benchmarks).
  std::uint64_t statusWrites() const { return statusWrites_.load(); }

 private:
  kube::Result<kube::ObjectPtr> writeStatus(const kube::ObjectPtr& run, const agent::RunState& state,
                                            std::chrono::system_clock::time_point start, const std::string& targetRef,
                                            bool freshRun, const approval::Record* record = nullptr);
  ReconcileResult finishedRun(const kube::ObjectPtr& run);
  // Admits a model run against its namespace's budget: caps spec's cost
  // limit (and reserves it), or ends the run Failed (BudgetExhausted) and
  // returns what to return.
  std::optional<ReconcileResult> admitBudget(const std::string& key, const kube::ObjectPtr& run, agent::RunSpec& spec,
                                             const agent::RunState& state, std::chrono::system_clock::time_point start);

  // A follow-up run (spec.previousRun) starts once the earlier run has
  // finished: sets spec.previousFinished, or returns what to return (look
  // again later; or the run ended Failed, PreviousRunNotFound).
  std::optional<ReconcileResult> awaitPreviousRun(const std::string& key, const kube::ObjectPtr& run,
                                                  agent::RunSpec& spec, std::chrono::system_clock::time_point start);

  // A run in progress: its state lives here between nodes; the status holds
  // it as of the last write.
  struct ActiveRun;
  using ActivePtr = std::shared_ptr<ActiveRun>;
  ActivePtr findActive(const std::string& key);
  void dropActive(const std::string& key, const ActivePtr& active);
  // Starts (or resumes, after an approval) the run's nodes from state.
  ReconcileResult activate(const std::string& key, kube::ObjectPtr run, agent::RunState state, agent::RunSpec spec,
                           std::chrono::system_clock::time_point start, const std::string& targetRef, bool fresh);
  // A worker's turn with a run in progress.
  ReconcileResult step(const std::string& key, const ActivePtr& active);
  // Writes the run's state if it changed since the last write; the caller
  // holds active->writeMu.
  kube::Result<bool> flush(const ActivePtr& active);
  void submitNode(const ActivePtr& active);
  // A token for a write that only shows progress (statusProgressWritesPerSecond).
  bool takeProgressWrite();
  // On a NodePool thread: runs one node of the run.
  void runNode(const ActivePtr& active);
  ReconcileResult runFinished(const std::string& key, const kube::ObjectPtr& run, const agent::RunState& state);
  // For a run whose last step waits for approval: creates its
  // ApprovalRequest (and records its UID in the run's status), or reads it
  // back and applies the decision to state, honouring only the request the
  // controller created for this step of this generation (approval.h); any
  // other is Rejected and the step skipped. Returns nullopt when the run may
  // go on, or the result to return while it keeps waiting. May replace run
  // with a fresher copy (after its own status write).
  std::optional<ReconcileResult> awaitApproval(kube::ObjectPtr& run, agent::RunState& state,
                                               std::chrono::system_clock::time_point start, const std::string& targetRef);
  // What a reconcile does after a status write failed: another writer got
  // there first (conflict, gone): look again shortly; refused for size or
  // content: endRefusedRun; else retry with backoff.
  ReconcileResult statusWriteFailed(const std::string& key, const kube::ObjectPtr& run, agent::RunState state,
                                    std::chrono::system_clock::time_point start, const std::string& targetRef,
                                    const kube::Error& error);
  // Ends a run whose status the API server refused for its size or content
  // (kube::Error::isTooLarge, isInvalid). Writing it again would be refused
  // again, and leaving it would re-run, on the next reconcile, every node
  // whose result the lost write held (a model call is paid for). So the run
  // ends Failed (StatusTooLarge or StatusRejected) with what fits: its steps,
  // findings and answer without evidence excerpts; if that is refused too,
  // only its outcome and usage. Until that final write lands, the ending is
  // kept in memory, and each reconcile retries only that write.
  // prepared: state is the ending made by an earlier call (from
  // refusedEnds_), whose write is retried as it is.
  ReconcileResult endRefusedRun(const std::string& key, const kube::ObjectPtr& run, agent::RunState state,
                                std::chrono::system_clock::time_point start, const std::string& targetRef,
                                const kube::Error& refused, bool prepared = false);
  void remember(const std::string& key, const kube::ObjectPtr& run, int steps, bool finished);
  // True when the cache has not caught up with this process's last write of
  // the run; then *mine is that write's object when it was the final one.
  bool cacheIsBehind(const std::string& key, const kube::Object& run, kube::ObjectPtr* mine = nullptr);

  std::shared_ptr<kube::Client> client_;
  const kube::Informer& cache_;
  const agent::ToolRegistry& tools_;
  const std::vector<std::unique_ptr<agent::Analyzer>>& analyzers_;
  const OperatorConfig& config_;
  EventRecorder& events_;
  const std::atomic<bool>& stopping_;
  RequesterPolicy& requesterPolicy_;
  const std::map<std::string, std::unique_ptr<agent::llm::Gateway>>* gateways_;
  agent::BuiltinPlanner planner_;
  const kube::Informer* budgets_ = nullptr;
  const kube::Informer* schedules_ = nullptr;
  agent::Requester self_;
  BudgetLedger ledger_;
  std::atomic<std::uint64_t> statusWrites_{0};
  std::function<void(const std::string&)> requeue_;
  OperatorMetrics* metrics_ = nullptr;
  SpanExporter* spans_ = nullptr;
  mutable std::mutex activeMu_;
  std::unordered_map<std::string, ActivePtr> active_;  // by key
  std::mutex progressMu_;
  double progressTokens_ = 0;
  std::chrono::steady_clock::time_point progressLast_;
  NodePool pool_;  // last: its threads stop before the rest goes

  // What this process last wrote per run, to notice a cache that has not
  // caught up with our own writes yet.
  struct Written {
    std::string uid;
    int steps = 0;
    bool finished = false;
    // The run as this process's final write left it (slim), kept only until
    // the cache has caught up: a reconcile woken by an older event reads it
    // instead of asking the API server.
    kube::ObjectPtr final;
  };
  std::mutex writtenMu_;
  std::unordered_map<std::string, Written> written_;

  // Runs whose status was refused and whose final write has not landed yet
  // (endRefusedRun), per key; guarded by writtenMu_.
  struct RefusedEnd {
    std::string uid;
    std::int64_t generation = 0;
    agent::RunState state;
    std::chrono::system_clock::time_point start;
    std::string targetRef;
    kube::Error refused;
  };
  std::unordered_map<std::string, RefusedEnd> refusedEnds_;
  // ApprovalRequests this process created whose record the status write
  // after the create did not store (run UID, record), per key; guarded by
  // writtenMu_.
  std::unordered_map<std::string, std::pair<std::string, approval::Record>> unrecorded_;
};

}  // namespace opscopilot::controller
