#include "operator/controller/operator_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <mutex>
#include <set>

namespace opscopilot::controller {

namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;
using Labels = std::map<std::string, std::string>;

Family<Counter>& counter(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r);
}
Family<Gauge>& gauge(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r);
}
Family<Histogram>& histogram(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildHistogram().Name(name).Help(help).Register(r);
}

const Histogram::BucketBoundaries kReconcileBuckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
// client-go's workqueue buckets: 10 ns to 10 s, by tens.
const Histogram::BucketBoundaries kQueueBuckets{1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 10};
// client-go's rest_client_request_duration_seconds buckets.
const Histogram::BucketBoundaries kRequestBuckets{0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60};
const Histogram::BucketBoundaries kNodeBuckets{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};
const Histogram::BucketBoundaries kModelBuckets{0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300};

const char* circuitName(agent::llm::CircuitState s) {
  switch (s) {
    case agent::llm::CircuitState::Closed: return "closed";
    case agent::llm::CircuitState::Open: return "open";
    case agent::llm::CircuitState::HalfOpen: return "half_open";
  }
  return "closed";
}

}  // namespace

struct OperatorMetrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  prometheus::Registry& r = *registry;

  // controller-runtime
  Family<Counter>& reconciles = counter(r, "controller_runtime_reconcile_total", "Total number of reconciliations per controller");
  Family<Counter>& reconcileErrors = counter(r, "controller_runtime_reconcile_errors_total", "Total number of reconciliation errors per controller");
  Family<Histogram>& reconcileTime = histogram(r, "controller_runtime_reconcile_time_seconds", "Length of time per reconciliation per controller");
  Family<Gauge>& maxReconciles = gauge(r, "controller_runtime_max_concurrent_reconciles", "Maximum number of concurrent reconciles per controller");
  Family<Gauge>& activeWorkers = gauge(r, "controller_runtime_active_workers", "Number of currently used workers per controller");
  // client-go workqueue
  Family<Gauge>& depth = gauge(r, "workqueue_depth", "Current depth of workqueue");
  Family<Counter>& adds = counter(r, "workqueue_adds_total", "Total number of adds handled by workqueue");
  Family<Histogram>& queueLatency = histogram(r, "workqueue_queue_duration_seconds", "How long in seconds an item stays in workqueue before being requested");
  Family<Histogram>& workDuration = histogram(r, "workqueue_work_duration_seconds", "How long in seconds processing an item from workqueue takes");
  Family<Counter>& retries = counter(r, "workqueue_retries_total", "Total number of retries handled by workqueue");
  Family<Gauge>& unfinished = gauge(r, "workqueue_unfinished_work_seconds", "How many seconds of work has been done that is in progress and hasn't been observed by work_duration");
  Family<Gauge>& longest = gauge(r, "workqueue_longest_running_processor_seconds", "How many seconds has the longest running processor for workqueue been running");
  // client-go rest client
  Family<Counter>& requests = counter(r, "rest_client_requests_total", "Number of HTTP requests to the Kubernetes API server, partitioned by status code and method");
  Family<Histogram>& requestLatency = histogram(r, "rest_client_request_duration_seconds", "Request latency in seconds, broken down by verb");
  // OpsCopilot
  Family<Gauge>& runs = gauge(r, "opscopilot_runs", "DiagnosticRuns in the operator's cache, by phase");
  Family<Counter>& finished = counter(r, "opscopilot_runs_finished_total", "DiagnosticRuns finished by this process, by phase and reason");
  Family<Gauge>& activeRuns = gauge(r, "opscopilot_runs_active", "Runs in progress in this process");
  Family<Gauge>& nodes = gauge(r, "opscopilot_nodes", "Investigation nodes in the node pool, by state (running, waiting)");
  Family<Gauge>& eventsPending =
      gauge(r, "opscopilot_events_pending", "Kubernetes Events recorded and not yet sent (they go out one at a time)");
  Family<Counter>& statusWrites = counter(r, "opscopilot_status_writes_total", "DiagnosticRun status writes");
  Family<Histogram>& nodeDuration = histogram(r, "opscopilot_node_duration_seconds", "How long one investigation node took, by node (Planner, Tool, Critic, Finalizer, ...)");
  Family<Counter>& toolCalls = counter(r, "opscopilot_tool_calls_total", "Tool calls, by tool and result");
  Family<Histogram>& toolDuration = histogram(r, "opscopilot_tool_duration_seconds", "How long one tool call took, by tool");
  Family<Counter>& modelRequests = counter(r, "opscopilot_model_requests_total", "Model calls through a profile's gateway, by result (success or the error kind)");
  Family<Histogram>& modelDuration = histogram(r, "opscopilot_model_request_duration_seconds", "How long one model call took, retries and waits included, by profile");
  Family<Counter>& modelTokens = counter(r, "opscopilot_model_tokens_total", "Model tokens charged, by profile and type (prompt, completion)");
  Family<Counter>& modelCost = counter(r, "opscopilot_model_cost_usd_total", "Model cost charged in US dollars, by profile");
  Family<Counter>& modelRetries = counter(r, "opscopilot_model_retries_total", "Model calls retried by the gateway, by profile");
  Family<Gauge>& circuit = gauge(r, "opscopilot_model_circuit_breaker_state", "1 for the state the profile's circuit breaker is in (closed, open, half_open), 0 for the others");

  std::mutex mu;
  std::uint64_t statusWritesSeen = 0;
  std::set<std::string> phasesSeen{"Pending", "Running", "AwaitingApproval", "Succeeded", "Failed"};

  struct Queue final : QueueMetrics {
    Counter* adds;
    Histogram* latency;
    Histogram* work;
    Counter* retries;
    void added() override { adds->Increment(); }
    void waited(double s) override { latency->Observe(s); }
    void worked(double s) override { work->Observe(s); }
    void retried() override { retries->Increment(); }
  };
  std::map<std::string, std::unique_ptr<Queue>> queues;
};

OperatorMetrics::OperatorMetrics() : impl_(std::make_unique<Impl>()) {}
OperatorMetrics::~OperatorMetrics() = default;

void OperatorMetrics::reconciled(const std::string& controller, std::string_view result, double seconds) {
  auto c = std::string(controller);
  impl_->reconciles.Add({{"controller", c}, {"result", std::string(result)}}).Increment();
  if (result == "error") impl_->reconcileErrors.Add({{"controller", c}}).Increment();
  impl_->reconcileTime.Add({{"controller", c}}, kReconcileBuckets).Observe(seconds);
}

void OperatorMetrics::workers(const std::string& controller, int max) {
  auto c = std::string(controller);
  impl_->maxReconciles.Add({{"controller", c}}).Set(max);
  impl_->activeWorkers.Add({{"controller", c}}).Set(0);
  // Every result at zero, and the histogram, so rates exist before the first reconcile.
  for (const char* result : {"success", "error", "requeue_after"}) impl_->reconciles.Add({{"controller", c}, {"result", result}});
  impl_->reconcileErrors.Add({{"controller", c}});
  impl_->reconcileTime.Add({{"controller", c}}, kReconcileBuckets);
}

void OperatorMetrics::workerBusy(const std::string& controller, bool busy) {
  auto& g = impl_->activeWorkers.Add({{"controller", std::string(controller)}});
  busy ? g.Increment() : g.Decrement();
}

QueueMetrics& OperatorMetrics::queue(const std::string& name) {
  auto n = std::string(name);
  std::lock_guard lock(impl_->mu);
  auto& q = impl_->queues[n];
  if (!q) {
    q = std::make_unique<Impl::Queue>();
    const Labels l{{"name", n}};
    q->adds = &impl_->adds.Add(l);
    q->latency = &impl_->queueLatency.Add(l, kQueueBuckets);
    q->work = &impl_->workDuration.Add(l, kQueueBuckets);
    q->retries = &impl_->retries.Add(l);
    impl_->depth.Add(l);
    impl_->unfinished.Add(l);
    impl_->longest.Add(l);
  }
  return *q;
}

void OperatorMetrics::request(std::string_view method, int status, std::optional<double> seconds) {
  auto m = std::string(method);
  impl_->requests.Add({{"code", status > 0 ? std::to_string(status) : "<error>"}, {"method", m}}).Increment();
  if (seconds) impl_->requestLatency.Add({{"verb", m}}, kRequestBuckets).Observe(*seconds);
}

void OperatorMetrics::runFinished(std::string_view phase, std::string_view reason) {
  impl_->finished.Add({{"phase", std::string(phase)}, {"reason", std::string(reason)}}).Increment();
}

void OperatorMetrics::nodeDone(std::string_view node, double seconds) {
  impl_->nodeDuration.Add({{"node", std::string(node)}}, kNodeBuckets).Observe(seconds);
}

void OperatorMetrics::toolDone(std::string_view tool, std::string_view result, double seconds) {
  auto t = std::string(tool);
  impl_->toolCalls.Add({{"tool", t}, {"result", std::string(result)}}).Increment();
  impl_->toolDuration.Add({{"tool", t}}, kNodeBuckets).Observe(seconds);
}

void OperatorMetrics::modelProfile(const std::string& profile) {
  const Labels l{{"profile", std::string(profile)}};
  impl_->modelRequests.Add({{"profile", l.at("profile")}, {"result", "success"}});
  impl_->modelDuration.Add(l, kModelBuckets);
  impl_->modelTokens.Add({{"profile", l.at("profile")}, {"type", "prompt"}});
  impl_->modelTokens.Add({{"profile", l.at("profile")}, {"type", "completion"}});
  impl_->modelCost.Add(l);
  impl_->modelRetries.Add(l);
}

void OperatorMetrics::modelCall(const std::string& profile, const agent::llm::CallRecord& call) {
  auto p = std::string(profile);
  impl_->modelRequests.Add({{"profile", p}, {"result", call.error ? agent::llm::kindName(*call.error) : "success"}}).Increment();
  impl_->modelDuration.Add({{"profile", p}}, kModelBuckets).Observe(std::chrono::duration<double>(call.elapsed).count());
  impl_->modelTokens.Add({{"profile", p}, {"type", "prompt"}}).Increment(static_cast<double>(call.usage.promptTokens));
  impl_->modelTokens.Add({{"profile", p}, {"type", "completion"}}).Increment(static_cast<double>(call.usage.completionTokens));
  impl_->modelCost.Add({{"profile", p}}).Increment(static_cast<double>(call.costMicroUSD) / 1e6);
  if (call.attempts > 1) impl_->modelRetries.Add({{"profile", p}}).Increment(call.attempts - 1);
}

agent::RedactedText OperatorMetrics::scrape(const Snapshot& now) {
  Impl& m = *impl_;
  {
    std::lock_guard lock(m.mu);
    for (const auto& [phase, n] : now.runsByPhase) m.phasesSeen.insert(phase);
    if (now.statusWrites > m.statusWritesSeen) {
      m.statusWrites.Add({}).Increment(static_cast<double>(now.statusWrites - m.statusWritesSeen));
      m.statusWritesSeen = now.statusWrites;
    } else {
      m.statusWrites.Add({});
    }
  }
  std::set<std::string> phases;
  {
    std::lock_guard lock(m.mu);
    phases = m.phasesSeen;
  }
  for (const auto& phase : phases) {
    auto it = now.runsByPhase.find(phase);
    m.runs.Add({{"phase", std::string(phase)}}).Set(it == now.runsByPhase.end() ? 0 : it->second);
  }
  m.activeRuns.Add({}).Set(now.activeRuns);
  m.nodes.Add({{"state", "running"}}).Set(now.nodesRunning);
  m.nodes.Add({{"state", "waiting"}}).Set(now.nodesWaiting);
  m.eventsPending.Add({}).Set(static_cast<double>(now.eventsPending));
  for (const auto& [profile, state] : now.circuits) {
    auto p = std::string(profile);
    for (auto s : {agent::llm::CircuitState::Closed, agent::llm::CircuitState::Open, agent::llm::CircuitState::HalfOpen}) {
      m.circuit.Add({{"profile", p}, {"state", circuitName(s)}}).Set(s == state ? 1 : 0);
    }
  }
  for (const auto& [name, q] : now.queues) {
    const Labels l{{"name", std::string(name)}};
    m.depth.Add(l).Set(static_cast<double>(q.depth));
    m.unfinished.Add(l).Set(q.unfinishedSeconds);
    m.longest.Add(l).Set(q.longestSeconds);
  }
  // The sink: whatever a label carries, the exposition passes the redactor.
  return agent::redactText(prometheus::TextSerializer().Serialize(m.registry->Collect()));
}

}  // namespace opscopilot::controller
