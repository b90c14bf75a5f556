// The built-in analyzers over what a real kubelet (v1.35.4 on containerd
// 1.6, the real node of hack/cluster.sh) wrote for the workloads in
// tests/e2e/real/: pod status and Events exactly as the API server returned
// them (tests/fixtures/analyzers/real/pods_*.json and events_*.json, saved by tests/e2e/incluster_test.sh
// with SAVE_REAL_FIXTURES=DIR).
#include <gtest/gtest.h>

#include "analysis_harness.h"
#include "tools/builtin_tools.h"

using namespace opscopilot;
using namespace opscopilot::analyzer_test;
using agent::Severity;

namespace {

struct Investigated {
  TestSink sink;
  std::unique_ptr<StepFixture> pods, events;
};

// A builtin run's pod and event steps for one real scenario.
std::unique_ptr<Investigated> investigate(const std::string& name) {
  auto out = std::make_unique<Investigated>();
  auto analyzers = tools::builtinAnalyzers();
  out->pods = stepFromFixture("list_pods", "real/pods_" + name + ".json", {{"E1", "Pod/" + name}});
  feed(analyzers, *out->pods, out->sink);
  out->events = stepFromFixture("get_events", "real/events_" + name + ".json", {{"E2", "Events/" + name}});
  feed(analyzers, *out->events, out->sink);
  return out;
}

// The most severe finding whose title matches every needle.
const agent::Finding* finding(const TestSink& sink, std::initializer_list<const char*> needles) {
  for (const auto& f : sink.findings()) {
    bool all = true;
    for (const char* n : needles) all = all && contains(f.title, n);
    if (all && (f.severity == Severity::High || f.severity == Severity::Critical || f.severity == Severity::Medium)) return &f;
  }
  return nullptr;
}

std::string titles(const TestSink& sink) {
  std::string t;
  for (const auto& f : sink.findings()) t += "\n  " + f.title;
  return t;
}

TEST(RealKubelet, CrashingContainerIsACrashLoopWithItsExitCode) {
  auto run = investigate("crash");
  EXPECT_NE(finding(run->sink, {"app", "exits with code 1"}), nullptr) << titles(run->sink);
}

TEST(RealKubelet, KernelOomKillNamesTheMemoryLimit) {
  auto run = investigate("oom");
  EXPECT_NE(finding(run->sink, {"worker", "OOMKilled", "32Mi"}), nullptr) << titles(run->sink);
}

TEST(RealKubelet, ReadinessProbeOnAClosedPortQuotesConnectionRefused) {
  auto run = investigate("readiness");
  EXPECT_NE(finding(run->sink, {"readiness", "connection refused"}), nullptr) << titles(run->sink);
}

TEST(RealKubelet, LivenessProbeTimeoutsThatRestartTheContainerAreTheCause) {
  auto run = investigate("liveness");
  const auto* f = finding(run->sink, {"iveness"});
  ASSERT_NE(f, nullptr) << titles(run->sink);
  EXPECT_TRUE(contains(f->title, "context deadline exceeded") || contains(f->title, "timed out") ||
              contains(f->title, "timeout"))
      << f->title;
}

TEST(RealKubelet, UnreachableRegistryNamesTheImageAndItsRegistry) {
  auto run = investigate("imagepull");
  const auto* f = finding(run->sink, {"127.0.0.1:1/shop/frontend:2.0.1"});
  ASSERT_NE(f, nullptr) << titles(run->sink);
  EXPECT_TRUE(contains(f->title, "unreachable") || contains(f->title, "connection refused")) << f->title;
  EXPECT_FALSE(contains(f->remediation, "docker.io")) << f->remediation;
  EXPECT_TRUE(contains(f->remediation, "127.0.0.1:1")) << f->remediation;
}

TEST(RealKubelet, MissingConfigMapAtContainerCreation) {
  auto run = investigate("configmap");
  EXPECT_NE(finding(run->sink, {"billing-settings"}), nullptr) << titles(run->sink);
}

TEST(RealKubelet, MissingSecretKeyAtContainerCreation) {
  auto run = investigate("secretkey");
  EXPECT_NE(finding(run->sink, {"password", "ledger-db"}), nullptr) << titles(run->sink);
}

TEST(RealKubelet, CommandMissingFromTheImageIsNamedAsSuch) {
  auto run = investigate("nocommand");
  const auto* f = finding(run->sink, {"/app/search-server"});
  ASSERT_NE(f, nullptr) << titles(run->sink);
  EXPECT_TRUE(contains(f->title, "does not exist in the image")) << f->title;
}

// The same pod a few seconds later: between its RunContainerError reports
// the kubelet shows CrashLoopBackOff, and only lastState (StartError, 128)
// still says why (pods_nocommand_backoff.json is pods_nocommand.json in that
// state, as `kubectl get pod -w` showed it alternate).
TEST(RealKubelet, CommandMissingFromTheImageIsNamedWhileTheKubeletBacksOff) {
  auto run = investigate("nocommand_backoff");
  const auto* f = finding(run->sink, {"/app/search-server", "does not exist in the image"});
  ASSERT_NE(f, nullptr) << titles(run->sink);
  EXPECT_EQ(f->severity, Severity::High);
}

}  // namespace
