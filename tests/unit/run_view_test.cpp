// kubectl-opscopilot's views of a run (operator/cli/run_view): what a
// follower prints as a run's status grows, and the tree.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "operator/cli/run_view.h"

using namespace opscopilot;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

kube::ObjectPtr run(const std::string& status) {
  auto o = kube::Object::parse(R"J({"apiVersion":"opscopilot.io/v1alpha1","kind":"DiagnosticRun",
    "metadata":{"name":"why","namespace":"shop","generation":1,"creationTimestamp":"2026-12-03T10:00:00Z"},
    "spec":{"question":"Why is checkout crash-looping?","target":{"kind":"Deployment","name":"checkout"}},
    "status":)J" + status + "}");
  EXPECT_TRUE(o.ok());
  return *o;
}

}  // namespace

TEST(RunFollower, PrintsEachStepOnceWithItsOutcomeAndItsEvidenceUnderIt) {
  cli::RunFollower f;
  auto first = f.update(*run(R"J({"phase":"Running","steps":[
      {"id":1,"node":"planner","state":"Succeeded","summary":"plan: list_pods"},
      {"id":2,"node":"tool","tool":"list_pods","state":"Running"}]})J"));
  EXPECT_THAT(first, HasSubstr("[1] planner  Succeeded  plan: list_pods"));
  EXPECT_THAT(first, Not(HasSubstr("list_pods  Running"))) << "a step is printed once it has an outcome";
  auto second = f.update(*run(R"J({"phase":"Running","steps":[
      {"id":1,"node":"planner","state":"Succeeded","summary":"plan: list_pods"},
      {"id":2,"node":"tool","tool":"list_pods","state":"Succeeded","durationMs":7,"summary":"1 pod","evidence":["E1"]}],
      "evidence":[{"id":"E1","tool":"list_pods","ref":"Pod/checkout-1","excerpt":"Pod checkout-1: CrashLoopBackOff\nmore"}]})J"));
  EXPECT_EQ(second,
            "  [2] list_pods  Succeeded  7ms  1 pod  [E1]\n"
            "      E1 list_pods  Pod/checkout-1: Pod checkout-1: CrashLoopBackOff\n");
  EXPECT_FALSE(f.done());
}

TEST(RunFollower, SaysWhichApprovalItWaitsForOnceThenTheAnswerAtTheEnd) {
  cli::RunFollower f;
  const std::string waiting = R"J({"phase":"AwaitingApproval","steps":[
      {"id":3,"node":"approval","state":"AwaitingApproval","summary":"read_configmap_data needs a person's approval"}],
      "conditions":[{"type":"AwaitingApproval","status":"True","reason":"ApprovalRequested",
        "message":"Step 3 (read_configmap_data) waits for ApprovalRequest why-1-3 (uid 42)"}]})J";
  auto out = f.update(*run(waiting));
  EXPECT_THAT(out, HasSubstr("waiting for ApprovalRequest why-1-3: kubectl opscopilot approve why-1-3 -n shop"));
  EXPECT_EQ(f.update(*run(waiting)), "") << "nothing new";
  auto end = f.update(*run(R"J({"phase":"Succeeded","reason":"Completed","message":"1 problem found","observedGeneration":1,
      "answer":"It exits with code 1 [E1].","usage":{"costUSD":"0","toolCalls":1,"durationMs":1500},
      "findings":[{"id":"F1","title":"Container exits","severity":"High","confidence":90,"evidence":["E1"]}]})J"));
  EXPECT_THAT(end, HasSubstr("  finding F1 High (90%)  Container exits  [E1]"));
  EXPECT_THAT(end, HasSubstr("Succeeded (Completed): 1 problem found\n\nIt exits with code 1 [E1].\n"));
  EXPECT_THAT(end, HasSubstr("$0, 0 steps, 1 tool calls, 0 model calls, 0 tokens, 1.5s"));
  EXPECT_TRUE(f.done());
  EXPECT_TRUE(f.succeeded());
}

TEST(RunFollower, AFinishedStatusOfAnOlderSpecIsNotTheEnd) {
  cli::RunFollower f;
  auto o = kube::Object::parse(R"J({"metadata":{"name":"why","namespace":"shop","generation":2},
      "status":{"phase":"Succeeded","reason":"Completed","observedGeneration":1}})J");
  ASSERT_TRUE(o.ok());
  f.update(**o);
  EXPECT_FALSE(f.done());
}

TEST(RunView, TableAndTree) {
  auto r = run(R"J({"phase":"Failed","reason":"TargetNotFound","message":"Deployment/checkout was not found",
      "usage":{"costUSD":"0.0012"}})J");
  auto table = cli::runTable({r}, false, 1796292030);  // 2026-12-03T10:00:30Z
  EXPECT_THAT(table, HasSubstr("NAME   PHASE    REASON"));
  EXPECT_THAT(table, HasSubstr("why    Failed   TargetNotFound   0       $0.0012   30s   Why is checkout crash-looping?"));
  auto tree = cli::runTree(*r, {}, false);
  EXPECT_THAT(tree, HasSubstr("Status:     Failed (TargetNotFound): Deployment/checkout was not found\n"));
  EXPECT_THAT(tree, HasSubstr("Target:     Deployment/checkout\n"));
  EXPECT_EQ(cli::runTable({}, false, 0), "No DiagnosticRuns found.\n");
}
