// RunReconciler: the DiagnosticRun reconciler. Level-based: it reads the run
// and its status and converges, running the investigation one graph node at
// a time and writing the status (through the status subresource, with
// optimistic concurrency) after every node, so a restarted operator resumes
// where the last write left off.
//
// A spec change after a run finished (a new metadata.generation) starts a
// fresh run for that generation; the previous steps and answer are replaced.
#pragma once

#include <atomic>
#include <chrono>
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
#include "operator/controller/operator_config.h"
#include "operator/controller/requester.h"
#include "operator/kube/client.h"
#include "operator/kube/informer.h"

namespace opscopilot::controller {

extern const kube::ResourceRef kDiagnosticRuns;
extern const kube::ResourceRef kApprovalRequests;

struct ReconcileResult {
  std::chrono::milliseconds requeueAfter{0};  // > 0: look again after this long
  std::optional<kube::Error> error;           // retry with backoff
  std::string outcome;                        // for logs and metrics: Completed, Resumed, Requeued, ...
};

// Builds a RunSpec from a DiagnosticRun and the operator config, applying
// defaults and caps. Returns an Error with reason InvalidSpec (and a message
// a person understands) for what admission could not catch.
kube::Result<agent::RunSpec> runSpecFrom(const kube::Object& run, const OperatorConfig& config);

// What the informer keeps of a DiagnosticRun: never metadata.managedFields;
// for a finished run only what reconciling it still needs (spec, metadata,
// phase, reason, generations and times), not its steps, evidence, findings or
// answer. Keeps the operator small with thousands of finished runs cached.
kube::ObjectPtr slimForCache(const kube::ObjectPtr& run);

class RunReconciler {
 public:
  RunReconciler(std::shared_ptr<kube::Client> client, const kube::Informer& cache, const agent::ToolRegistry& tools,
                const std::vector<std::unique_ptr<agent::Analyzer>>& analyzers, const OperatorConfig& config,
                EventRecorder& events, const std::atomic<bool>& stopping, RequesterPolicy& requesterPolicy,
                const std::map<std::string, std::unique_ptr<agent::llm::Gateway>>* gateways = nullptr);

  ReconcileResult reconcile(const std::string& key);

  // Status writes since start (for metrics and benchmarks).
  std::uint64_t statusWrites() const { return statusWrites_.load(); }

 private:
  kube::Result<kube::ObjectPtr> writeStatus(const kube::ObjectPtr& run, const agent::RunState& state,
                                            std::chrono::system_clock::time_point start, const std::string& targetRef,
                                            bool freshRun, const approval::Record* record = nullptr);
  ReconcileResult finishedRun(const kube::ObjectPtr& run);
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
  ReconcileResult endRefusedRun(const std::string& key, const kube::ObjectPtr& run, agent::RunState state,
                                std::chrono::system_clock::time_point start, const std::string& targetRef,
                                const kube::Error& refused);
  void remember(const std::string& key, const kube::ObjectPtr& run, int steps, bool finished);
  bool cacheIsBehind(const std::string& key, const kube::Object& run);

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
  std::atomic<std::uint64_t> statusWrites_{0};

  // What this process last wrote per run, to notice a cache that has not
  // caught up with our own writes yet.
  struct Written {
    std::string uid;
    int steps = 0;
    bool finished = false;
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
