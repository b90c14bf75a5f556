#include <gtest/gtest.h>

#include "analysis_harness.h"

using namespace opscopilot;
using namespace opscopilot::analyzer_test;
using agent::Severity;

namespace {

class WorkloadAnalyzer : public ::testing::Test {
 protected:
  std::unique_ptr<agent::Analyzer> analyzer = tools::makeWorkloadAnalyzer();
  TestSink sink;
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

TEST_F(WorkloadAnalyzer, StuckRolloutNamesTheFailingRevisionAndImageWhileTheOldOneServes) {
  auto step = stepFromFixture("get_workload", "deployment_rollout_stuck.json",
                              {{"E1", "Deployment/web"},
                               {"E2", "ReplicaSet/web-7d9f5c6b8d"},
                               {"E3", "ReplicaSet/web-5c4b8f7d9"},
                               {"E4", "ReplicaSet/web-6f8d9c7b4"}},
                              R"({"kind":"Deployment","name":"web"})");
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_EQ(f.subject, "Deployment/web");
  EXPECT_TRUE(contains(f.title, "Deployment web is not progressing (ProgressDeadlineExceeded): ReplicaSet \"web-7d9f5c6b8d\" has "
                                "timed out progressing"))
      << f.title;
  EXPECT_TRUE(contains(f.title, "revision 3 (image ghcr.io/example/web:2.1.0, ReplicaSet web-7d9f5c6b8d) has 0 of 1 pods ready "
                                "while revision 2 (image ghcr.io/example/web:2.0.0, ReplicaSet web-5c4b8f7d9) still serves "
                                "3 ready replicas"))
      << f.title;
  EXPECT_TRUE(contains(f.title, "3 of 3 replicas available, 1 updated")) << f.title;
  EXPECT_EQ(f.severity, Severity::Medium) << "revision 2 still serves";
  EXPECT_EQ(f.evidence, (std::vector<std::string>{"E1", "E2", "E3"})) << "the Deployment and both revisions, not revision 1";
  EXPECT_TRUE(contains(f.remediation, "`kubectl get pods -l pod-template-hash=7d9f5c6b8d -n shop`")) << f.remediation;
  EXPECT_TRUE(contains(f.remediation, "`kubectl rollout undo deployment/web -n shop --to-revision=2` returns to revision 2 "
                                      "(image ghcr.io/example/web:2.0.0, ReplicaSet web-5c4b8f7d9)"))
      << f.remediation;
  EXPECT_TRUE(sink.suggested("list_pods", R"({"selector":"app=web"})"));
}

TEST_F(WorkloadAnalyzer, RolloutNotReadyBeforeItsDeadlineStillNamesBothRevisions) {
  // The same rollout before progressDeadlineSeconds ran out: Progressing is
  // still True (ReplicaSetUpdated), as the controller writes it meanwhile.
  std::string json = readFixture("deployment_rollout_stuck.json");
  const std::string deadline = R"("status": "False",
            "lastUpdateTime": "2026-11-21T09:10:01Z",
            "lastTransitionTime": "2026-11-21T09:10:01Z",
            "reason": "ProgressDeadlineExceeded",
            "message": "ReplicaSet \"web-7d9f5c6b8d\" has timed out progressing.")";
  auto at = json.find(deadline);
  ASSERT_NE(at, std::string::npos);
  json.replace(at, deadline.size(), R"("status": "True",
            "lastUpdateTime": "2026-11-21T09:00:00Z",
            "lastTransitionTime": "2026-11-19T10:00:00Z",
            "reason": "ReplicaSetUpdated",
            "message": "ReplicaSet \"web-7d9f5c6b8d\" is progressing.")");
  auto step = stepWithJson("get_workload", json, {{"E1", "Deployment/web"}, {"E2", "ReplicaSet/web-7d9f5c6b8d"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "Deployment web is rolling out a revision whose pods are not ready: revision 3 (image "
                                "ghcr.io/example/web:2.1.0, ReplicaSet web-7d9f5c6b8d) has 0 of 1 pods ready while revision 2"))
      << f.title;
  EXPECT_EQ(f.severity, Severity::Medium);
  EXPECT_TRUE(contains(f.remediation, "--to-revision=2")) << f.remediation;
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

// Past its activeDeadlineSeconds, while its pod still terminates, the Job
// controller has set only FailureTarget (DeadlineExceeded): the Job failed
// for that reason, not "keeps failing" against its backoff limit.
TEST_F(WorkloadAnalyzer, JobPastItsDeadlineFailsAsSoonAsFailureTargetIsSet) {
  std::string json = readFixture("job_backofflimit.json");
  rapidjson::Document d;
  d.Parse(json.c_str());
  auto& job = d["items"][0];
  auto& a = d.GetAllocator();
  job["spec"].AddMember("activeDeadlineSeconds", 8, a);
  auto& conditions = job["status"]["conditions"];
  conditions.Erase(conditions.Begin() + 1);  // no Failed yet
  conditions[0]["reason"].SetString("DeadlineExceeded");
  conditions[0]["message"].SetString("Job was active longer than specified deadline");
  job["status"]["failed"].SetInt(1);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  d.Accept(w);
  auto step = stepWithJson("get_workload", buf.GetString(), {{"E1", "Job/db-migrate"}});
  run(*analyzer, *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "Job db-migrate failed: ran longer than activeDeadlineSeconds 8 (DeadlineExceeded)")) << f.title;
  EXPECT_FALSE(contains(f.title, "backoffLimit")) << f.title;
  EXPECT_EQ(f.severity, Severity::High);
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
