// The built-in analyzers together, over the steps a builtin run takes for a
// crash-looping Deployment: the workload, its pods, their events and logs.
#include <gtest/gtest.h>

#include "analysis_harness.h"
#include "tools/builtin_tools.h"

using namespace opscopilot;
using namespace opscopilot::analyzer_test;
using agent::Severity;

namespace {

TEST(BuiltinAnalyzers, CrashLoopInvestigationEndsInOneEnrichedFinding) {
  auto analyzers = tools::builtinAnalyzers();
  FakeSink sink;
  auto feed = [&](const StepFixture& step) {
    for (auto& a : analyzers) a->analyze(step.view, sink);
  };
  auto workload = stepFromFixture("get_workload", "deployment_all_unavailable.json", {{"E1", "Deployment/checkout"}},
                                  R"({"kind":"Deployment","name":"checkout"})");
  feed(*workload);
  EXPECT_TRUE(sink.suggested("list_pods", R"({"selector":"app=checkout"})"));
  auto pods = stepFromFixture("list_pods", "pods_crashloop.json", {{"E2", "Pod/checkout-7d9f8b6c5-x2x7q"}},
                              R"({"selector":"app=checkout"})");
  feed(*pods);
  EXPECT_TRUE(sink.suggested("get_pod_logs", R"("previous":true)"));
  auto events = stepFromFixture("get_events", "events_crashloop.json", {{"E3", "Pod/checkout-7d9f8b6c5-x2x7q"}},
                                R"({"kind":"Pod","name":"checkout-7d9f8b6c5-x2x7q"})");
  feed(*events);
  auto logs = stepFromFixture("get_pod_logs", "logs_checkout_previous.json",
                              {{"E4", "Pod/checkout-7d9f8b6c5-x2x7q container checkout (previous)"}});
  feed(*logs);

  const auto* crash = sink.bySubject("Pod/checkout-7d9f8b6c5-x2x7q/checkout");
  ASSERT_NE(crash, nullptr);
  EXPECT_EQ(crash->severity, Severity::High);
  EXPECT_EQ(crash->evidence, (std::vector<std::string>{"E2", "E3", "E4"}));
  EXPECT_TRUE(contains(crash->title, "exits with code 1 (Error), 6 restarts")) << crash->title;
  EXPECT_TRUE(contains(crash->title, "log says \"required environment variable DATABASE_URL is not set\"")) << crash->title;
  EXPECT_TRUE(contains(crash->remediation, "DATABASE_URL")) << crash->remediation;
  const auto* deployment = sink.bySubject("Deployment/checkout");
  ASSERT_NE(deployment, nullptr);
  EXPECT_EQ(sink.findings().size(), 2u) << "the workload and the container, nothing repeated";
  for (const auto& f : sink.findings()) expectCitesStepEvidence(f, {workload.get(), pods.get(), events.get(), logs.get()});
}

}  // namespace
