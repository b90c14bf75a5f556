#include <gtest/gtest.h>

#include "analysis_harness.h"

using namespace opscopilot;
using namespace opscopilot::analyzer_test;
using agent::Severity;

namespace {

class EventAnalyzer : public ::testing::Test {
 protected:
  std::unique_ptr<agent::Analyzer> analyzer = tools::makeEventAnalyzer();
  std::unique_ptr<agent::Analyzer> pods = tools::makePodStatusAnalyzer();
  TestSink sink;
};

TEST_F(EventAnalyzer, PullFailureEventAddsTheCauseToTheImageFinding) {
  auto podStep = stepFromFixture("list_pods", "pods_imagepullbackoff.json", {{"E1", "Pod/payments-5c7b8d9f6-q4w8e"}});
  run(*pods, *podStep, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  auto events = stepFromFixture("get_events", "events_imagepull.json", {{"E2", "Pod/payments-5c7b8d9f6-q4w8e"}},
                                R"({"kind":"Pod","name":"payments-5c7b8d9f6-q4w8e"})");
  run(*analyzer, *events, sink);
  ASSERT_EQ(sink.findings().size(), 1u) << "events enrich, they do not repeat";
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "the image or tag does not exist")) << f.title;
  EXPECT_EQ(f.evidence, (std::vector<std::string>{"E1", "E2"}));
  EXPECT_GE(f.confidence, 90);
  EXPECT_TRUE(contains(f.remediation, "does not exist in ghcr.io")) << f.remediation;
}

TEST_F(EventAnalyzer, PullFailureWithoutPodFindingReportsBadTag) {
  auto events = stepFromFixture("get_events", "events_imagepull.json", {{"E2", "Pod/payments-5c7b8d9f6-q4w8e"}});
  run(*analyzer, *events, sink);
  const auto* f = sink.bySubject("Pod/payments-5c7b8d9f6-q4w8e/payments");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->title, "cannot pull image ghcr.io/example/payments:9.9.9-does-not-exist")) << f->title;
  EXPECT_EQ(f->severity, Severity::High);
  EXPECT_EQ(f->evidence, std::vector<std::string>{"E2"});
  EXPECT_EQ(sink.findings().size(), 1u) << "BackOff and Failed events of one container make one finding";
}

TEST_F(EventAnalyzer, FailedSchedulingEventReportsCausesAndSuggestsNodes) {
  auto events = stepFromFixture("get_events", "events_failed_scheduling.json", {{"E1", "Pod/analytics-7b5d6c8f9-r3t5y"}});
  run(*analyzer, *events, sink);
  const auto* f = sink.bySubject("Pod/analytics-7b5d6c8f9-r3t5y");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->title, "cannot be scheduled: untolerated taint node-role.kubernetes.io/control-plane (1 node), "
                                 "insufficient memory (2 nodes)"))
      << f->title;
  EXPECT_EQ(f->severity, Severity::High);
  EXPECT_TRUE(sink.suggested("get_nodes"));
  EXPECT_TRUE(sink.suggested("list_pods", R"({"names":["analytics-7b5d6c8f9-r3t5y"]})"));
}

TEST_F(EventAnalyzer, UntoleratedTaintEventWithoutNameTellsHowToFindIt) {
  auto events = stepFromFixture("get_events", "events_failed_scheduling_untolerated_taints.json",
                                {{"E1", "Pod/ml-train-6c8d7f9b5-q2w4e"}});
  run(*analyzer, *events, sink);
  const auto* f = sink.bySubject("Pod/ml-train-6c8d7f9b5-q2w4e");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->title, "cannot be scheduled: untolerated taints the scheduler does not name (3 nodes) (FailedScheduling, "
                                 "4 times)"))
      << f->title;
  EXPECT_TRUE(contains(f->remediation, "`kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints`"))
      << f->remediation;
  EXPECT_TRUE(sink.suggested("get_nodes"));
}

TEST_F(EventAnalyzer, OlderAndNewerTaintWordingsMakeTheSameKindOfFinding) {
  for (const char* message :
       {"0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory. "
        "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.",
        "0/3 nodes are available: 1 node(s) had untolerated taint(s), 2 Insufficient memory. preemption: 0/3 nodes are available: "
        "1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod."}) {
    TestSink fresh;
    auto events = stepWithJson("get_events", std::string(R"({"items":[{"apiVersion":"v1","kind":"Event",
        "metadata":{"name":"web-1.187a4c1e9d2b7f03","namespace":"shop"},
        "involvedObject":{"kind":"Pod","namespace":"shop","name":"web-1","apiVersion":"v1"},
        "reason":"FailedScheduling","message":")") + message + R"(","source":{},"type":"Warning",
        "eventTime":"2026-11-21T09:30:14.512384Z","action":"Scheduling","reportingComponent":"default-scheduler"}]})",
                               {{"E1", "Pod/web-1"}});
    run(*analyzer, *events, fresh);
    const auto* f = fresh.bySubject("Pod/web-1");
    ASSERT_NE(f, nullptr) << message;
    EXPECT_TRUE(contains(f->title, "insufficient memory (2 nodes)")) << f->title;
    EXPECT_TRUE(contains(f->title, "untolerated taint")) << f->title;
  }
}

TEST_F(EventAnalyzer, PullFailureEventWithoutImageTakesItFromThePodFinding) {
  // The pod's finding knows the image from the container status; an event
  // whose message does not carry it (a runtime's bare error, as kwok or a
  // wrapper may report it) must not blank it out.
  auto podStep = stepFromFixture("list_pods", "pods_imagepullbackoff.json", {{"E1", "Pod/payments-5c7b8d9f6-q4w8e"}});
  run(*pods, *podStep, sink);
  auto events = stepWithJson("get_events", R"({"items":[{"apiVersion":"v1","kind":"Event",
      "metadata":{"name":"payments-5c7b8d9f6-q4w8e.187a4c1e9d2b7f10","namespace":"shop"},
      "involvedObject":{"kind":"Pod","namespace":"shop","name":"payments-5c7b8d9f6-q4w8e","apiVersion":"v1",
                        "fieldPath":"spec.containers{payments}"},
      "reason":"Failed","message":"Failed to pull and unpack: manifest unknown: manifest unknown","source":{"component":"kubelet","host":"worker-1"},
      "firstTimestamp":"2026-11-21T09:41:02Z","lastTimestamp":"2026-11-21T09:47:40Z","count":6,"type":"Warning"}]})",
                             {{"E2", "Pod/payments-5c7b8d9f6-q4w8e"}});
  run(*analyzer, *events, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "the image or tag does not exist")) << f.title;
  EXPECT_TRUE(contains(f.remediation, "Image ghcr.io/example/payments:9.9.9-does-not-exist does not exist in ghcr.io")) << f.remediation;
  EXPECT_TRUE(contains(f.remediation, "`crane ls ghcr.io/example/payments`")) << f.remediation;
  EXPECT_FALSE(contains(f.remediation, "docker.io")) << f.remediation;
}

TEST_F(EventAnalyzer, PullFailureEventWithoutImageOrPodFindingSaysHowToReadTheImage) {
  auto events = stepWithJson("get_events", R"({"items":[{"apiVersion":"v1","kind":"Event",
      "metadata":{"name":"payments-5c7b8d9f6-q4w8e.187a4c1e9d2b7f10","namespace":"shop"},
      "involvedObject":{"kind":"Pod","namespace":"shop","name":"payments-5c7b8d9f6-q4w8e","apiVersion":"v1",
                        "fieldPath":"spec.containers{payments}"},
      "reason":"Failed","message":"Failed to pull and unpack: manifest unknown: manifest unknown","source":{"component":"kubelet","host":"worker-1"},
      "firstTimestamp":"2026-11-21T09:41:02Z","lastTimestamp":"2026-11-21T09:47:40Z","count":6,"type":"Warning"}]})",
                             {{"E2", "Pod/payments-5c7b8d9f6-q4w8e"}});
  run(*analyzer, *events, sink);
  const auto* f = sink.bySubject("Pod/payments-5c7b8d9f6-q4w8e/payments");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->title, "Container payments in pod payments-5c7b8d9f6-q4w8e cannot pull its image: the image or tag does not "
                                 "exist"))
      << f->title;
  EXPECT_TRUE(contains(f->remediation, "The image of container payments does not exist in its registry")) << f->remediation;
  EXPECT_TRUE(contains(f->remediation, "`crane ls <repository>`")) << f->remediation;
  EXPECT_TRUE(contains(f->remediation, "`kubectl get pod payments-5c7b8d9f6-q4w8e -n shop -o jsonpath='{.spec.containers[*].image}'`"))
      << f->remediation;
  EXPECT_FALSE(contains(f->remediation, "docker.io")) << "an unknown image is in no registry we know: " << f->remediation;
  EXPECT_TRUE(sink.suggested("list_pods", R"({"names":["payments-5c7b8d9f6-q4w8e"]})"));
}

TEST_F(EventAnalyzer, FailedSchedulingEnrichesThePodSchedulingFinding) {
  auto podStep = stepFromFixture("list_pods", "pods_unschedulable.json", {{"E1", "Pod/analytics-7b5d6c8f9-r3t5y"}});
  run(*pods, *podStep, sink);
  auto events = stepFromFixture("get_events", "events_failed_scheduling.json", {{"E4", "Pod/analytics-7b5d6c8f9-r3t5y"}});
  run(*analyzer, *events, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  EXPECT_EQ(sink.findings()[0].evidence, (std::vector<std::string>{"E1", "E4"}));
}

TEST_F(EventAnalyzer, QuotaFailedCreateNamesQuotaAndResource) {
  auto events = stepFromFixture("get_events", "events_quota_failedcreate.json", {{"E1", "ReplicaSet/web-5d4f8c7b9"}});
  run(*analyzer, *events, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_EQ(f.subject, "ReplicaSet/web-5d4f8c7b9");
  EXPECT_TRUE(contains(f.title, "ReplicaSet web-5d4f8c7b9 cannot create pods: ResourceQuota compute-quota is exhausted: "
                                "pods 10/10 used, 1 more requested"))
      << f.title;
  EXPECT_TRUE(contains(f.title, "14 times")) << f.title;
  EXPECT_EQ(f.severity, Severity::High);
  EXPECT_TRUE(contains(f.remediation, "spec.hard.pods")) << f.remediation;
  EXPECT_TRUE(sink.suggested("get_quotas"));
  expectCitesStepEvidence(f, {events.get()});
}

TEST_F(EventAnalyzer, ReadinessProbeFailuresEnrichTheUnreadyContainerFinding) {
  auto podStep = stepFromFixture("list_pods", "pods_not_ready.json", {{"E1", "Pod/search-5f6d7c8b9-w2e4r"}});
  run(*pods, *podStep, sink);
  auto events = stepFromFixture("get_events", "events_unhealthy_readiness.json", {{"E2", "Pod/search-5f6d7c8b9-w2e4r"}});
  run(*analyzer, *events, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "; readiness probe failed, 118 times: HTTP probe failed with statuscode: 503")) << f.title;
  EXPECT_TRUE(contains(f.remediation, "reports itself unhealthy")) << f.remediation;
  EXPECT_EQ(f.evidence, (std::vector<std::string>{"E1", "E2"}));
}

TEST_F(EventAnalyzer, LivenessFailuresWithoutPodFindingExplainRestarts) {
  auto events = stepFromFixture("get_events", "events_liveness_restarts.json", {{"E1", "Pod/catalog-api-6f8d9c7b4-p9k2m"}});
  run(*analyzer, *events, sink);
  const auto* f = sink.bySubject("Pod/catalog-api-6f8d9c7b4-p9k2m/api");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->title, "Liveness probe failures restart container api")) << f->title;
  EXPECT_EQ(f->severity, Severity::Medium);
  EXPECT_TRUE(contains(f->remediation, "startupProbe")) << f->remediation;
}

TEST_F(EventAnalyzer, BackOffEventConfirmsTheCrashFindingWithoutRepeatingIt) {
  auto podStep = stepFromFixture("list_pods", "pods_crashloop.json", {{"E1", "Pod/checkout-7d9f8b6c5-x2x7q"}});
  run(*pods, *podStep, sink);
  std::string title = sink.findings()[0].title;
  auto events = stepFromFixture("get_events", "events_crashloop.json", {{"E2", "Pod/checkout-7d9f8b6c5-x2x7q"}});
  run(*analyzer, *events, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  EXPECT_EQ(sink.findings()[0].title, title);
  EXPECT_EQ(sink.findings()[0].evidence, (std::vector<std::string>{"E1", "E2"}));
}

TEST_F(EventAnalyzer, BackOffEventAloneReportsCrashLoopAndAsksForLogs) {
  auto events = stepFromFixture("get_events", "events_crashloop.json", {{"E2", "Pod/checkout-7d9f8b6c5-x2x7q"}});
  run(*analyzer, *events, sink);
  const auto* f = sink.bySubject("Pod/checkout-7d9f8b6c5-x2x7q/checkout");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->title, "crash-loops")) << f->title;
  EXPECT_TRUE(contains(f->title, "27 times")) << f->title;
  EXPECT_TRUE(sink.suggested("get_pod_logs", R"("container":"checkout","previous":true)"));
  EXPECT_EQ(sink.findings().size(), 1u) << "Normal events are not findings";
}

TEST_F(EventAnalyzer, FailedMountOfMissingConfigMapAsksForConfigRefs) {
  auto events = stepFromFixture("get_events", "events_failedmount.json", {{"E1", "Pod/billing-7f6e5d4c3-z9x8c"}});
  run(*analyzer, *events, sink);
  const auto* f = sink.bySubject("Pod/billing-7f6e5d4c3-z9x8c");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->title, "cannot mount volume config: ConfigMap billing-config not found (FailedMount, 9 times)"))
      << f->title;
  EXPECT_TRUE(sink.suggested("get_config_refs", R"({"configMaps":["billing-config"]})"));
}

TEST_F(EventAnalyzer, JobBackoffLimitExceededSuggestsJobAndItsPods) {
  auto events = stepFromFixture("get_events", "events_job_backofflimit.json", {{"E1", "Job/db-migrate"}});
  run(*analyzer, *events, sink);
  const auto* f = sink.bySubject("Job/db-migrate");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->title, "Job db-migrate failed")) << f->title;
  EXPECT_TRUE(contains(f->title, "BackoffLimitExceeded")) << f->title;
  EXPECT_TRUE(sink.suggested("get_workload", R"({"kind":"Job","name":"db-migrate"})"));
  EXPECT_TRUE(sink.suggested("list_pods", R"({"selector":"job-name=db-migrate"})"));
}

TEST_F(EventAnalyzer, ProvisioningFailedNamesMissingStorageClass) {
  auto events = stepFromFixture("get_events", "events_provisioning_failed.json", {{"E1", "PersistentVolumeClaim/data-db-0"}});
  run(*analyzer, *events, sink);
  const auto* f = sink.bySubject("PersistentVolumeClaim/data-db-0");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->title, "cannot be provisioned: StorageClass fast-ssd not found")) << f->title;
  EXPECT_TRUE(sink.suggested("get_storage", R"({"name":"data-db-0"})"));
}

// What the real persistentvolume controller writes when a claim names a
// volume (spec.volumeName) it cannot bind to: too small, or without the access
// mode asked for. The event's reason is the finding, even over a guess made
// before the events were read.
TEST_F(EventAnalyzer, VolumeMismatchSaysWhyTheClaimCannotBind) {
  auto small = stepFromFixture("get_events", "real/events_volume_too_small.json", {{"E1", "PersistentVolumeClaim/backups"}});
  run(*analyzer, *small, sink);
  const auto* f = sink.bySubject("PersistentVolumeClaim/backups");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->title, "cannot bind to the volume it names: Cannot bind to requested volume \"backups-shop\": "
                                 "requested PV is too small (VolumeMismatch")) << f->title;
  EXPECT_EQ(f->severity, Severity::High);
  EXPECT_TRUE(contains(f->remediation, "every requested access mode")) << f->remediation;

  agent::FindingDraft guess;
  guess.subject = "PersistentVolumeClaim/shared-assets";
  guess.title = "PersistentVolumeClaim shared-assets is Pending: no volume provisioned for class static yet";
  guess.severity = Severity::Medium;
  guess.confidence = 50;
  sink.addFinding("storage", guess);
  auto mode = stepFromFixture("get_events", "real/events_volume_access_mode.json", {{"E2", "PersistentVolumeClaim/shared-assets"}});
  run(*analyzer, *mode, sink);
  std::vector<const agent::Finding*> about;
  for (const auto& x : sink.findings()) {
    if (x.subject == "PersistentVolumeClaim/shared-assets") about.push_back(&x);
  }
  ASSERT_EQ(about.size(), 2u);
  EXPECT_TRUE(contains(about[1]->title, "incompatible accessMode (VolumeMismatch")) << about[1]->title;
  EXPECT_EQ(about[1]->severity, Severity::High);
  EXPECT_EQ(about[0]->evidence, std::vector<std::string>{"E2"}) << "the guess cites what corrected it";
}

TEST_F(EventAnalyzer, EvictionAndConfigErrorEventsStandAlone) {
  auto evicted = stepFromFixture("get_events", "events_evicted.json", {{"E1", "Pod/reports-84d6f5b7c9-k8l9m"}});
  run(*analyzer, *evicted, sink);
  ASSERT_NE(sink.bySubject("Pod/reports-84d6f5b7c9-k8l9m"), nullptr);
  EXPECT_TRUE(contains(sink.bySubject("Pod/reports-84d6f5b7c9-k8l9m")->title, "ran low on memory"));
  auto config = stepFromFixture("get_events", "events_config_error.json", {{"E2", "Pod/orders-6b9c7d8f5-m2n4b"}});
  run(*analyzer, *config, sink);
  const auto* f = sink.bySubject("Pod/orders-6b9c7d8f5-m2n4b/orders");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->title, "key DB_URL not found in Secret db")) << f->title;
  EXPECT_TRUE(sink.suggested("get_config_refs", R"({"secrets":["db"]})"));
}

}  // namespace
