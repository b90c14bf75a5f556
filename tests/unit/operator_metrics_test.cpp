// The operator's /metrics exposition (OperatorMetrics) through the real
// queue, gateway records and scrape: client-go and controller-runtime names,
// counters ending in _total, values as recorded, and the redactor on the way
// out.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "operator/controller/operator_metrics.h"
#include "operator/controller/work_queue.h"

using namespace opscopilot;
using namespace opscopilot::controller;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

// The value of one series ("name{labels}" exactly as exposed), or -1.
double value(const std::string& text, const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0) return std::stod(line.substr(series.size() + 1));
  }
  return -1;
}

}  // namespace

TEST(OperatorMetrics, WorkQueueReportsUnderClientGoNames) {
  OperatorMetrics m;
  WorkQueue q;
  q.observe(&m.queue("diagnosticrun"));
  q.add("a");
  q.add("a");  // already waiting: not an add
  q.add("b");
  auto k = q.get();
  EXPECT_GE(q.longestRunningSeconds(), 0.0);
  q.done(*k);
  q.addRateLimited("b");
  OperatorMetrics::Snapshot s;
  s.queues["diagnosticrun"] = {q.depth(), q.unfinishedWorkSeconds(), q.longestRunningSeconds()};
  const std::string text = m.scrape(s).str();
  EXPECT_EQ(value(text, R"(workqueue_adds_total{name="diagnosticrun"})"), 2);
  EXPECT_EQ(value(text, R"(workqueue_queue_duration_seconds_count{name="diagnosticrun"})"), 1);
  EXPECT_EQ(value(text, R"(workqueue_work_duration_seconds_count{name="diagnosticrun"})"), 1);
  EXPECT_EQ(value(text, R"(workqueue_retries_total{name="diagnosticrun"})"), 1);
  EXPECT_EQ(value(text, R"(workqueue_depth{name="diagnosticrun"})"), 1);
  EXPECT_EQ(value(text, R"(workqueue_longest_running_processor_seconds{name="diagnosticrun"})"), 0) << "nothing held now";
}

TEST(OperatorMetrics, ModelCallsByProfileWithTokensCostRetriesAndCircuitState) {
  OperatorMetrics m;
  m.modelProfile("gpt");
  m.modelProfile("idle");
  agent::llm::CallRecord ok;
  ok.attempts = 2;
  ok.usage = {100, 20};
  ok.costMicroUSD = 140;
  ok.elapsed = std::chrono::milliseconds(1500);
  m.modelCall("gpt", ok);
  agent::llm::CallRecord refused;
  refused.error = agent::llm::LlmError::Kind::CircuitOpen;
  m.modelCall("gpt", refused);
  OperatorMetrics::Snapshot s;
  s.circuits["gpt"] = agent::llm::CircuitState::Open;
  const std::string text = m.scrape(s).str();
  EXPECT_EQ(value(text, R"(opscopilot_model_requests_total{profile="gpt",result="success"})"), 1);
  EXPECT_EQ(value(text, R"(opscopilot_model_requests_total{profile="gpt",result="CircuitOpen"})"), 1);
  EXPECT_EQ(value(text, R"(opscopilot_model_tokens_total{profile="gpt",type="prompt"})"), 100);
  EXPECT_EQ(value(text, R"(opscopilot_model_tokens_total{profile="gpt",type="completion"})"), 20);
  EXPECT_DOUBLE_EQ(value(text, R"(opscopilot_model_cost_usd_total{profile="gpt"})"), 0.00014);
  EXPECT_EQ(value(text, R"(opscopilot_model_retries_total{profile="gpt"})"), 1);
  EXPECT_EQ(value(text, R"(opscopilot_model_request_duration_seconds_count{profile="gpt"})"), 2);
  EXPECT_EQ(value(text, R"(opscopilot_model_circuit_breaker_state{profile="gpt",state="open"})"), 1);
  EXPECT_EQ(value(text, R"(opscopilot_model_circuit_breaker_state{profile="gpt",state="closed"})"), 0);
  EXPECT_EQ(value(text, R"(opscopilot_model_requests_total{profile="idle",result="success"})"), 0)
      << "a profile's series exist before its first call";
}

TEST(OperatorMetrics, RunsReconcilesNodesToolsAndRequests) {
  OperatorMetrics m;
  m.workers("diagnosticrun", 4);
  m.reconciled("diagnosticrun", "success", 0.002);
  m.reconciled("diagnosticrun", "error", 0.5);
  m.workerBusy("diagnosticrun", true);
  m.runFinished("Succeeded", "Completed");
  m.runFinished("Failed", "InvalidSpec");
  m.nodeDone("tool", 0.03);
  m.toolDone("get_pod_logs", "Succeeded", 0.02);
  m.request("GET", 200, 0.004);
  m.request("PUT", 409, 0.01);
  m.request("GET", 0, std::nullopt);
  OperatorMetrics::Snapshot s;
  s.runsByPhase = {{"Running", 2}};
  s.statusWrites = 5;
  s.eventsPending = 7;
  std::string text = m.scrape(s).str();
  EXPECT_EQ(value(text, R"(controller_runtime_reconcile_total{controller="diagnosticrun",result="success"})"), 1);
  EXPECT_EQ(value(text, R"(controller_runtime_reconcile_total{controller="diagnosticrun",result="requeue_after"})"), 0);
  EXPECT_EQ(value(text, R"(controller_runtime_reconcile_errors_total{controller="diagnosticrun"})"), 1);
  EXPECT_EQ(value(text, R"(controller_runtime_max_concurrent_reconciles{controller="diagnosticrun"})"), 4);
  EXPECT_EQ(value(text, R"(controller_runtime_active_workers{controller="diagnosticrun"})"), 1);
  EXPECT_EQ(value(text, R"(opscopilot_runs_finished_total{phase="Failed",reason="InvalidSpec"})"), 1);
  EXPECT_EQ(value(text, R"(opscopilot_runs{phase="Running"})"), 2);
  EXPECT_EQ(value(text, R"(opscopilot_runs{phase="Succeeded"})"), 0);
  EXPECT_EQ(value(text, R"(opscopilot_node_duration_seconds_count{node="tool"})"), 1);
  EXPECT_EQ(value(text, R"(opscopilot_tool_calls_total{result="Succeeded",tool="get_pod_logs"})"), 1);
  EXPECT_EQ(value(text, R"(rest_client_requests_total{code="409",method="PUT"})"), 1);
  EXPECT_EQ(value(text, R"(rest_client_requests_total{code="<error>",method="GET"})"), 1);
  EXPECT_EQ(value(text, R"(rest_client_request_duration_seconds_count{verb="GET"})"), 1) << "a watch has no duration";
  EXPECT_EQ(value(text, "opscopilot_status_writes_total"), 5);
  EXPECT_EQ(value(text, "opscopilot_events_pending"), 7);
  s.statusWrites = 8;
  text = m.scrape(s).str();
  EXPECT_EQ(value(text, "opscopilot_status_writes_total"), 8) << "a counter of the writes since start";

  // Every counter ends in _total (Prometheus and OpenMetrics naming).
  std::regex type(R"(# TYPE (\S+) counter)");
  int counters = 0;
  for (std::sregex_iterator it(text.begin(), text.end(), type), end; it != end; ++it, ++counters) {
    EXPECT_TRUE((*it)[1].str().ends_with("_total")) << (*it)[1];
  }
  EXPECT_GE(counters, 6) << "the families with a series here";
}

TEST(OperatorMetrics, TheExpositionPassesTheRedactor) {
  OperatorMetrics m;
  m.toolDone("api_key=AKIAIOSFODNN7EXAMPLE", "Succeeded", 0.01);
  const std::string text = m.scrape({}).str();
  EXPECT_THAT(text, Not(HasSubstr("AKIAIOSFODNN7EXAMPLE")));
  EXPECT_THAT(text, HasSubstr("opscopilot_tool_calls_total{"));
}
