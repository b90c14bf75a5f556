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
  TestSink sink;
  auto feed = [&](const StepFixture& step) { analyzer_test::feed(analyzers, step, sink); };
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

TEST(BuiltinAnalyzers, StuckRolloutAnswerNamesTheFailingRevisionImageAndTheOneThatServes) {
  auto analyzers = tools::builtinAnalyzers();
  TestSink sink;
  auto workload = stepFromFixture("get_workload", "deployment_rollout_stuck.json",
                                  {{"E1", "Deployment/web"}, {"E2", "ReplicaSet/web-7d9f5c6b8d"}, {"E3", "ReplicaSet/web-5c4b8f7d9"}},
                                  R"({"kind":"Deployment","name":"web"})");
  feed(analyzers, *workload, sink);
  EXPECT_TRUE(sink.suggested("list_pods", R"({"selector":"app=web"})"));
  auto pods = stepFromFixture("list_pods", "pods_rollout_stuck.json",
                              {{"E4", "Pod/web-7d9f5c6b8d-xk2lp"},
                               {"E5", "Pod/web-5c4b8f7d9-2x7kq"},
                               {"E6", "Pod/web-5c4b8f7d9-9mznw"},
                               {"E7", "Pod/web-5c4b8f7d9-tq4hr"}},
                              R"({"selector":"app=web"})");
  feed(analyzers, *pods, sink);
  const auto* crash = sink.bySubject("Pod/web-7d9f5c6b8d-xk2lp/web");
  ASSERT_NE(crash, nullptr);
  EXPECT_TRUE(contains(crash->title, "crash-loops: exits with code 2 (Error)")) << crash->title;
  EXPECT_TRUE(contains(crash->title, "unknown field \"cacheTTL\"")) << crash->title;
  EXPECT_EQ(sink.findings().size(), 2u) << "the rollout and the crash; the old pods are healthy";

  EXPECT_TRUE(contains(crash->title, "; it runs revision 3 (image ghcr.io/example/web:2.1.0) of Deployment web, whose rollout is "
                                     "stuck while revision 2 (image ghcr.io/example/web:2.0.0) still serves"))
      << crash->title;
  EXPECT_TRUE(contains(crash->remediation, "Meanwhile `kubectl rollout undo deployment/web -n shop --to-revision=2` brings revision 2 "
                                           "back."))
      << crash->remediation;

  std::string answer = sink.answer();
  EXPECT_TRUE(contains(answer, "**Root cause (High, 85% confidence):** Container web in pod web-7d9f5c6b8d-xk2lp crash-loops"))
      << answer;
  EXPECT_TRUE(contains(answer, "it runs revision 3 (image ghcr.io/example/web:2.1.0) of Deployment web")) << answer;
  EXPECT_TRUE(contains(answer, "revision 3 (image ghcr.io/example/web:2.1.0, ReplicaSet web-7d9f5c6b8d) has 0 of 1 pods ready "
                               "while revision 2 (image ghcr.io/example/web:2.0.0, ReplicaSet web-5c4b8f7d9) still serves 3 ready "
                               "replicas"))
      << answer;
  EXPECT_TRUE(contains(answer, "kubectl rollout undo deployment/web -n shop --to-revision=2")) << answer;
  expectNoTemplateHoles(answer, "the answer", false);
}

TEST(BuiltinAnalyzers, PodsReadBeforeTheirDeploymentLearnTheStuckRevisionTheyRun) {
  auto analyzers = tools::builtinAnalyzers();
  TestSink sink;
  auto pods = stepFromFixture("list_pods", "pods_rollout_stuck.json", {{"E1", "Pod/web-7d9f5c6b8d-xk2lp"}},
                              R"({"selector":"app=web"})");
  feed(analyzers, *pods, sink);
  auto workload = stepFromFixture("get_workload", "deployment_rollout_stuck.json",
                                  {{"E2", "Deployment/web"}, {"E3", "ReplicaSet/web-7d9f5c6b8d"}, {"E4", "ReplicaSet/web-5c4b8f7d9"}},
                                  R"({"kind":"Deployment","name":"web"})");
  feed(analyzers, *workload, sink);
  const auto* crash = sink.bySubject("Pod/web-7d9f5c6b8d-xk2lp/web");
  ASSERT_NE(crash, nullptr);
  EXPECT_TRUE(contains(crash->title, "; it runs revision 3 (image ghcr.io/example/web:2.1.0) of Deployment web")) << crash->title;
  EXPECT_TRUE(contains(crash->remediation, "--to-revision=2")) << crash->remediation;
  EXPECT_EQ(crash->evidence, std::vector<std::string>{"E1"}) << "the pod's finding cites the pod";
}

}  // namespace
