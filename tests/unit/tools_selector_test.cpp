#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "tools/selector.h"

using namespace opscopilot::tools;

namespace {

std::string selector(const char* json) {
  rapidjson::Document d;
  d.Parse(json);
  return selectorToString(d);
}

}  // namespace

TEST(ToolsSelector, MatchLabelsAreSortedByKey) {
  EXPECT_EQ(selector(R"({"matchLabels":{"tier":"web","app":"checkout"}})"), "app=checkout,tier=web");
}

TEST(ToolsSelector, MatchExpressionsUseTheQuerySyntax) {
  EXPECT_EQ(selector(R"({"matchLabels":{"app":"web"},"matchExpressions":[
      {"key":"env","operator":"In","values":["prod","canary"]},
      {"key":"track","operator":"NotIn","values":["beta"]},
      {"key":"owner","operator":"Exists"},
      {"key":"legacy","operator":"DoesNotExist"}]})"),
            "app=web,!legacy,env in (canary,prod),owner,track notin (beta)");
}

TEST(ToolsSelector, UnknownOperatorsAndEmptyValueListsAreLeftOut) {
  EXPECT_EQ(selector(R"({"matchExpressions":[{"key":"a","operator":"Gt","values":["1"]},
      {"key":"b","operator":"In","values":[]},{"key":"c","operator":"Exists"}]})"),
            "c");
}

TEST(ToolsSelector, EmptyOrMissingSelectorIsEmptyString) {
  EXPECT_EQ(selector("{}"), "");
  EXPECT_EQ(selector("null"), "");
  EXPECT_EQ(selector(R"({"matchLabels":{}})"), "");
}

TEST(ToolsSelector, PlainLabelMapForServiceSelectors) {
  rapidjson::Document d;
  d.Parse(R"({"b":"2","a":"1"})");
  EXPECT_EQ(matchLabelsToString(d), "a=1,b=2");
  d.Parse("[]");
  EXPECT_EQ(matchLabelsToString(d), "");
}
