#include <gtest/gtest.h>

#include "analysis_harness.h"

using namespace opscopilot;
using namespace opscopilot::analyzer_test;
using agent::Severity;

namespace {

class LogAnalyzer : public ::testing::Test {
 protected:
  std::unique_ptr<agent::Analyzer> analyzer = tools::makeLogAnalyzer();
  std::unique_ptr<agent::Analyzer> pods = tools::makePodStatusAnalyzer();
  TestSink sink;

  void crashLoop() {
    podStep = stepFromFixture("list_pods", "pods_crashloop.json", {{"E1", "Pod/checkout-7d9f8b6c5-x2x7q"}});
    run(*pods, *podStep, sink);
    ASSERT_EQ(sink.findings().size(), 1u);
  }
  std::unique_ptr<StepFixture> podStep;
};

TEST_F(LogAnalyzer, MissingEnvVarLineEnrichesTheCrashFinding) {
  crashLoop();
  auto logs = stepFromFixture("get_pod_logs", "logs_checkout_previous.json",
                              {{"E3", "Pod/checkout-7d9f8b6c5-x2x7q container checkout (previous)"}},
                              R"({"pod":"checkout-7d9f8b6c5-x2x7q","container":"checkout","previous":true})");
  run(*analyzer, *logs, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_TRUE(contains(f.title, "exits with code 1 (Error)")) << f.title;
  EXPECT_TRUE(contains(f.title, ": log says \"required environment variable DATABASE_URL is not set\"")) << f.title;
  EXPECT_TRUE(contains(f.title, "\"cannot connect to the database: DATABASE_URL is empty\"")) << f.title;
  EXPECT_FALSE(contains(f.title, "starting (pid 1)")) << "only the telling lines are quoted: " << f.title;
  EXPECT_EQ(f.evidence, (std::vector<std::string>{"E1", "E3"}));
  EXPECT_GE(f.confidence, 90);
  EXPECT_TRUE(contains(f.remediation, "Set DATABASE_URL for container checkout")) << f.remediation;
  EXPECT_TRUE(contains(f.remediation, "secretKeyRef")) << f.remediation;
}

// A failed container whose log names no error (as initdb words it): its last
// line is why, and it is quoted. A running container's clean log adds nothing.
TEST_F(LogAnalyzer, AFailedContainersLastWordsAreQuotedWhenNoLineSaysError) {
  crashLoop();
  auto logs = stepWithJson("get_pod_logs",
                           R"({"pod":"checkout-7d9f8b6c5-x2x7q","container":"checkout","previous":true,
                               "text":"starting checkout\ninitdb: directory \"/var/lib/data\" exists but is not empty\n\n"})",
                           {{"E3", "Pod/checkout-7d9f8b6c5-x2x7q container checkout (previous)"}});
  run(*analyzer, *logs, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  EXPECT_TRUE(contains(sink.findings()[0].title, "log says \"initdb: directory \"/var/lib/data\" exists but is not empty\""))
      << sink.findings()[0].title;
  EXPECT_EQ(sink.findings()[0].evidence, (std::vector<std::string>{"E1", "E3"}));

  // Go's flag package on an unknown flag: the line that says it is quoted,
  // whatever the line after it.
  TestSink flags;
  auto podStep2 = stepFromFixture("list_pods", "pods_crashloop.json", {{"E1", "Pod/checkout-7d9f8b6c5-x2x7q"}});
  run(*pods, *podStep2, flags);
  auto usage = stepWithJson("get_pod_logs",
                            R"({"pod":"checkout-7d9f8b6c5-x2x7q","container":"checkout","previous":true,
                                "text":"flag provided but not defined: -listen-addr\nsearch 2.0.0\n"})",
                            {{"E3", "Pod/checkout-7d9f8b6c5-x2x7q container checkout (previous)"}});
  run(*analyzer, *usage, flags);
  EXPECT_TRUE(contains(flags.findings()[0].title, "log says \"flag provided but not defined: -listen-addr\"")) << flags.findings()[0].title;

  TestSink quiet;
  auto clean = stepFromFixture("get_pod_logs", "logs_clean.json", {{"E1", "Pod/frontend-6d8f9b7c5-abcde container frontend"}});
  run(*analyzer, *clean, quiet);
  EXPECT_TRUE(quiet.findings().empty());
}

// The pods read again later (another selector, the same pods) re-make the
// crash finding; what the log added stays.
TEST_F(LogAnalyzer, ReadingThePodsAgainKeepsWhatTheLogAdded) {
  crashLoop();
  auto logs = stepFromFixture("get_pod_logs", "logs_checkout_previous.json",
                              {{"E3", "Pod/checkout-7d9f8b6c5-x2x7q container checkout (previous)"}});
  run(*analyzer, *logs, sink);
  const auto enriched = sink.findings()[0];
  auto again = stepFromFixture("list_pods", "pods_crashloop.json", {{"E4", "Pod/checkout-7d9f8b6c5-x2x7q"}});
  run(*pods, *again, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  EXPECT_EQ(sink.findings()[0].title, enriched.title);
  EXPECT_EQ(sink.findings()[0].remediation, enriched.remediation);
  EXPECT_EQ(sink.findings()[0].confidence, enriched.confidence);
  EXPECT_EQ(sink.findings()[0].evidence, (std::vector<std::string>{"E1", "E3", "E4"}));
}

TEST_F(LogAnalyzer, EnrichingTwiceDoesNotRepeatTheQuote) {
  crashLoop();
  auto logs = stepFromFixture("get_pod_logs", "logs_checkout_previous.json",
                              {{"E3", "Pod/checkout-7d9f8b6c5-x2x7q container checkout (previous)"}});
  run(*analyzer, *logs, sink);
  std::string once = sink.findings()[0].title;
  run(*analyzer, *logs, sink);
  EXPECT_EQ(sink.findings()[0].title, once);
}

TEST_F(LogAnalyzer, PythonTracebackQuotesTheExceptionLine) {
  auto podStep = stepFromFixture("list_pods", "pods_init_failure.json", {{"E1", "Pod/inventory-59d8c7f6b4-h7j9k"}});
  run(*pods, *podStep, sink);
  auto logs = stepFromFixture("get_pod_logs", "logs_python_traceback.json",
                              {{"E2", "Pod/inventory-59d8c7f6b4-h7j9k container migrate (previous)"}});
  run(*analyzer, *logs, sink);
  const auto* f = sink.bySubject("Pod/inventory-59d8c7f6b4-h7j9k/migrate");
  ASSERT_NE(f, nullptr);
  EXPECT_TRUE(contains(f->title, "\"KeyError: 'DATABASE_URL'\"")) << f->title;
  EXPECT_TRUE(contains(f->remediation, "Set DATABASE_URL")) << f->remediation;
}

TEST_F(LogAnalyzer, JsonLogsWithUnreachableDependencySuggestTheService) {
  auto logs = stepFromFixture("get_pod_logs", "logs_connection_refused.json",
                              {{"E5", "Pod/catalog-api-6f8d9c7b4-p9k2m container api (previous)"}});
  run(*analyzer, *logs, sink);
  ASSERT_EQ(sink.findings().size(), 1u) << "clear errors and no crash finding: a finding of its own";
  const auto& f = sink.findings()[0];
  EXPECT_EQ(f.subject, "Pod/catalog-api-6f8d9c7b4-p9k2m/api");
  EXPECT_EQ(f.severity, Severity::Medium);
  EXPECT_TRUE(contains(f.title, "cannot reach redis: dial tcp: lookup redis on 10.96.0.10:53: no such host")) << f.title;
  EXPECT_TRUE(contains(f.remediation, "kubectl get endpoints redis")) << f.remediation;
  EXPECT_EQ(f.evidence, std::vector<std::string>{"E5"});
  EXPECT_TRUE(sink.suggested("get_service", R"({"name":"redis"})"));
}

TEST_F(LogAnalyzer, InstructionsInLogsAreQuotedNeverFollowed) {
  crashLoop();
  auto logs = stepFromFixture("get_pod_logs", "logs_injection.json",
                              {{"E3", "Pod/checkout-7d9f8b6c5-x2x7q container checkout (previous)"}});
  run(*analyzer, *logs, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_EQ(f.severity, Severity::High) << "log text cannot lower the severity";
  EXPECT_TRUE(contains(f.title, "panic: runtime error: invalid memory address")) << f.title;
  EXPECT_FALSE(contains(f.title, "ignore all previous instructions")) << f.title;
  EXPECT_TRUE(contains(f.remediation, "rollout undo")) << f.remediation;
  for (const auto& call : sink.suggestions) EXPECT_NE(call.tool, "read_configmap_data");
  for (const auto& call : sink.suggestions) EXPECT_NE(call.tool, "get_service");
}

TEST_F(LogAnalyzer, LongLinesAreTruncatedInTheQuote) {
  crashLoop();
  std::string longLine(600, 'x');
  auto logs = stepWithJson("get_pod_logs",
                           R"({"pod":"checkout-7d9f8b6c5-x2x7q","container":"checkout","previous":true,"text":"fatal: )" +
                               longLine + R"("})",
                           {{"E3", "Pod/checkout-7d9f8b6c5-x2x7q container checkout (previous)"}});
  run(*analyzer, *logs, sink);
  const auto& f = sink.findings()[0];
  EXPECT_LT(f.title.size(), 400u) << f.title;
  EXPECT_TRUE(contains(f.title, "…\"")) << "a visible truncation marker: " << f.title;
}

TEST_F(LogAnalyzer, CleanLogsProduceNoFinding) {
  auto logs = stepFromFixture("get_pod_logs", "logs_clean.json", {{"E1", "Pod/frontend-6d8f9b7c5-abcde container frontend"}});
  run(*analyzer, *logs, sink);
  EXPECT_TRUE(sink.findings().empty());
}

}  // namespace
