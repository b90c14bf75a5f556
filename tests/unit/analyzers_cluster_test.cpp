// Analyzers of the tools that read around the workload: storage, config
// refs, quotas, autoscalers, ingresses and nodes.
#include <gtest/gtest.h>

#include "analysis_harness.h"

using namespace opscopilot;
using namespace opscopilot::analyzer_test;
using agent::Severity;

namespace {

TEST(StorageAnalyzer, PendingClaimWithUnknownStorageClassListsTheRealOnes) {
  auto analyzer = tools::makeStorageAnalyzer();
  TestSink sink;
  auto step = stepFromFixture("get_storage", "storage_missing_class.json", {{"E1", "PersistentVolumeClaim/data-db-0"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "PersistentVolumeClaim data-db-0 is Pending: StorageClass fast-ssd does not exist "
                                "(available: standard (default), premium-rwo)"))
      << f.title;
  EXPECT_EQ(f.severity, Severity::High);
  EXPECT_EQ(f.evidence, std::vector<std::string>{"E1"});
  EXPECT_TRUE(contains(f.remediation, "delete and re-create")) << f.remediation;
  EXPECT_TRUE(sink.suggested("get_events", R"({"kind":"PersistentVolumeClaim","name":"data-db-0"})"));
}

TEST(StorageAnalyzer, StaticClaimWithoutFittingVolumeNamesTheCandidates) {
  auto analyzer = tools::makeStorageAnalyzer();
  TestSink sink;
  auto step = stepFromFixture("get_storage", "storage_static_no_pv.json", {{"E1", "PersistentVolumeClaim/archive"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "no Available PersistentVolume without a class fits 100Gi ReadWriteMany")) << f.title;
  EXPECT_TRUE(contains(f.title, "nfs-archive-1 (50Gi ReadWriteMany, Available)")) << f.title;
  EXPECT_TRUE(contains(f.title, "nfs-archive-2 (200Gi ReadWriteMany, Released)")) << f.title;
}

TEST(StorageAnalyzer, BoundClaimProducesNothing) {
  auto analyzer = tools::makeStorageAnalyzer();
  TestSink sink;
  auto step = stepFromFixture("get_storage", "storage_bound.json", {{"E1", "PersistentVolumeClaim/data-db-0"}});
  run(*analyzer, *step, sink);
  EXPECT_TRUE(sink.findings().empty());
  EXPECT_TRUE(sink.suggestions.empty());
}

TEST(ConfigRefsAnalyzer, ConfirmsMissingKeyOnTheConfigErrorFindingWithoutValues) {
  TestSink sink;
  auto pods = tools::makePodStatusAnalyzer();
  auto podStep = stepFromFixture("list_pods", "pods_config_error.json", {{"E1", "Pod/orders-6b9c7d8f5-m2n4b"}});
  run(*pods, *podStep, sink);
  auto analyzer = tools::makeConfigRefsAnalyzer();
  auto step = stepFromFixture("get_config_refs", "config_refs_missing.json",
                              {{"E2", "ConfigMap/shared-env"}, {"E3", "Secret/db"}, {"E4", "ConfigMap/orders-config"}});
  run(*analyzer, *step, sink);
  const auto* crash = sink.bySubject("Pod/orders-6b9c7d8f5-m2n4b/orders");
  ASSERT_NE(crash, nullptr);
  EXPECT_TRUE(contains(crash->title, "; confirmed: Secret db has no key DB_URL (keys: DB_USER, DB_PASSWORD, DB_HOST)"))
      << crash->title;
  EXPECT_GE(crash->confidence, 95);
  EXPECT_EQ(crash->evidence, (std::vector<std::string>{"E1", "E3"}));
  const auto* missing = sink.bySubject("ConfigMap/shared-env");
  ASSERT_NE(missing, nullptr) << "a missing envFrom ConfigMap nobody reported yet";
  EXPECT_EQ(missing->severity, Severity::High);
  EXPECT_TRUE(contains(missing->title, "ConfigMap shared-env")) << missing->title;
  EXPECT_EQ(missing->evidence, std::vector<std::string>{"E2"});
}

TEST(QuotaAnalyzer, ExhaustedQuotaEnrichesTheFailedCreateFinding) {
  TestSink sink;
  auto events = tools::makeEventAnalyzer();
  auto evStep = stepFromFixture("get_events", "events_quota_failedcreate.json", {{"E1", "ReplicaSet/web-5d4f8c7b9"}});
  run(*events, *evStep, sink);
  auto analyzer = tools::makeQuotaAnalyzer();
  auto step = stepFromFixture("get_quotas", "quotas_exhausted.json", {{"E2", "ResourceQuota/compute-quota"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "; quota usage pods 10/10")) << f.title;
  EXPECT_EQ(f.evidence, (std::vector<std::string>{"E1", "E2"}));
}

TEST(QuotaAnalyzer, ExhaustedQuotaAloneExplainsWhatItBlocks) {
  TestSink sink;
  auto analyzer = tools::makeQuotaAnalyzer();
  auto step = stepFromFixture("get_quotas", "quotas_exhausted.json", {{"E2", "ResourceQuota/compute-quota"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "ResourceQuota compute-quota is exhausted: pods 10/10")) << f.title;
  EXPECT_FALSE(contains(f.title, "requests.cpu 3800m/4;")) << "95% is nearly full, not full";
  EXPECT_EQ(f.severity, Severity::Medium);
  EXPECT_TRUE(contains(f.remediation, "kubectl edit resourcequota compute-quota -n shop")) << f.remediation;
}

TEST(HpaAnalyzer, MissingMetricsApiPointsAtMetricsServer) {
  TestSink sink;
  auto analyzer = tools::makeHpaAnalyzer();
  auto step = stepFromFixture("get_hpa", "hpa_no_metrics.json", {{"E1", "HorizontalPodAutoscaler/web"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "HorizontalPodAutoscaler web cannot compute replicas for Deployment web")) << f.title;
  EXPECT_TRUE(contains(f.title, "FailedGetResourceMetric")) << f.title;
  EXPECT_EQ(f.severity, Severity::Medium);
  EXPECT_TRUE(contains(f.remediation, "metrics-server")) << f.remediation;
  EXPECT_TRUE(sink.suggested("get_workload", R"({"kind":"Deployment","name":"web"})"));
}

TEST(HpaAnalyzer, AutoscalerPinnedAtMaxReplicas) {
  TestSink sink;
  auto analyzer = tools::makeHpaAnalyzer();
  auto step = stepFromFixture("get_hpa", "hpa_at_max.json", {{"E1", "HorizontalPodAutoscaler/frontend"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  EXPECT_TRUE(contains(sink.findings()[0].title, "is pinned at maxReplicas 10")) << sink.findings()[0].title;
  EXPECT_TRUE(contains(sink.findings()[0].remediation, "maxReplicas"));
}

TEST(IngressAnalyzer, MissingServiceAndWrongPortAreReported) {
  TestSink sink;
  auto analyzer = tools::makeIngressAnalyzer();
  auto step = stepFromFixture("get_ingress", "ingress_broken_backends.json",
                              {{"E1", "Ingress/shop"}, {"E2", "Service/storefront"}, {"E3", "Service/api"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "Ingress shop routes shop.example.com/api to port 8080 of Service api, which exposes 80, http"))
      << f.title;
  EXPECT_TRUE(contains(f.title, "and 1 more broken route")) << f.title;
  EXPECT_TRUE(contains(f.remediation, "create Service storefront")) << f.remediation;
  EXPECT_EQ(f.severity, Severity::High);
  expectCitesStepEvidence(f, {step.get()});
  EXPECT_TRUE(sink.suggested("get_service", R"({"name":"frontend"})")) << "healthy backends are checked for endpoints";
}

TEST(NodeAnalyzer, AddsTaintsAndAllocatableToTheSchedulingFinding) {
  TestSink sink;
  auto pods = tools::makePodStatusAnalyzer();
  auto podStep = stepFromFixture("list_pods", "pods_unschedulable.json", {{"E1", "Pod/analytics-7b5d6c8f9-r3t5y"}});
  run(*pods, *podStep, sink);
  auto analyzer = tools::makeNodeAnalyzer();
  auto step = stepFromFixture("get_nodes", "nodes_taints_capacity.json",
                              {{"E2", "Node/control-plane"}, {"E3", "Node/worker-1"}, {"E4", "Node/worker-2"}});
  run(*analyzer, *step, sink);
  const auto* f = sink.bySubject("Pod/analytics-7b5d6c8f9-r3t5y");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->title, "; nodes: control-plane has taint node-role.kubernetes.io/control-plane:NoSchedule")) << f->title;
  EXPECT_TRUE(contains(f->title, "allocatable memory: worker-1 3843468Ki")) << f->title;
  const auto* sick = sink.bySubject("Node/worker-2");
  ASSERT_NE(sick, nullptr);
  EXPECT_TRUE(contains(sick->title, "Node worker-2 is NotReady (NodeStatusUnknown: Kubelet stopped posting node status.)"))
      << sick->title;
  EXPECT_EQ(sick->evidence, std::vector<std::string>{"E4"});
  EXPECT_EQ(sink.bySubject("Node/worker-1"), nullptr);
}

TEST(NodeAnalyzer, UnnamedTaintIsNamedFromTheNodesTheRunRead) {
  TestSink sink;
  auto pods = tools::makePodStatusAnalyzer();
  auto podStep = stepFromFixture("list_pods", "pods_unschedulable_untolerated_taints.json", {{"E1", "Pod/ml-train-6c8d7f9b5-q2w4e"}});
  run(*pods, *podStep, sink);
  auto analyzer = tools::makeNodeAnalyzer();
  auto step = stepFromFixture("get_nodes", "nodes_dedicated_taints.json",
                              {{"E2", "Node/control-plane"}, {"E3", "Node/gpu-1"}, {"E4", "Node/gpu-2"}});
  run(*analyzer, *step, sink);
  const auto* f = sink.bySubject("Pod/ml-train-6c8d7f9b5-q2w4e");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->title, "; nodes: control-plane has taint node-role.kubernetes.io/control-plane:NoSchedule; "
                                 "gpu-1 has taint dedicated=gpu:NoSchedule; gpu-2 has taint dedicated=gpu:NoSchedule"))
      << f->title;
  EXPECT_TRUE(contains(f->remediation, "The nodes are tainted: control-plane with node-role.kubernetes.io/control-plane:NoSchedule, "
                                       "gpu-1 with dedicated=gpu:NoSchedule, gpu-2 with dedicated=gpu:NoSchedule."))
      << f->remediation;
  EXPECT_TRUE(contains(f->remediation, "If the pod belongs on those nodes add `tolerations: [{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}]` to the "
                                       "pod template of deployment/ml-train"))
      << f->remediation;
  EXPECT_FALSE(contains(f->remediation, "The scheduler does not name the taint")) << f->remediation;
  EXPECT_EQ(f->evidence, (std::vector<std::string>{"E1", "E2", "E3", "E4"}));
}

// A pod bound (spec.nodeName) to a node no kubelet runs, as the real API
// server and node lifecycle controller leave them: the pod Pending with no
// status at all, the node Ready=Unknown (NodeStatusNeverUpdated). The pod
// analyzer asks for the node; the node is the root cause and names the pod.
TEST(NodeAnalyzer, APodBoundToADownNodeIsExplainedByTheNode) {
  TestSink sink;
  auto pods = tools::makePodStatusAnalyzer();
  auto podStep = stepFromFixture("list_pods", "real/pods_bound_to_down_node.json", {{"E1", "Pod/ingest"}});
  run(*pods, *podStep, sink);
  const auto* pod = sink.bySubject("Pod/ingest");
  ASSERT_NE(pod, nullptr);
  EXPECT_EQ(pod->severity, Severity::Low);
  EXPECT_TRUE(contains(pod->title, "is bound to node ghost-shop, whose kubelet has not started it")) << pod->title;
  EXPECT_TRUE(sink.suggested("get_nodes", R"({"names":["ghost-shop"]})"));

  auto analyzer = tools::makeNodeAnalyzer();
  auto step = stepFromFixture("get_nodes", "real/nodes_never_posted.json", {{"E2", "Node/ghost-shop"}});
  run(*analyzer, *step, sink);
  const auto* node = sink.bySubject("Node/ghost-shop");
  ASSERT_NE(node, nullptr);
  EXPECT_EQ(node->severity, Severity::High);
  EXPECT_TRUE(contains(node->title, "Node ghost-shop is NotReady (NodeStatusNeverUpdated: Kubelet never posted node status.): "
                                    "pod ingest is bound to it and cannot start"))
      << node->title;
  EXPECT_TRUE(contains(node->remediation, "kubectl describe node ghost-shop")) << node->remediation;
}

// A running pod is not "never started", whatever its node.
TEST(NodeAnalyzer, RunningPodsAreNotTakenForUnstarted) {
  TestSink sink;
  auto pods = tools::makePodStatusAnalyzer();
  auto podStep = stepFromFixture("list_pods", "pods_healthy.json", {{"E1", "Pod/x"}});
  run(*pods, *podStep, sink);
  for (const auto& f : sink.findings()) EXPECT_FALSE(contains(f.title, "whose kubelet has not started it")) << f.title;
}

TEST(NodeAnalyzer, ForbiddenNodeReadAddsNothing) {
  TestSink sink;
  auto analyzer = tools::makeNodeAnalyzer();
  auto step = stepWithJson("get_nodes", R"({"forbidden":true})", {{"E1", "Node/*"}});
  step->view.ok = false;
  step->view.errorReason = "Forbidden";
  run(*analyzer, *step, sink);
  step->view.ok = true;
  run(*analyzer, *step, sink);
  EXPECT_TRUE(sink.findings().empty());
}

}  // namespace
