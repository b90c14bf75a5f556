#include <gtest/gtest.h>

#include "analysis_harness.h"

using namespace opscopilot;
using namespace opscopilot::analyzer_test;
using agent::Severity;

namespace {

class WorkloadAnalyzer : public ::testing::Test {
 protected:
  std::unique_ptr<agent::Analyzer> analyzer = tools::makeWorkloadAnalyzer();
  FakeSink sink;
};

TEST_F(WorkloadAnalyzer, ProgressDeadlineExceededQuotesControllerAndAsksForPods) {
  auto step = stepFromFixture("get_workload", "deployment_progress_deadline.json",
                              {{"E1", "Deployment/web"}, {"E2", "ReplicaSet/web-5d4f8c7b9"}},
                              R"({"kind":"Deployment","name":"web"})");
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_EQ(f.subject, "Deployment/web");
  EXPECT_TRUE(contains(f.title, "Deployment web is not progressing (ProgressDeadlineExceeded)")) << f.title;
  EXPECT_TRUE(contains(f.title, "ReplicaSet \"web-5d4f8c7b9\" has timed out progressing")) << f.title;
  EXPECT_TRUE(contains(f.title, "3 of 3 replicas available, 1 updated")) << f.title;
  EXPECT_EQ(f.severity, Severity::Medium) << "old pods still serve";
  EXPECT_EQ(f.evidence, (std::vector<std::string>{"E1", "E2"}));
  EXPECT_TRUE(contains(f.remediation, "kubectl rollout undo deployment/web -n shop")) << f.remediation;
  EXPECT_TRUE(sink.suggested("list_pods", R"({"selector":"app=web"})"));
  EXPECT_TRUE(sink.suggested("get_events", R"({"kind":"Deployment","name":"web"})"));
}

TEST_F(WorkloadAnalyzer, ReplicaFailureFromQuotaNamesQuotaAndSuggestsQuotas) {
  auto step = stepFromFixture("get_workload", "deployment_replica_failure.json", {{"E1", "Deployment/web"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "Deployment web cannot create pods: ResourceQuota compute-quota is exhausted: pods 10/10 used"))
      << f.title;
  EXPECT_EQ(f.severity, Severity::High);
  EXPECT_TRUE(sink.suggested("get_quotas"));
  EXPECT_TRUE(sink.suggested("list_pods", R"({"selector":"app=web"})"));
}

TEST_F(WorkloadAnalyzer, DeploymentWithNoAvailableReplicaIsDown) {
  auto step = stepFromFixture("get_workload", "deployment_all_unavailable.json", {{"E1", "Deployment/checkout"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "Deployment checkout has no available replicas: 1 of 1 replicas unavailable")) << f.title;
  EXPECT_EQ(f.severity, Severity::High);
  expectCitesStepEvidence(f, {step.get()});
}

TEST_F(WorkloadAnalyzer, HealthyDeploymentHasNoFindingButStillAsksForPods) {
  auto step = stepFromFixture("get_workload", "deployment_healthy.json", {{"E1", "Deployment/frontend"}});
  run(*analyzer, *step, sink);
  EXPECT_LE(sink.worstSeverity(), Severity::Info);
  EXPECT_TRUE(sink.findings().empty());
  EXPECT_TRUE(sink.suggested("list_pods", R"({"selector":"app=frontend"})"));
}

TEST_F(WorkloadAnalyzer, FailedJobCountsFailuresAgainstBackoffLimit) {
  auto step = stepFromFixture("get_workload", "job_backofflimit.json", {{"E1", "Job/db-migrate"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "Job db-migrate failed: failed 4 times, backoffLimit 3 (BackoffLimitExceeded)")) << f.title;
  EXPECT_EQ(f.severity, Severity::High);
  EXPECT_TRUE(contains(f.remediation, "kubectl logs -l job-name=db-migrate -n shop")) << f.remediation;
  EXPECT_TRUE(sink.suggested("list_pods", "batch.kubernetes.io/controller-uid=8d7c6b5a-4939-4827-a615-0f9e8d7c6b5a"));
  EXPECT_TRUE(sink.suggested("get_events", R"({"kind":"Job","name":"db-migrate"})"));
}

TEST_F(WorkloadAnalyzer, CronJobReportsItsLastFailedJob) {
  auto step = stepFromFixture("get_workload", "cronjob_last_failed.json",
                              {{"E1", "CronJob/nightly-report"}, {"E2", "Job/nightly-report-29410560"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_EQ(f.subject, "CronJob/nightly-report");
  EXPECT_TRUE(contains(f.title, "CronJob nightly-report: its last Job nightly-report-29410560 failed: failed 4 times")) << f.title;
  EXPECT_EQ(f.evidence, (std::vector<std::string>{"E1", "E2"}));
  EXPECT_TRUE(sink.suggested("list_pods", R"({"selector":"job-name=nightly-report-29410560"})"));
  EXPECT_TRUE(sink.suggested("get_events", R"({"kind":"CronJob","name":"nightly-report"})"));
}

TEST_F(WorkloadAnalyzer, StatefulSetWithoutReadyReplicasPointsAtFirstPod) {
  auto step = stepFromFixture("get_workload", "statefulset_not_ready.json", {{"E1", "StatefulSet/db"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "StatefulSet db has no ready replicas: 0 of 3 replicas ready")) << f.title;
  EXPECT_TRUE(contains(f.remediation, "db-0")) << f.remediation;
  EXPECT_EQ(f.severity, Severity::High);
}

}  // namespace
