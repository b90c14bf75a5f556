#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include "agent/llm/llm.h"
#include "fake_http_client.h"

using namespace opscopilot::agent::llm;
using opscopilot::agent::llm::testing::FakeHttpClient;
using opscopilot::agent::llm::testing::hasHeader;
using opscopilot::agent::llm::testing::headerOf;

namespace {

constexpr const char* kKey = "sk-ant-api03-0123456789abcdefghijklmnop";

ProviderConfig anthropicConfig() {
  ProviderConfig c;
  c.name = "claude";
  c.provider = "anthropic";
  c.baseURL = "https://api.anthropic.com";
  c.model = "claude-sonnet-4-5";
  c.apiKey = kKey;
  return c;
}

ChatRequest diagnoseRequest() {
  ChatRequest r;
  r.messages.push_back({ChatMessage::Role::System, "You diagnose Kubernetes workloads.", {}, "", ""});
  r.messages.push_back({ChatMessage::Role::User, "Why is shop/checkout failing?", {}, "", ""});
  r.tools.push_back({"get_pods", "Lists pods", R"({"type":"object","properties":{"selector":{"type":"string"}}})"});
  r.requireToolCall = true;
  r.maxOutputTokens = 512;
  return r;
}

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  EXPECT_FALSE(doc.HasParseError()) << body;
  return doc;
}

const char* kToolUseReply = R"({
  "id": "msg_01", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
  "content": [
    {"type": "text", "text": "Let me look at the pods."},
    {"type": "tool_use", "id": "toolu_01", "name": "get_pods", "input": {"selector": "app=checkout"}}
  ],
  "stop_reason": "tool_use",
  "usage": {"input_tokens": 950, "output_tokens": 61, "cache_read_input_tokens": 50}
})";

struct Fixture {
  std::shared_ptr<FakeHttpClient> http = std::make_shared<FakeHttpClient>();
  std::unique_ptr<Provider> provider;
  explicit Fixture(ProviderConfig config = anthropicConfig())
      : provider(makeAnthropicProvider(std::move(config), http)) {}
};

}  // namespace

TEST(AnthropicProvider, SendsSystemAtTopLevelToolsWithInputSchemaAndAnyToolChoice) {
  Fixture f;
  f.http->push(FakeHttpClient::reply(200, kToolUseReply));
  ASSERT_TRUE(f.provider->chat(redactChatRequest(diagnoseRequest()), {}).ok());

  const HttpCall call = f.http->lastCall();
  EXPECT_EQ(call.url, "https://api.anthropic.com/v1/messages");
  EXPECT_EQ(headerOf(call, "x-api-key"), kKey);
  EXPECT_EQ(headerOf(call, "anthropic-version"), "2023-06-01");
  EXPECT_EQ(headerOf(call, "content-type"), "application/json");
  EXPECT_FALSE(hasHeader(call, "authorization"));
  auto body = parse(call.body);
  EXPECT_STREQ(body["model"].GetString(), "claude-sonnet-4-5");
  EXPECT_EQ(body["max_tokens"].GetInt(), 512);
  EXPECT_STREQ(body["system"].GetString(), "You diagnose Kubernetes workloads.");
  ASSERT_EQ(body["messages"].Size(), 1u) << "the system prompt is not a message";
  EXPECT_STREQ(body["messages"][0]["role"].GetString(), "user");
  EXPECT_STREQ(body["messages"][0]["content"][0]["type"].GetString(), "text");
  EXPECT_STREQ(body["messages"][0]["content"][0]["text"].GetString(), "Why is shop/checkout failing?");
  EXPECT_STREQ(body["tools"][0]["name"].GetString(), "get_pods");
  EXPECT_STREQ(body["tools"][0]["description"].GetString(), "Lists pods");
  EXPECT_TRUE(body["tools"][0]["input_schema"]["properties"].IsObject());
  EXPECT_STREQ(body["tool_choice"]["type"].GetString(), "any");
  EXPECT_FALSE(body.HasMember("stream"));
}

TEST(AnthropicProvider, LeavesToolChoiceToTheModelUnlessRequired) {
  Fixture f;
  f.http->push(FakeHttpClient::reply(200, kToolUseReply));
  auto request = diagnoseRequest();
  request.requireToolCall = false;
  ASSERT_TRUE(f.provider->chat(redactChatRequest(request), {}).ok());
  auto body = parse(f.http->lastCall().body);
  EXPECT_TRUE(body.HasMember("tools"));
  EXPECT_FALSE(body.HasMember("tool_choice"));
}

TEST(AnthropicProvider, HistoryBecomesToolUseAndMergedToolResultBlocks) {
  Fixture f;
  f.http->push(FakeHttpClient::reply(200, kToolUseReply));
  auto request = diagnoseRequest();
  request.messages.push_back({ChatMessage::Role::Assistant,
                              "Checking.",
                              {{"toolu_01", "get_pods", R"({"selector":"app=checkout"})"}, {"toolu_02", "get_events", "{oops"}},
                              "",
                              ""});
  request.messages.push_back({ChatMessage::Role::Tool, "checkout-7d9 CrashLoopBackOff", {}, "toolu_01", "get_pods"});
  request.messages.push_back({ChatMessage::Role::Tool, "error: invalid arguments", {}, "toolu_02", "get_events"});
  request.messages.push_back({ChatMessage::Role::User, "Focus on the newest pod.", {}, "", ""});
  ASSERT_TRUE(f.provider->chat(redactChatRequest(request), {}).ok());

  auto body = parse(f.http->lastCall().body);
  const auto& messages = body["messages"];
  ASSERT_EQ(messages.Size(), 3u) << "turns alternate user / assistant / user";
  const auto& assistant = messages[1];
  EXPECT_STREQ(assistant["role"].GetString(), "assistant");
  ASSERT_EQ(assistant["content"].Size(), 3u);
  EXPECT_STREQ(assistant["content"][0]["text"].GetString(), "Checking.");
  EXPECT_STREQ(assistant["content"][1]["type"].GetString(), "tool_use");
  EXPECT_STREQ(assistant["content"][1]["id"].GetString(), "toolu_01");
  EXPECT_STREQ(assistant["content"][1]["name"].GetString(), "get_pods");
  EXPECT_STREQ(assistant["content"][1]["input"]["selector"].GetString(), "app=checkout");
  EXPECT_TRUE(assistant["content"][2]["input"].IsObject()) << "invalid arguments go back as {}";
  const auto& results = messages[2];
  EXPECT_STREQ(results["role"].GetString(), "user");
  ASSERT_EQ(results["content"].Size(), 3u);
  EXPECT_STREQ(results["content"][0]["type"].GetString(), "tool_result");
  EXPECT_STREQ(results["content"][0]["tool_use_id"].GetString(), "toolu_01");
  EXPECT_STREQ(results["content"][0]["content"].GetString(), "checkout-7d9 CrashLoopBackOff");
  EXPECT_STREQ(results["content"][1]["tool_use_id"].GetString(), "toolu_02");
  EXPECT_STREQ(results["content"][2]["type"].GetString(), "text") << "text follows the tool results";
}

TEST(AnthropicProvider, ParsesTextToolUseStopReasonAndUsage) {
  Fixture f;
  f.http->push(FakeHttpClient::reply(200, kToolUseReply));
  auto result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
  ASSERT_TRUE(result.ok()) << result.error.message;
  const ChatResponse& r = *result.value;
  EXPECT_EQ(r.content, "Let me look at the pods.");
  ASSERT_EQ(r.toolCalls.size(), 1u);
  EXPECT_EQ(r.toolCalls[0].id, "toolu_01");
  EXPECT_EQ(r.toolCalls[0].name, "get_pods");
  EXPECT_EQ(r.toolCalls[0].argsJson, R"({"selector":"app=checkout"})");
  EXPECT_EQ(r.finishReason, "tool_calls");
  EXPECT_EQ(r.model, "claude-sonnet-4-5-20250929");
  EXPECT_EQ(r.usage.promptTokens, 1000) << "cached prompt tokens are prompt tokens too";
  EXPECT_EQ(r.usage.completionTokens, 61);
}

TEST(AnthropicProvider, StreamAccumulatesTextAndInputJsonDeltas) {
  auto config = anthropicConfig();
  config.stream = true;
  Fixture f(config);
  const std::string events =
      "event: message_start\n"
      "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-sonnet-4-5\",\"content\":[],"
      "\"usage\":{\"input_tokens\":420,\"output_tokens\":1}}}\n\n"
      "event: content_block_start\n"
      "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
      "event: ping\ndata: {\"type\":\"ping\"}\n\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Looking \"}}\n\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"closer.\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
      "event: content_block_start\n"
      "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":\"tool_use\",\"id\":\"toolu_9\","
      "\"name\":\"get_logs\",\"input\":{}}}\n\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"{\\\"pod\\\": \\\"che\"}}\n\n"
      "event: content_block_delta\n"
      "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"ckout-7d9\\\"}\"}}\n\n"
      "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
      "event: message_delta\n"
      "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},\"usage\":{\"output_tokens\":57}}\n\n"
      "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
  std::vector<std::string> chunks;
  for (std::size_t i = 0; i < events.size(); i += 11) chunks.push_back(events.substr(i, 11));
  f.http->push(FakeHttpClient::stream(chunks));
  auto request = diagnoseRequest();
  request.stream = true;
  auto result = f.provider->chat(redactChatRequest(request), {});
  ASSERT_TRUE(result.ok()) << result.error.message;

  EXPECT_TRUE(parse(f.http->lastCall().body)["stream"].GetBool());
  const ChatResponse& r = *result.value;
  EXPECT_EQ(r.content, "Looking closer.");
  ASSERT_EQ(r.toolCalls.size(), 1u);
  EXPECT_EQ(r.toolCalls[0].id, "toolu_9");
  EXPECT_EQ(r.toolCalls[0].name, "get_logs");
  EXPECT_EQ(r.toolCalls[0].argsJson, R"({"pod": "checkout-7d9"})");
  EXPECT_EQ(r.finishReason, "tool_calls");
  EXPECT_EQ(r.usage.promptTokens, 420);
  EXPECT_EQ(r.usage.completionTokens, 57);
}

TEST(AnthropicProvider, StreamCutBeforeMessageStopIsTransient) {
  auto config = anthropicConfig();
  config.stream = true;
  Fixture f(config);
  f.http->push(FakeHttpClient::stream(
      {"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5}}}\n\n",
       "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hal"}));
  auto request = diagnoseRequest();
  request.stream = true;
  auto result = f.provider->chat(redactChatRequest(request), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Transient);
}

TEST(AnthropicProvider, ErrorEventInStreamIsTransientWhenOverloaded) {
  auto config = anthropicConfig();
  config.stream = true;
  Fixture f(config);
  f.http->push(FakeHttpClient::stream(
      {"event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":5}}}\n\n",
       "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n"}));
  auto request = diagnoseRequest();
  request.stream = true;
  auto result = f.provider->chat(redactChatRequest(request), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Transient);
  EXPECT_NE(result.error.message.find("overloaded_error"), std::string::npos) << result.error.message;
}

TEST(AnthropicProvider, MapsHttpFailuresToErrorKinds) {
  Fixture f;
  f.http->push(FakeHttpClient::reply(529, R"({"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}})"));
  f.http->push(FakeHttpClient::reply(429, R"({"type":"error","error":{"type":"rate_limit_error"}})", {{"retry-after", "12"}}));
  f.http->push(FakeHttpClient::reply(401, R"({"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}})"));
  f.http->push(FakeHttpClient::reply(400, R"({"type":"error","error":{"type":"invalid_request_error","message":"messages: roles must alternate"}})"));
  f.http->push(FakeHttpClient::connectionError("", true));

  auto result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
  EXPECT_EQ(result.error.kind, LlmError::Kind::Transient);
  EXPECT_EQ(result.error.httpCode, 529);
  result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
  EXPECT_EQ(result.error.kind, LlmError::Kind::Transient);
  ASSERT_TRUE(result.error.retryAfter);
  EXPECT_EQ(*result.error.retryAfter, std::chrono::seconds(12));
  result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
  EXPECT_EQ(result.error.kind, LlmError::Kind::Auth);
  result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
  EXPECT_EQ(result.error.kind, LlmError::Kind::Invalid);
  EXPECT_NE(result.error.message.find("roles must alternate"), std::string::npos) << result.error.message;
  result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
  EXPECT_EQ(result.error.kind, LlmError::Kind::Transient);
  for (const auto& call : f.http->calls()) EXPECT_EQ(call.url, "https://api.anthropic.com/v1/messages");
}

TEST(AnthropicProvider, MalformedResponsesAreInvalidAndNeverQuoteTheKey) {
  Fixture f;
  for (const std::string& body : {std::string("{\"type\":\"message\"}"), std::string("<html>") + kKey, std::string("")}) {
    f.http->push(FakeHttpClient::reply(200, body));
    auto result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
    ASSERT_FALSE(result.ok()) << body;
    EXPECT_EQ(result.error.kind, LlmError::Kind::Invalid) << body;
    EXPECT_EQ(result.error.message.find(kKey), std::string::npos);
  }
}

TEST(AnthropicProvider, UsesTheConfiguredVersionAndAcceptsABaseURLEndingInV1) {
  auto config = anthropicConfig();
  config.baseURL = "https://llm-proxy.internal/anthropic/v1/";
  config.apiVersion = "2024-10-22";
  Fixture f(config);
  f.http->push(FakeHttpClient::reply(200, kToolUseReply));
  ASSERT_TRUE(f.provider->chat(redactChatRequest(diagnoseRequest()), {}).ok());
  EXPECT_EQ(f.http->lastCall().url, "https://llm-proxy.internal/anthropic/v1/messages");
  EXPECT_EQ(headerOf(f.http->lastCall(), "anthropic-version"), "2024-10-22");
}

TEST(AnthropicProvider, CallTimeoutIsAtMostTheTimeLeftAndAPassedDeadlineSendsNothing) {
  Fixture f;
  f.http->push(FakeHttpClient::reply(200, kToolUseReply));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  ASSERT_TRUE(f.provider->chat(redactChatRequest(diagnoseRequest()), {deadline, {}}).ok());
  EXPECT_LE(f.http->lastCall().timeout, std::chrono::milliseconds(5000));
  EXPECT_LE(f.http->lastCall().deadline, deadline);

  auto late = f.provider->chat(redactChatRequest(diagnoseRequest()), {std::chrono::steady_clock::now() - std::chrono::milliseconds(1), {}});
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.error.kind, LlmError::Kind::Transient);
  EXPECT_EQ(f.http->calls().size(), 1u) << "the late call was not sent";
}
