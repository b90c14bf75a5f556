#include <gtest/gtest.h>

#include "analysis_harness.h"

using namespace opscopilot;
using namespace opscopilot::analyzer_test;
using agent::Severity;

namespace {

class ServiceAnalyzer : public ::testing::Test {
 protected:
  std::unique_ptr<agent::Analyzer> analyzer = tools::makeServiceAnalyzer();
  TestSink sink;
};

TEST_F(ServiceAnalyzer, SelectorMatchingNoPodsShowsSelectorAndLooksForNearMatches) {
  auto step = stepFromFixture("get_service", "service_selector_mismatch.json",
                              {{"E1", "Service/web"}, {"E2", "Endpoints/web"}, {"E3", "Pod/*"}}, R"({"name":"web"})");
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_EQ(f.subject, "Service/web");
  EXPECT_TRUE(contains(f.title, "Service web has no endpoints: selector app=web matches no pods")) << f.title;
  EXPECT_EQ(f.severity, Severity::High);
  EXPECT_EQ(f.evidence, (std::vector<std::string>{"E1", "E2"}));
  EXPECT_TRUE(sink.suggested("list_pods", R"({"selector":"app"})"));
}

// The selector is right: the Deployment it would match is scaled to 0. The
// fix is the replicas, not the selector.
TEST_F(ServiceAnalyzer, NoPodsBecauseTheWorkloadIsScaledToZero) {
  auto step = stepWithJson("get_service",
                           R"({"service":{"metadata":{"name":"cart","namespace":"shop"},"spec":{"selector":{"app":"cart"}}},
                               "endpoints":null,"endpointSlices":[],"pods":[],
                               "workloads":[{"kind":"Deployment","name":"cart","replicas":0,"readyReplicas":0}]})",
                           {{"E1", "Service/cart"}, {"E2", "Pod/*"}, {"E3", "Deployment/cart"}}, R"({"name":"cart"})");
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "Service cart has no endpoints: Deployment cart, whose pods its selector app=cart matches, is "
                                "scaled to 0 replicas")) << f.title;
  EXPECT_EQ(f.severity, Severity::High);
  EXPECT_TRUE(contains(f.remediation, "kubectl scale deployment cart -n shop --replicas=N")) << f.remediation;
  EXPECT_FALSE(contains(f.remediation, "spec.selector")) << f.remediation;
  EXPECT_NE(std::find(f.evidence.begin(), f.evidence.end(), "E3"), f.evidence.end());
  EXPECT_FALSE(sink.suggested("list_pods")) << "no near-match search: the selector is right";
}

TEST_F(ServiceAnalyzer, PodsListNamesTheNearMatchAndTheSelectorFix) {
  auto svc = stepFromFixture("get_service", "service_selector_mismatch.json", {{"E1", "Service/web"}});
  run(*analyzer, *svc, sink);
  auto pods = stepFromFixture("list_pods", "pods_web_v2.json",
                              {{"E7", "Pod/web-v2-7c9d8e6f5-n4m5b"}, {"E8", "Pod/worker-5b6c7d8e9-q1w2e"}});
  run(*analyzer, *pods, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "; similar pods: web-v2-7c9d8e6f5-n4m5b has app=web-v2")) << f.title;
  EXPECT_TRUE(contains(f.remediation, R"(kubectl patch service web -n shop -p '{"spec":{"selector":{"app":"web-v2"}}}')"))
      << f.remediation;
  EXPECT_GE(f.confidence, 95);
  EXPECT_EQ(f.evidence, (std::vector<std::string>{"E1", "E7", "E8"}));
  // A second pod listing does not append again.
  run(*analyzer, *pods, sink);
  EXPECT_EQ(sink.findings()[0].title, f.title);
}

TEST_F(ServiceAnalyzer, MatchingPodsNotReadyMeansNoReadyEndpoints) {
  auto step = stepFromFixture("get_service", "service_no_ready_pods.json",
                              {{"E1", "Service/search"}, {"E2", "Endpoints/search"}, {"E3", "Pod/search-5f6d7c8b9-w2e4r"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "Service search has no ready endpoints: none of the 1 pod matching app=search is ready"))
      << f.title;
  EXPECT_EQ(f.severity, Severity::High);
  EXPECT_EQ(f.evidence, (std::vector<std::string>{"E1", "E2", "E3"}));
  EXPECT_TRUE(sink.suggested("list_pods", R"({"selector":"app=search"})"));
}

TEST_F(ServiceAnalyzer, TargetPortNotExposedByPodsIsAPortMismatch) {
  auto step = stepFromFixture("get_service", "service_port_mismatch.json", {{"E1", "Service/frontend"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "Service frontend port 80 sends traffic to targetPort 3000, but its pods expose 8080 in frontend"))
      << f.title;
  EXPECT_EQ(f.severity, Severity::High);
  EXPECT_TRUE(contains(f.remediation, "targetPort")) << f.remediation;
}

TEST_F(ServiceAnalyzer, HealthyServiceHasNothingAboveInfo) {
  auto step = stepFromFixture("get_service", "service_healthy.json", {{"E1", "Service/frontend"}});
  run(*analyzer, *step, sink);
  EXPECT_LE(sink.worstSeverity(), Severity::Info);
  EXPECT_TRUE(sink.findings().empty());
}

TEST_F(ServiceAnalyzer, ServiceWithoutSelectorIsManualInfo) {
  auto step = stepWithJson("get_service",
                           R"({"service":{"metadata":{"name":"legacy-db","namespace":"shop"},
                               "spec":{"type":"ClusterIP","ports":[{"port":5432}]}},
                              "endpoints":{"metadata":{"name":"legacy-db"},"subsets":[{"addresses":[{"ip":"192.168.10.5"}],
                                           "ports":[{"port":5432}]}]},
                              "endpointSlices":[],"pods":[]})",
                           {{"E1", "Service/legacy-db"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  EXPECT_EQ(sink.findings()[0].severity, Severity::Info);
  EXPECT_TRUE(contains(sink.findings()[0].title, "no selector")) << sink.findings()[0].title;
}

}  // namespace
