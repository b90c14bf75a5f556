// OperatorMetrics: what the operator serves on /metrics, under
// controller-runtime's and client-go's names where they have one
// (controller_runtime_reconcile_*, workqueue_*, rest_client_*) and
// opscopilot_* for the rest: runs by phase and reason, node and tool
// durations, model requests, tokens, cost, retries and circuit-breaker state.
// Counters end in _total. Every label value is a name from a closed set
// (controller, phase, reason, node, tool, model profile, HTTP method and
// code), and the exposition passes the redactor on its way out like every
// other sink (scrape() returns RedactedText).
//
// docs/metrics.md lists them; charts/opscopilot/dashboards/opscopilot.json
// charts them (tests/e2e/metrics_test.sh runs each panel's query against a
// real Prometheus scraping the operator).
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "agent/llm/llm.h"
#include "agent/redacted.h"
#include "operator/controller/work_queue.h"

namespace opscopilot::controller {

class OperatorMetrics {
 public:
  OperatorMetrics();
  ~OperatorMetrics();
  OperatorMetrics(const OperatorMetrics&) = delete;
  OperatorMetrics& operator=(const OperatorMetrics&) = delete;

  // controller-runtime: one reconcile of controller ended with result
  // (success, error, requeue_after) after seconds.
  void reconciled(const std::string& controller, std::string_view result, double seconds);
  // controller_runtime_max_concurrent_reconciles and _active_workers.
  void workers(const std::string& controller, int max);
  void workerBusy(const std::string& controller, bool busy);
  // client-go's workqueue metrics for the queue called name.
  QueueMetrics& queue(const std::string& name);
  // client-go's rest_client metrics: one request to the API server.
  void request(std::string_view method, int status, std::optional<double> seconds);

  // A run ended (opscopilot_runs_finished_total{phase,reason}).
  void runFinished(std::string_view phase, std::string_view reason);
  // One graph node ran (planner, tool, critic, finalizer, ...) for seconds.
  void nodeDone(std::string_view node, double seconds);
  // One tool call ended with result (Succeeded, Failed, Denied, ...).
  void toolDone(std::string_view tool, std::string_view result, double seconds);
  // One model call through a profile's gateway ended.
  void modelCall(const std::string& profile, const agent::llm::CallRecord& call);
  // Registers a profile's series at zero, so they exist before its first call.
  void modelProfile(const std::string& profile);

  // What is read at scrape time.
  struct Snapshot {
    std::map<std::string, int> runsByPhase;  // cached runs
    int activeRuns = 0;
    int nodesRunning = 0, nodesWaiting = 0;
    std::size_t eventsPending = 0;  // recorded, not yet sent (EventRecorder)
    std::uint64_t statusWrites = 0;  // since start
    std::map<std::string, agent::llm::CircuitState> circuits;  // by profile
    struct Queue {
      std::size_t depth = 0;
      double unfinishedSeconds = 0, longestSeconds = 0;
    };
    std::map<std::string, Queue> queues;  // by name
  };
  // The exposition (Prometheus text format 0.0.4), after the snapshot.
  agent::RedactedText scrape(const Snapshot& now);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace opscopilot::controller
