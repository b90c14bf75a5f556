// The built-in planner's first calls, from the target's kind and the
// question's words.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "agent/planner.h"

using namespace opscopilot::agent;

namespace {

RunSpec specFor(std::string kind, std::string name, std::string question) {
  RunSpec s;
  s.ns = "shop";
  s.targetKind = std::move(kind);
  s.targetName = std::move(name);
  s.question = std::move(question);
  return s;
}

const PlannedCall* callTo(const std::vector<PlannedCall>& plan, const std::string& tool) {
  for (const auto& c : plan) {
    if (c.tool == tool) return &c;
  }
  return nullptr;
}

std::string member(const PlannedCall& c, const char* key) {
  rapidjson::Document d;
  d.Parse(c.argsJson.c_str());
  EXPECT_FALSE(d.HasParseError()) << c.argsJson;
  return d.IsObject() && d.HasMember(key) && d[key].IsString() ? d[key].GetString() : "";
}

TEST(BuiltinPlanner, AQuotedPhraseIsSearchedForLiterallyInTheTargetsLogs) {
  BuiltinPlanner planner;
  auto plan = planner.initialPlan(specFor("Deployment", "checkout", "why does checkout log \"upstream timed out (110)\" since 9:00?"));
  ASSERT_FALSE(plan.empty());
  EXPECT_EQ(plan.front().tool, "get_workload") << "the target is read first";
  const auto* search = callTo(plan, "search_logs");
  ASSERT_NE(search, nullptr);
  EXPECT_EQ(member(*search, "pattern"), R"(upstream timed out \(110\))");
  EXPECT_EQ(member(*search, "kind"), "Deployment");
  EXPECT_EQ(member(*search, "name"), "checkout");

  for (const char* q : {"errors like `connection reset by peer` in the pod?", "it says 'no space left' in the pod",
                        "why \xE2\x80\x9C" "connection reset\xE2\x80\x9D?"}) {
    plan = planner.initialPlan(specFor("Pod", "web-1", q));
    search = callTo(plan, "search_logs");
    ASSERT_NE(search, nullptr) << q;
    EXPECT_EQ(member(*search, "kind"), "Pod") << q;
    EXPECT_THAT(member(*search, "pattern"), ::testing::AnyOf("connection reset by peer", "no space left", "connection reset"))
        << q;
  }
}

TEST(BuiltinPlanner, NoSearchWithoutAQuotedPhraseOrForAConfigMapsName) {
  BuiltinPlanner planner;
  EXPECT_EQ(callTo(planner.initialPlan(specFor("Deployment", "web", "why isn't web ready? it's been down")), "search_logs"),
            nullptr)
      << "apostrophes are not quotes";
  auto plan = planner.initialPlan(specFor("", "", "what is in configmap \"app-config\"?"));
  EXPECT_NE(callTo(plan, "read_configmap_data"), nullptr);
  EXPECT_EQ(callTo(plan, "search_logs"), nullptr);
  // A namespace-wide question searches the namespace's pods.
  plan = planner.initialPlan(specFor("Namespace", "", "who logs \"OutOfMemoryError\"?"));
  const auto* search = callTo(plan, "search_logs");
  ASSERT_NE(search, nullptr);
  EXPECT_EQ(member(*search, "kind"), "");
  EXPECT_EQ(member(*search, "pattern"), "OutOfMemoryError");
  // A tool the run may not use is never planned.
  auto spec = specFor("Deployment", "web", "why \"boom\"?");
  spec.allowedTools = {"get_workload"};
  EXPECT_EQ(callTo(planner.initialPlan(spec), "search_logs"), nullptr);
}

}  // namespace
