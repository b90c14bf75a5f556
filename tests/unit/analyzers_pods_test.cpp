#include <gtest/gtest.h>

#include "analysis_harness.h"

using namespace opscopilot;
using namespace opscopilot::analyzer_test;
using agent::Severity;

namespace {

class PodStatusAnalyzer : public ::testing::Test {
 protected:
  std::unique_ptr<agent::Analyzer> analyzer = tools::makePodStatusAnalyzer();
  TestSink sink;
};

TEST_F(PodStatusAnalyzer, CrashLoopBackOffFindingNamesExitCodeAndSuggestsPreviousLogs) {
  auto step = stepFromFixture("list_pods", "pods_crashloop.json", {{"E1", "Pod/checkout-7d9f8b6c5-x2x7q"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_EQ(f.subject, "Pod/checkout-7d9f8b6c5-x2x7q/checkout");
  EXPECT_TRUE(contains(f.title, "Container checkout in pod checkout-7d9f8b6c5-x2x7q crash-loops")) << f.title;
  EXPECT_TRUE(contains(f.title, "exits with code 1 (Error)")) << f.title;
  EXPECT_TRUE(contains(f.title, "6 restarts")) << f.title;
  EXPECT_EQ(f.severity, Severity::High);
  EXPECT_GE(f.confidence, 80);
  EXPECT_EQ(f.evidence, std::vector<std::string>{"E1"});
  EXPECT_TRUE(contains(f.remediation, "kubectl logs checkout-7d9f8b6c5-x2x7q -c checkout --previous -n shop")) << f.remediation;
  EXPECT_TRUE(sink.suggested("get_pod_logs", R"({"pod":"checkout-7d9f8b6c5-x2x7q","container":"checkout","previous":true})"));
  EXPECT_TRUE(sink.suggested("get_events", R"({"kind":"Pod","name":"checkout-7d9f8b6c5-x2x7q"})"));
}

TEST_F(PodStatusAnalyzer, OomKilledFindingStatesMemoryLimitAndAdvisesRaisingIt) {
  auto step = stepFromFixture("list_pods", "pods_oomkilled.json", {{"E2", "Pod/catalog-api-6f8d9c7b4-p9k2m"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "OOMKilled")) << f.title;
  EXPECT_TRUE(contains(f.title, "memory limit 256Mi")) << f.title;
  EXPECT_EQ(f.severity, Severity::High);
  EXPECT_TRUE(contains(f.remediation, "limits.memory")) << f.remediation;
  EXPECT_TRUE(contains(f.remediation, "deployment/catalog-api")) << f.remediation;
  expectCitesStepEvidence(f, {step.get()});
}

TEST_F(PodStatusAnalyzer, ImagePullBackOffNamesImageAndAsksForPullEvents) {
  auto step = stepFromFixture("list_pods", "pods_imagepullbackoff.json", {{"E1", "Pod/payments-5c7b8d9f6-q4w8e"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "cannot pull image ghcr.io/example/payments:9.9.9-does-not-exist")) << f.title;
  EXPECT_TRUE(contains(f.title, "ImagePullBackOff")) << f.title;
  EXPECT_EQ(f.severity, Severity::High);
  EXPECT_FALSE(f.remediation.empty());
  EXPECT_TRUE(sink.suggested("get_events", R"("name":"payments-5c7b8d9f6-q4w8e")"));
}

TEST_F(PodStatusAnalyzer, ErrImagePullUnauthorizedPointsAtImagePullSecrets) {
  auto step = stepFromFixture("list_pods", "pods_errimagepull_auth.json", {{"E1", "Pod/reports-84d6f5b7c9-zt5rn"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "registry.example.com/internal/reports:4.1.0")) << f.title;
  EXPECT_TRUE(contains(f.title, "credentials")) << f.title;
  EXPECT_TRUE(contains(f.remediation, "imagePullSecrets")) << f.remediation;
  EXPECT_TRUE(contains(f.remediation, "the pod has no imagePullSecrets")) << f.remediation;
  EXPECT_TRUE(contains(f.remediation, "--docker-server=registry.example.com")) << f.remediation;
}

TEST_F(PodStatusAnalyzer, CreateContainerConfigErrorNamesMissingKeyAndAsksForConfigRefs) {
  auto step = stepFromFixture("list_pods", "pods_config_error.json", {{"E3", "Pod/orders-6b9c7d8f5-m2n4b"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "key DB_URL not found in Secret db")) << f.title;
  EXPECT_TRUE(contains(f.title, "CreateContainerConfigError")) << f.title;
  EXPECT_EQ(f.severity, Severity::High);
  EXPECT_TRUE(contains(f.remediation, "secretKeyRef")) << f.remediation;
  EXPECT_TRUE(sink.suggested("get_config_refs",
                             R"({"configMaps":["orders-config","shared-env"],"secrets":["db","orders-tls"]})"));
}

TEST_F(PodStatusAnalyzer, InitContainerCrashLoopSuggestsItsPreviousLogs) {
  auto step = stepFromFixture("list_pods", "pods_init_failure.json", {{"E1", "Pod/inventory-59d8c7f6b4-h7j9k"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u) << "the app container waiting in PodInitializing is not a separate problem";
  const auto& f = sink.findings()[0];
  EXPECT_EQ(f.subject, "Pod/inventory-59d8c7f6b4-h7j9k/migrate");
  EXPECT_TRUE(contains(f.title, "Init container migrate")) << f.title;
  EXPECT_TRUE(contains(f.title, "stuck initializing")) << f.title;
  EXPECT_TRUE(contains(f.title, "connection refused")) << "termination message quoted: " << f.title;
  EXPECT_TRUE(sink.suggested("get_pod_logs", R"("container":"migrate","previous":true)"));
}

TEST_F(PodStatusAnalyzer, UnschedulablePodExplainsTaintAndInsufficientMemory) {
  auto step = stepFromFixture("list_pods", "pods_unschedulable.json", {{"E1", "Pod/analytics-7b5d6c8f9-r3t5y"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_EQ(f.subject, "Pod/analytics-7b5d6c8f9-r3t5y");
  EXPECT_TRUE(contains(f.title, "cannot be scheduled")) << f.title;
  EXPECT_TRUE(contains(f.title, "insufficient memory (2 nodes)")) << f.title;
  EXPECT_TRUE(contains(f.title, "untolerated taint node-role.kubernetes.io/control-plane (1 node)")) << f.title;
  EXPECT_TRUE(contains(f.title, "it requests memory 6Gi")) << f.title;
  EXPECT_EQ(f.severity, Severity::High);
  EXPECT_TRUE(contains(f.remediation, "resources.requests.memory")) << f.remediation;
  EXPECT_FALSE(contains(f.remediation, "toleration")) << "never advise tolerating the control plane: " << f.remediation;
  EXPECT_TRUE(sink.suggested("get_events", R"("name":"analytics-7b5d6c8f9-r3t5y")"));
  EXPECT_TRUE(sink.suggested("get_nodes"));
  EXPECT_TRUE(sink.suggested("get_quotas"));
}

TEST_F(PodStatusAnalyzer, UntoleratedTaintWithoutNameTellsHowToFindIt) {
  // Kubernetes 1.35: "3 node(s) had untolerated taint(s)", no taint named.
  auto step = stepFromFixture("list_pods", "pods_unschedulable_untolerated_taints.json", {{"E1", "Pod/ml-train-6c8d7f9b5-q2w4e"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "Pod ml-train-6c8d7f9b5-q2w4e cannot be scheduled: untolerated taints the scheduler does not name "
                                "(3 nodes)"))
      << f.title;
  EXPECT_TRUE(contains(f.remediation, "The scheduler does not name the taint: list the nodes' taints with "
                                      "`kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints`"))
      << f.remediation;
  EXPECT_TRUE(contains(f.remediation, "add a toleration for it to the pod template of deployment/ml-train")) << f.remediation;
  EXPECT_FALSE(contains(f.remediation, "{key:")) << "no toleration for a taint nobody named: " << f.remediation;
  EXPECT_TRUE(sink.suggested("get_nodes")) << "the nodes name the taint";
}

TEST_F(PodStatusAnalyzer, ImagePullErrorWithoutImageInTheMessageNamesTheImageAndItsRegistry) {
  // CRI-O's error names no `image "..."`: the image comes from the container status.
  auto step = stepFromFixture("list_pods", "pods_errimagepull_crio.json", {{"E1", "Pod/payments-5c7b8d9f6-h8j2k"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "cannot pull image ghcr.io/example/payments:9.9.9-does-not-exist: the image or tag does not exist "
                                "(ErrImagePull)"))
      << f.title;
  EXPECT_TRUE(contains(f.remediation, "Image ghcr.io/example/payments:9.9.9-does-not-exist does not exist in ghcr.io")) << f.remediation;
  EXPECT_TRUE(contains(f.remediation, "`crane ls ghcr.io/example/payments`")) << f.remediation;
  EXPECT_TRUE(contains(f.remediation, "`kubectl set image deployment/payments payments=ghcr.io/example/payments:<existing-tag> -n shop`"))
      << f.remediation;
}

TEST_F(PodStatusAnalyzer, UnboundClaimAsksForThatClaimNotForNodes) {
  auto step = stepFromFixture("list_pods", "pods_unbound_pvc.json", {{"E1", "Pod/db-0"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "unbound PersistentVolumeClaims")) << f.title;
  EXPECT_TRUE(contains(f.remediation, "kubectl describe pvc data-db-0 -n shop")) << f.remediation;
  EXPECT_TRUE(sink.suggested("get_storage", R"({"name":"data-db-0"})"));
  EXPECT_FALSE(sink.suggested("get_nodes"));
}

TEST_F(PodStatusAnalyzer, RunningButUnreadyContainerBlamesReadinessProbe) {
  auto step = stepFromFixture("list_pods", "pods_not_ready.json", {{"E1", "Pod/search-5f6d7c8b9-w2e4r"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "running but not ready: readiness probe httpGet :9200/ready fails")) << f.title;
  EXPECT_EQ(f.severity, Severity::Medium);
  EXPECT_TRUE(sink.suggested("get_events", R"("name":"search-5f6d7c8b9-w2e4r")"));
  EXPECT_TRUE(sink.suggested("get_pod_logs", R"("pod":"search-5f6d7c8b9-w2e4r")")) << "the app may log why it is not ready";
}

TEST_F(PodStatusAnalyzer, EvictedPodNamesResourceAndUsage) {
  auto step = stepFromFixture("list_pods", "pods_evicted.json", {{"E1", "Pod/reports-84d6f5b7c9-k8l9m"}});
  run(*analyzer, *step, sink);
  const auto* f = sink.bySubject("Pod/reports-84d6f5b7c9-k8l9m");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->title, "evicted: its node ran low on memory")) << f->title;
  EXPECT_TRUE(contains(f->title, "container reports used 1843200Ki with a request of 256Mi")) << f->title;
  EXPECT_EQ(f->severity, Severity::Medium);
  EXPECT_EQ(sink.findings().size(), 1u) << "the killed container of an evicted pod is a consequence";
}

TEST_F(PodStatusAnalyzer, LivenessKilledContainerIsReportedOnceAsRestarts) {
  auto step = stepWithJson("list_pods", R"({"items":[{"kind":"Pod",
      "metadata":{"name":"api-1","namespace":"shop","labels":{"app":"api"}},
      "spec":{"containers":[{"name":"api","image":"ghcr.io/example/api:1.0",
        "livenessProbe":{"httpGet":{"path":"/healthz","port":8080}},"readinessProbe":{"httpGet":{"path":"/ready","port":8080}}}]},
      "status":{"phase":"Running","conditions":[{"type":"Ready","status":"False"}],
        "containerStatuses":[{"name":"api","ready":false,"restartCount":3,"started":true,
          "state":{"running":{"startedAt":"2026-11-21T09:40:00Z"}},
          "lastState":{"terminated":{"exitCode":137,"reason":"Error","startedAt":"2026-11-21T09:35:00Z",
                                     "finishedAt":"2026-11-21T09:39:58Z"}}}]}}]})",
                           {{"E1", "Pod/api-1"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "Container api in pod api-1 restarted 3 times; last run exits with code 137 (Error): killed, "
                                "likely by its failing liveness probe (httpGet :8080/healthz)"))
      << f.title;
  EXPECT_EQ(f.severity, Severity::Medium);
  EXPECT_TRUE(contains(f.remediation, "startupProbe")) << f.remediation;
  EXPECT_TRUE(sink.suggested("get_pod_logs", R"("previous":true)"));
}

TEST_F(PodStatusAnalyzer, HealthyPodsProduceNoFinding) {
  auto step = stepFromFixture("list_pods", "pods_healthy.json",
                              {{"E1", "Pod/frontend-6d8f9b7c5-abcde"}, {"E2", "Pod/frontend-6d8f9b7c5-fghij"}});
  run(*analyzer, *step, sink);
  EXPECT_TRUE(sink.findings().empty());
  EXPECT_TRUE(sink.suggestions.empty());
}

TEST_F(PodStatusAnalyzer, ReplicasWithTheSameCrashFoldIntoOneFinding) {
  auto step = stepFromFixture("list_pods", "pods_crashloop_replicas.json",
                              {{"E1", "Pod/checkout-7d9f8b6c5-x2x7q"},
                               {"E2", "Pod/checkout-7d9f8b6c5-b8n3v"},
                               {"E3", "Pod/checkout-7d9f8b6c5-k1l2m"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "same in 2 more pods: checkout-7d9f8b6c5-b8n3v, checkout-7d9f8b6c5-k1l2m")) << f.title;
  EXPECT_EQ(f.evidence, (std::vector<std::string>{"E1", "E2", "E3"}));
}

TEST_F(PodStatusAnalyzer, IgnoresOtherToolsAndFailedSteps) {
  auto other = stepFromFixture("get_events", "pods_crashloop.json", {{"E1", "Pod/checkout-7d9f8b6c5-x2x7q"}});
  run(*analyzer, *other, sink);
  auto failed = stepFromFixture("list_pods", "pods_crashloop.json");
  failed->view.ok = false;
  failed->view.errorReason = "Forbidden";
  run(*analyzer, *failed, sink);
  EXPECT_TRUE(sink.findings().empty());
}

}  // namespace
