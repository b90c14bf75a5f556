// The web timeline's JSON (operator/controller/web_timeline) and its page
// assets; the server itself is driven in Chromium by tests/e2e/web_test.sh.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "operator/controller/operator_config.h"
#include "operator/controller/web_assets.h"
#include "operator/controller/web_timeline.h"

using namespace opscopilot;
using namespace opscopilot::controller;
using ::testing::HasSubstr;

namespace {
kube::ObjectPtr object(const std::string& json) {
  auto o = kube::Object::parse(json);
  EXPECT_TRUE(o.ok());
  return *o;
}
}  // namespace

TEST(WebTimeline, RunsNewestFirstAndOneRunWithItsApprovals) {
  auto older = object(R"({"metadata":{"name":"a","namespace":"shop","creationTimestamp":"2026-12-03T10:00:00Z"},
      "spec":{"question":"Why?"},"status":{"phase":"Succeeded","reason":"Completed"}})");
  auto newer = object(R"({"metadata":{"name":"b","namespace":"shop","creationTimestamp":"2026-12-03T11:00:00Z"},
      "spec":{"question":"And now?"}})");
  rapidjson::Document list;
  list.Parse(runsJson({older, newer}).c_str());
  ASSERT_FALSE(list.HasParseError());
  ASSERT_EQ(list["runs"].Size(), 2u);
  EXPECT_STREQ(list["runs"][0]["name"].GetString(), "b");
  EXPECT_STREQ(list["runs"][0]["phase"].GetString(), "Pending") << "no status yet";
  EXPECT_STREQ(list["runs"][1]["reason"].GetString(), "Completed");

  auto apr = object(R"({"metadata":{"name":"a-1-3","namespace":"shop"},"spec":{"runRef":{"name":"a"},"stepID":3,
      "action":{"tool":"read_configmap_data"},"risk":"Medium","decision":"Approved","decidedBy":"alice"},
      "status":{"phase":"Approved"}})");
  rapidjson::Document one;
  one.Parse(runJson(*older, {apr}).c_str());
  ASSERT_FALSE(one.HasParseError());
  EXPECT_STREQ(one["summary"]["name"].GetString(), "a");
  EXPECT_STREQ(one["status"]["phase"].GetString(), "Succeeded");
  EXPECT_EQ(one["approvals"][0]["stepID"].GetInt64(), 3);
  EXPECT_STREQ(one["approvals"][0]["decidedBy"].GetString(), "alice");
}

TEST(WebTimeline, ThePageLoadsItsScriptAndStyleFromItsOwnOriginOnly) {
  const WebAsset* index = webAsset("/index.html");
  ASSERT_NE(index, nullptr);
  EXPECT_THAT(std::string(index->body), HasSubstr(R"(<script src="/app.js" defer></script>)"));
  EXPECT_EQ(std::string(index->body).find("<script>"), std::string::npos) << "no inline script (the CSP forbids it)";
  ASSERT_NE(webAsset("/app.js"), nullptr);
  EXPECT_EQ(std::string(webAsset("/app.js")->body).find("innerHTML"), std::string::npos) << "run text is never parsed as HTML";
  EXPECT_EQ(webAsset("/app.js")->contentType, "text/javascript; charset=utf-8");
  EXPECT_EQ(webAsset("/nothing"), nullptr);
}

TEST(WebTimeline, TheConfigTakesHostAndPort) {
  auto cfg = parseOperatorConfig("web: {address: \"0.0.0.0:8082\"}\n", "t");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->webAddress, "0.0.0.0:8082");
  auto bad = parseOperatorConfig("web: {address: \"8082\"}\n", "t");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("web.address must be host:port"));
}
