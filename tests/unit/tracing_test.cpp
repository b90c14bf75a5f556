// Traces (operator/controller/tracing): the OTLP/HTTP JSON body, the spans
// of a node and of a run, their IDs and parents, the redactor on the way
// out, and the tracing config.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "operator/controller/operator_config.h"
#include "operator/controller/tracing.h"

using namespace opscopilot;
using namespace opscopilot::controller;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

const rapidjson::Value* attribute(const rapidjson::Value& span, const char* key) {
  for (const auto& a : span["attributes"].GetArray()) {
    if (std::string(a["key"].GetString()) == key) return &a["value"];
  }
  return nullptr;
}

}  // namespace

TEST(Tracing, IdsAreStableHexOfTheRightLength) {
  const auto t = traceIdFor("6f1c2b9e-0b1d-4c55-9e1a-3b8f2a7d9c10", 1);
  EXPECT_EQ(t.size(), 32u);
  EXPECT_EQ(t.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_EQ(t, traceIdFor("6f1c2b9e-0b1d-4c55-9e1a-3b8f2a7d9c10", 1)) << "a restarted operator continues the trace";
  EXPECT_NE(t, traceIdFor("6f1c2b9e-0b1d-4c55-9e1a-3b8f2a7d9c10", 2)) << "a new spec is a new trace";
  EXPECT_EQ(spanIdFor(t, "run").size(), 16u);
  EXPECT_NE(spanIdFor(t, "run"), spanIdFor(t, "step-1"));
}

TEST(Tracing, ANodesStepsAndModelCallsBecomeSpansUnderTheRun) {
  const std::string trace = traceIdFor("uid", 1);
  agent::Step tool;
  tool.id = 2;
  tool.node = agent::Node::Tool;
  tool.tool = "get_pod_logs";
  tool.state = agent::StepState::Failed;
  tool.error = "Forbidden: may not get pods/log";
  tool.startedAt = "2026-12-03T10:00:00.250Z";
  tool.durationMs = 40;
  tool.evidence = {"E3"};
  agent::Step planner;
  planner.id = 3;
  planner.node = agent::Node::Planner;
  planner.state = agent::StepState::Succeeded;
  planner.startedAt = "2026-12-03T10:00:01Z";
  planner.durationMs = 2000;
  planner.tokens = 900;
  ModelCallSpan call{"gpt", "gpt-4o-mini", "openai", {}, std::chrono::system_clock::now()};
  call.record.usage = {800, 100};
  call.record.costMicroUSD = 180;
  call.record.attempts = 2;
  call.record.elapsed = std::chrono::milliseconds(1900);
  auto spans = nodeSpans(trace, {&tool, &planner}, {call});
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[0].name, "tool get_pod_logs");
  EXPECT_EQ(spans[0].parentSpanId, spanIdFor(trace, "run"));
  EXPECT_TRUE(spans[0].error);
  EXPECT_EQ(spans[0].endNs - spans[0].startNs, 40'000'000);
  EXPECT_EQ(spans[0].startNs % 1'000'000'000, 250'000'000) << "milliseconds of startedAt kept";
  EXPECT_EQ(spans[1].name, "planner");
  EXPECT_EQ(spans[2].name, "chat gpt-4o-mini");
  EXPECT_EQ(spans[2].kind, 3);
  EXPECT_EQ(spans[2].parentSpanId, spans[1].spanId) << "a model call is a child of the step it served";
  EXPECT_EQ(spans[2].endNs - spans[2].startNs, 1'900'000'000);

  rapidjson::Document doc;
  doc.Parse(otlpBody(spans, "opscopilot-operator").str().c_str());
  ASSERT_FALSE(doc.HasParseError());
  const auto& rs = doc["resourceSpans"][0];
  EXPECT_STREQ(rs["resource"]["attributes"][0]["value"]["stringValue"].GetString(), "opscopilot-operator");
  const auto& out = rs["scopeSpans"][0]["spans"];
  ASSERT_EQ(out.Size(), 3u);
  EXPECT_STREQ(out[0]["traceId"].GetString(), trace.c_str());
  EXPECT_EQ(out[0]["status"]["code"].GetInt(), 2);
  EXPECT_STREQ(attribute(out[0], "opscopilot.step.evidence")->operator[]("stringValue").GetString(), "E3");
  EXPECT_STREQ(attribute(out[2], "gen_ai.usage.input_tokens")->operator[]("intValue").GetString(), "800")
      << "int64 as a string, as OTLP's JSON encoding has it";
  EXPECT_DOUBLE_EQ(attribute(out[2], "opscopilot.cost_usd")->operator[]("doubleValue").GetDouble(), 0.00018);
  EXPECT_TRUE(out[0]["startTimeUnixNano"].IsString());
}

TEST(Tracing, TheRunsSpanCarriesItsOutcomeAndTheBodyPassesTheRedactor) {
  auto run = kube::Object::parse(R"({"metadata":{"name":"why","namespace":"shop","uid":"u1","generation":1},
      "spec":{"model":"builtin"},"status":{"startTime":"2026-12-03T10:00:00Z","targetRef":"Deployment/checkout"}})");
  ASSERT_TRUE(run.ok());
  agent::RunState state;
  state.phase = agent::Phase::Failed;
  state.reason = "TargetNotFound";
  state.message = "api_key=AKIAIOSFODNN7EXAMPLE was not found";
  const auto end = std::chrono::system_clock::time_point(std::chrono::seconds(1796292003));  // 10:00:03Z
  auto span = runSpan(traceIdFor("u1", 1), **run, state, "builtin", end);
  EXPECT_EQ(span.name, "DiagnosticRun");
  EXPECT_EQ(span.parentSpanId, "");
  EXPECT_EQ(span.endNs - span.startNs, 3'000'000'000);
  EXPECT_TRUE(span.error);
  const std::string body = otlpBody({span}, "opscopilot-operator").str();
  EXPECT_THAT(body, HasSubstr(R"("key":"k8s.namespace.name","value":{"stringValue":"shop"})"));
  EXPECT_THAT(body, HasSubstr(R"("key":"opscopilot.run.reason","value":{"stringValue":"TargetNotFound"})"));
  EXPECT_THAT(body, Not(HasSubstr("AKIAIOSFODNN7EXAMPLE")));
}

TEST(Tracing, TheConfigTakesABaseEndpointAndRefusesWhatIsNoUrl) {
  auto cfg = parseOperatorConfig("tracing: {endpoint: \"http://otel-collector.monitoring:4318/\", serviceName: ops}\n", "t");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_TRUE(cfg->tracing);
  EXPECT_EQ(cfg->tracing->endpoint, "http://otel-collector.monitoring:4318/v1/traces");
  EXPECT_EQ(cfg->tracing->serviceName, "ops");
  auto bad = parseOperatorConfig("tracing: {endpoint: \"otel:4318\"}\n", "t");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("tracing.endpoint must be an http:// or https:// URL"));
  auto typo = parseOperatorConfig("tracing: {endpont: \"http://x:4318\"}\n", "t");
  ASSERT_FALSE(typo.ok());
  EXPECT_THAT(typo.error().message, HasSubstr("unknown field \"tracing.endpont\""));
  std::string out;
  EXPECT_EQ(tracesEndpoint("https://collector:4318/custom/traces", true, out), "");
  EXPECT_EQ(out, "https://collector:4318/custom/traces") << "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is used as is";
}
