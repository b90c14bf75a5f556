#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include "agent/llm/llm.h"
#include "agent/prompts.h"
#include "fake_http_client.h"

using namespace opscopilot::agent::llm;
using opscopilot::agent::llm::testing::FakeHttpClient;
using opscopilot::agent::llm::testing::hasHeader;
using opscopilot::agent::llm::testing::headerOf;

namespace {

constexpr const char* kKey = "sk-test-0123456789abcdefghijklmnop";

ProviderConfig openaiConfig(std::string key = kKey) {
  ProviderConfig c;
  c.name = "gpt";
  c.provider = "openai";
  c.baseURL = "https://api.openai.com/v1";
  c.model = "gpt-4o-mini";
  c.apiKey = std::move(key);
  return c;
}

ChatRequest diagnoseRequest() {
  ChatRequest r;
  r.messages.push_back({ChatMessage::Role::System, "You diagnose Kubernetes workloads.", {}, "", ""});
  r.messages.push_back({ChatMessage::Role::User, "Why is deployment shop/checkout not ready?", {}, "", ""});
  r.tools.push_back({"get_pods", "Lists pods matching a selector",
                     R"({"type":"object","properties":{"selector":{"type":"string"}},"required":["selector"]})"});
  r.requireToolCall = true;
  r.maxOutputTokens = 300;
  return r;
}

rapidjson::Document parse(const std::string& body) {
  rapidjson::Document doc;
  doc.Parse(body.c_str());
  EXPECT_FALSE(doc.HasParseError()) << body;
  return doc;
}

const char* kToolCallReply = R"({
  "id": "chatcmpl-1", "model": "gpt-4o-mini-2024-07-18",
  "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
    "role": "assistant", "content": null,
    "tool_calls": [
      {"id": "call_a", "type": "function", "function": {"name": "get_pods", "arguments": "{\"selector\":\"app=checkout\"}"}},
      {"id": "call_b", "type": "function", "function": {"name": "get_events", "arguments": "{not json"}}
    ]}}],
  "usage": {"prompt_tokens": 812, "completion_tokens": 41, "total_tokens": 853}
})";

struct Fixture {
  std::shared_ptr<FakeHttpClient> http = std::make_shared<FakeHttpClient>();
  std::unique_ptr<Provider> provider;
  explicit Fixture(ProviderConfig config = openaiConfig()) : provider(makeOpenAIProvider(std::move(config), http)) {}
};

}  // namespace

TEST(OpenAIProvider, OffersToolsWithRequiredToolChoiceAndBearerKey) {
  Fixture f;
  f.http->push(FakeHttpClient::reply(200, kToolCallReply));
  ASSERT_TRUE(f.provider->chat(redactChatRequest(diagnoseRequest()), {}).ok());

  const HttpCall call = f.http->lastCall();
  EXPECT_EQ(call.method, "POST");
  EXPECT_EQ(call.url, "https://api.openai.com/v1/chat/completions");
  EXPECT_EQ(headerOf(call, "Authorization"), std::string("Bearer ") + kKey);
  EXPECT_EQ(headerOf(call, "Content-Type"), "application/json");
  auto body = parse(call.body);
  EXPECT_STREQ(body["model"].GetString(), "gpt-4o-mini");
  ASSERT_EQ(body["messages"].Size(), 2u);
  EXPECT_STREQ(body["messages"][0]["role"].GetString(), "system");
  EXPECT_STREQ(body["messages"][1]["content"].GetString(), "Why is deployment shop/checkout not ready?");
  ASSERT_EQ(body["tools"].Size(), 1u);
  EXPECT_STREQ(body["tools"][0]["type"].GetString(), "function");
  EXPECT_STREQ(body["tools"][0]["function"]["name"].GetString(), "get_pods");
  EXPECT_STREQ(body["tools"][0]["function"]["description"].GetString(), "Lists pods matching a selector");
  ASSERT_TRUE(body["tools"][0]["function"]["parameters"].IsObject());
  EXPECT_STREQ(body["tools"][0]["function"]["parameters"]["required"][0].GetString(), "selector");
  EXPECT_STREQ(body["tool_choice"].GetString(), "required");
  EXPECT_EQ(body["max_completion_tokens"].GetInt(), 300);
  EXPECT_FALSE(body.HasMember("stream"));
}

TEST(OpenAIProvider, ToolChoiceIsAutoUnlessRequiredAndToolsAreOmittedWhenNone) {
  Fixture f;
  f.http->push(FakeHttpClient::reply(200, kToolCallReply));
  f.http->push(FakeHttpClient::reply(200, kToolCallReply));
  auto request = diagnoseRequest();
  request.requireToolCall = false;
  ASSERT_TRUE(f.provider->chat(redactChatRequest(request), {}).ok());
  EXPECT_STREQ(parse(f.http->lastCall().body)["tool_choice"].GetString(), "auto");

  request.tools.clear();
  ASSERT_TRUE(f.provider->chat(redactChatRequest(request), {}).ok());
  auto body = parse(f.http->lastCall().body);
  EXPECT_FALSE(body.HasMember("tools"));
  EXPECT_FALSE(body.HasMember("tool_choice"));
}

TEST(OpenAIProvider, LocalServerWithoutKeyGetsNoAuthorizationHeader) {
  auto config = openaiConfig("");
  config.baseURL = "http://127.0.0.1:11434/v1/";
  config.model = "qwen2.5:7b";
  Fixture f(config);
  f.http->push(FakeHttpClient::reply(200, kToolCallReply));
  ASSERT_TRUE(f.provider->chat(redactChatRequest(diagnoseRequest()), {}).ok());
  const HttpCall call = f.http->lastCall();
  EXPECT_EQ(call.url, "http://127.0.0.1:11434/v1/chat/completions");
  EXPECT_FALSE(hasHeader(call, "authorization"));
  EXPECT_FALSE(hasHeader(call, "api-key"));
  EXPECT_EQ(parse(call.body)["max_tokens"].GetInt(), 300) << "compatible servers know max_tokens";
}

TEST(OpenAIProvider, SendsAssistantToolCallsAndToolResultsInHistory) {
  Fixture f;
  f.http->push(FakeHttpClient::reply(200, kToolCallReply));
  auto request = diagnoseRequest();
  ChatMessage assistant{ChatMessage::Role::Assistant, "", {{"call_a", "get_pods", R"({"selector":"app=checkout"})"}}, "", ""};
  ChatMessage tool{ChatMessage::Role::Tool, "checkout-7d9 CrashLoopBackOff", {}, "call_a", "get_pods"};
  request.messages.push_back(assistant);
  request.messages.push_back(tool);
  ASSERT_TRUE(f.provider->chat(redactChatRequest(request), {}).ok());

  auto body = parse(f.http->lastCall().body);
  const auto& messages = body["messages"];
  ASSERT_EQ(messages.Size(), 4u);
  EXPECT_STREQ(messages[2]["role"].GetString(), "assistant");
  EXPECT_TRUE(messages[2]["content"].IsNull());
  EXPECT_STREQ(messages[2]["tool_calls"][0]["id"].GetString(), "call_a");
  EXPECT_STREQ(messages[2]["tool_calls"][0]["type"].GetString(), "function");
  EXPECT_STREQ(messages[2]["tool_calls"][0]["function"]["name"].GetString(), "get_pods");
  EXPECT_STREQ(messages[2]["tool_calls"][0]["function"]["arguments"].GetString(), R"({"selector":"app=checkout"})");
  EXPECT_STREQ(messages[3]["role"].GetString(), "tool");
  EXPECT_STREQ(messages[3]["tool_call_id"].GetString(), "call_a");
  EXPECT_STREQ(messages[3]["content"].GetString(), "checkout-7d9 CrashLoopBackOff");
}

TEST(OpenAIProvider, ParsesToolCallsUsageFinishReasonAndModel) {
  Fixture f;
  f.http->push(FakeHttpClient::reply(200, kToolCallReply));
  auto result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
  ASSERT_TRUE(result.ok()) << result.error.message;
  const ChatResponse& r = *result.value;
  EXPECT_EQ(r.content, "");
  ASSERT_EQ(r.toolCalls.size(), 2u);
  EXPECT_EQ(r.toolCalls[0].id, "call_a");
  EXPECT_EQ(r.toolCalls[0].name, "get_pods");
  EXPECT_EQ(r.toolCalls[0].argsJson, R"({"selector":"app=checkout"})");
  EXPECT_EQ(r.toolCalls[1].argsJson, "{not json") << "arguments are passed on as the model wrote them";
  EXPECT_EQ(r.finishReason, "tool_calls");
  EXPECT_EQ(r.model, "gpt-4o-mini-2024-07-18");
  EXPECT_EQ(r.usage.promptTokens, 812);
  EXPECT_EQ(r.usage.completionTokens, 41);
}

TEST(OpenAIProvider, ParsesPlainContentAndArgumentsGivenAsAnObject) {
  Fixture f;
  f.http->push(FakeHttpClient::reply(200, R"({"choices":[{"message":{"content":"The image tag does not exist.",
    "tool_calls":[{"function":{"name":"get_logs","arguments":{"pod":"a"}}}]},"finish_reason":"stop"}]})"));
  auto result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
  ASSERT_TRUE(result.ok()) << result.error.message;
  EXPECT_EQ(result.value->content, "The image tag does not exist.");
  ASSERT_EQ(result.value->toolCalls.size(), 1u);
  EXPECT_EQ(result.value->toolCalls[0].argsJson, R"({"pod":"a"})");
  EXPECT_FALSE(result.value->toolCalls[0].id.empty()) << "a missing id is made up so tool results can refer to it";
  EXPECT_EQ(result.value->usage.promptTokens, 0);
}

TEST(OpenAIProvider, StreamAccumulatesContentAndToolCallArgumentsSplitAcrossChunks) {
  auto config = openaiConfig();
  config.stream = true;
  Fixture f(config);
  const std::string events =
      ": keep-alive\n\n"
      "data: {\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Check\"}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"ing pods.\"}}]}\r\n\r\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_1\",\"type\":\"function\","
      "\"function\":{\"name\":\"get_pods\",\"arguments\":\"\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"{\\\"sel\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_2\",\"function\":{\"name\":\"get_events\",\"arguments\":\"{}\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"ector\\\":\\\"app=web\\\"}\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
      "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":33}}\n\n"
      "data: [DONE]\n\n";
  // Cut into 7-byte pieces: lines, CRLFs and JSON split anywhere.
  std::vector<std::string> chunks;
  for (std::size_t i = 0; i < events.size(); i += 7) chunks.push_back(events.substr(i, 7));
  f.http->push(FakeHttpClient::stream(chunks));
  auto request = diagnoseRequest();
  request.stream = true;
  auto result = f.provider->chat(redactChatRequest(request), {});
  ASSERT_TRUE(result.ok()) << result.error.message;

  auto body = parse(f.http->lastCall().body);
  EXPECT_TRUE(body["stream"].GetBool());
  EXPECT_TRUE(body["stream_options"]["include_usage"].GetBool());
  const ChatResponse& r = *result.value;
  EXPECT_EQ(r.content, "Checking pods.");
  ASSERT_EQ(r.toolCalls.size(), 2u);
  EXPECT_EQ(r.toolCalls[0].id, "call_1");
  EXPECT_EQ(r.toolCalls[0].name, "get_pods");
  EXPECT_EQ(r.toolCalls[0].argsJson, R"({"selector":"app=web"})");
  EXPECT_EQ(r.toolCalls[1].id, "call_2");
  EXPECT_EQ(r.toolCalls[1].name, "get_events");
  EXPECT_EQ(r.finishReason, "tool_calls");
  EXPECT_EQ(r.model, "gpt-4o");
  EXPECT_EQ(r.usage.promptTokens, 120);
  EXPECT_EQ(r.usage.completionTokens, 33);
}

TEST(OpenAIProvider, StreamsOnlyWhenBothProfileAndRequestAskForIt) {
  Fixture f;  // profile without streaming
  f.http->push(FakeHttpClient::reply(200, kToolCallReply));
  auto request = diagnoseRequest();
  request.stream = true;
  ASSERT_TRUE(f.provider->chat(redactChatRequest(request), {}).ok());
  EXPECT_FALSE(parse(f.http->lastCall().body).HasMember("stream"));
}

TEST(OpenAIProvider, StreamCutBeforeDoneIsTransient) {
  auto config = openaiConfig();
  config.stream = true;
  Fixture f(config);
  f.http->push(FakeHttpClient::stream({"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Half\"}}]}\n\n",
                                       "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\" an ans"}));
  auto request = diagnoseRequest();
  request.stream = true;
  auto result = f.provider->chat(redactChatRequest(request), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Transient);

  FakeHttpClient::Script cut = FakeHttpClient::connectionError("connection reset by peer");
  cut.chunks = {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Half\"}}]}\n\n"};
  f.http->push(cut);
  result = f.provider->chat(redactChatRequest(request), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Transient);
}

TEST(OpenAIProvider, ServerThatIgnoresStreamingIsReadAsPlainJson) {
  auto config = openaiConfig();
  config.stream = true;
  Fixture f(config);
  f.http->push(FakeHttpClient::stream({kToolCallReply}));
  auto request = diagnoseRequest();
  request.stream = true;
  auto result = f.provider->chat(redactChatRequest(request), {});
  ASSERT_TRUE(result.ok()) << result.error.message;
  EXPECT_EQ(result.value->toolCalls.size(), 2u);
}

TEST(OpenAIProvider, MalformedResponsesAreInvalid) {
  Fixture f;
  for (const char* body : {"<html>502 Bad Gateway</html>", R"({"object":"chat.completion"})", R"({"choices":[]})",
                           R"({"choices":[{"message":"text"}]})", R"({"choices":[{"message":{"tool_calls":[{"id":1}]}}]})",
                           "", "[1,2"}) {
    f.http->push(FakeHttpClient::reply(200, body));
    auto result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
    ASSERT_FALSE(result.ok()) << body;
    EXPECT_EQ(result.error.kind, LlmError::Kind::Invalid) << body;
    EXPECT_NE(result.error.message.find("malformed response"), std::string::npos) << result.error.message;
  }

  auto config = openaiConfig();
  config.stream = true;
  Fixture streaming(config);
  streaming.http->push(FakeHttpClient::stream({"data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n", "data: {oops\n\n",
                                               "data: [DONE]\n\n"}));
  auto request = diagnoseRequest();
  request.stream = true;
  auto result = streaming.provider->chat(redactChatRequest(request), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Invalid);
}

TEST(OpenAIProvider, MapsHttpFailuresToErrorKinds) {
  Fixture f;
  struct Case {
    FakeHttpClient::Script script;
    LlmError::Kind kind;
  };
  std::vector<Case> cases = {
      {FakeHttpClient::reply(429, R"({"error":{"type":"requests","code":"rate_limit_exceeded","message":"Slow down"}})"),
       LlmError::Kind::Transient},
      {FakeHttpClient::reply(500, "oops"), LlmError::Kind::Transient},
      {FakeHttpClient::reply(503, ""), LlmError::Kind::Transient},
      {FakeHttpClient::reply(401, R"({"error":{"type":"invalid_request_error","code":"invalid_api_key"}})"),
       LlmError::Kind::Auth},
      {FakeHttpClient::reply(403, ""), LlmError::Kind::Auth},
      {FakeHttpClient::reply(400, R"({"error":{"type":"invalid_request_error","message":"context_length_exceeded"}})"),
       LlmError::Kind::Invalid},
      {FakeHttpClient::reply(404, R"({"error":{"message":"The model does not exist"}})"), LlmError::Kind::Invalid},
      {FakeHttpClient::connectionError("connect: connection refused"), LlmError::Kind::Transient},
      {FakeHttpClient::connectionError("", true), LlmError::Kind::Transient},
      {FakeHttpClient::throwing(), LlmError::Kind::Transient},
  };
  for (auto& c : cases) {
    const int status = c.script.outcome.reply ? c.script.outcome.reply->status : 0;
    f.http->push(std::move(c.script));
    auto result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
    ASSERT_FALSE(result.ok()) << status;
    EXPECT_EQ(result.error.kind, c.kind) << status << " " << result.error.message;
    EXPECT_EQ(result.error.httpCode, status);
  }
}

TEST(OpenAIProvider, RetryAfterIsReadFromSecondsOrMilliseconds) {
  Fixture f;
  f.http->push(FakeHttpClient::reply(429, "{}", {{"Retry-After", "7"}}));
  f.http->push(FakeHttpClient::reply(503, "{}", {{"retry-after-ms", "1500"}, {"retry-after", "2"}}));
  f.http->push(FakeHttpClient::reply(429, "{}", {{"Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"}}));
  f.http->push(FakeHttpClient::reply(400, "{}", {{"Retry-After", "7"}}));
  auto result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
  ASSERT_TRUE(result.error.retryAfter);
  EXPECT_EQ(*result.error.retryAfter, std::chrono::milliseconds(7000));
  result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
  ASSERT_TRUE(result.error.retryAfter);
  EXPECT_EQ(*result.error.retryAfter, std::chrono::milliseconds(1500));
  result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
  ASSERT_TRUE(result.error.retryAfter);
  EXPECT_EQ(*result.error.retryAfter, std::chrono::milliseconds(0)) << "a date in the past means now";
  result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
  EXPECT_FALSE(result.error.retryAfter) << "only retried failures carry a delay";
}

TEST(OpenAIProvider, ErrorMessagesNeverContainTheKeyOrThePrompt) {
  Fixture f;
  const std::string prompt = "Why is deployment shop/checkout not ready?";
  f.http->push(FakeHttpClient::reply(401, std::string(R"({"error":{"message":"Incorrect API key provided: )") + kKey +
                                              R"(","type":"invalid_request_error"}})"));
  f.http->push(FakeHttpClient::reply(400, R"({"error":{"message":"Invalid content: 'Why is deployment shop/checkout not ready?' is too long"}})"));
  f.http->push(FakeHttpClient::reply(500, std::string(R"({"error":{"message":"upstream said key=)") + kKey + R"("}})"));
  f.http->push(FakeHttpClient::connectionError(std::string("TLS failure for Bearer ") + kKey));
  f.http->push(FakeHttpClient::reply(200, std::string("not json ") + kKey + " " + prompt));
  for (int i = 0; i < 5; ++i) {
    auto result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
    ASSERT_FALSE(result.ok());
    EXPECT_EQ(result.error.message.find(kKey), std::string::npos) << result.error.message;
    EXPECT_EQ(result.error.message.find("0123456789abcdef"), std::string::npos) << result.error.message;
    EXPECT_EQ(result.error.message.find(prompt), std::string::npos) << result.error.message;
    EXPECT_EQ(result.error.message.find("shop/checkout"), std::string::npos) << result.error.message;
  }
}

TEST(OpenAIProvider, KeepsTheServersReasonWhenItIsSafe) {
  Fixture f;
  f.http->push(FakeHttpClient::reply(
      400, R"({"error":{"type":"invalid_request_error","code":"context_length_exceeded","message":"This model's maximum context length is 128000 tokens."}})"));
  auto result = f.provider->chat(redactChatRequest(diagnoseRequest()), {});
  EXPECT_NE(result.error.message.find("HTTP 400"), std::string::npos) << result.error.message;
  EXPECT_NE(result.error.message.find("context_length_exceeded"), std::string::npos) << result.error.message;
  EXPECT_NE(result.error.message.find("maximum context length"), std::string::npos) << result.error.message;
}

TEST(OpenAIProvider, AzureUsesTheDeploymentURLAndApiKeyHeader) {
  auto config = openaiConfig("azure-key-0123456789");
  config.provider = "azure-openai";
  config.baseURL = "https://shop-ai.openai.azure.com/";
  config.model = "gpt4o-prod";
  config.apiVersion = "2024-06-01";
  Fixture f(config);
  f.http->push(FakeHttpClient::reply(200, kToolCallReply));
  ASSERT_TRUE(f.provider->chat(redactChatRequest(diagnoseRequest()), {}).ok());
  const HttpCall call = f.http->lastCall();
  EXPECT_EQ(call.url, "https://shop-ai.openai.azure.com/openai/deployments/gpt4o-prod/chat/completions?api-version=2024-06-01");
  EXPECT_EQ(headerOf(call, "api-key"), "azure-key-0123456789");
  EXPECT_FALSE(hasHeader(call, "authorization"));
}

TEST(OpenAIProvider, ToolWithInvalidSchemaIsRefusedWithoutSending) {
  Fixture f;
  auto request = diagnoseRequest();
  request.tools[0].parametersSchema = "{type: object";
  auto result = f.provider->chat(redactChatRequest(request), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Invalid);
  EXPECT_TRUE(f.http->calls().empty());
}

TEST(OpenAIProvider, InvalidUtf8InToolOutputStillMakesValidJson) {
  Fixture f;
  f.http->push(FakeHttpClient::reply(200, kToolCallReply));
  auto request = diagnoseRequest();
  request.messages.push_back({ChatMessage::Role::Tool, std::string("log \xff\xfe line \xe2\x82"), {}, "call_a", "get_logs"});
  ASSERT_TRUE(f.provider->chat(redactChatRequest(request), {}).ok());
  rapidjson::Document doc;
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(f.http->lastCall().body.c_str());
  EXPECT_FALSE(doc.HasParseError());
}

TEST(OpenAIProvider, CallTimeoutIsAtMostTheTimeLeftBeforeTheDeadline) {
  auto config = openaiConfig();
  config.timeout = std::chrono::seconds(60);
  Fixture f(config);
  f.http->push(FakeHttpClient::reply(200, kToolCallReply));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  ASSERT_TRUE(f.provider->chat(redactChatRequest(diagnoseRequest()), {deadline, {}}).ok());
  EXPECT_LE(f.http->lastCall().timeout, std::chrono::milliseconds(5000));
  EXPECT_GT(f.http->lastCall().timeout, std::chrono::milliseconds(0));
  EXPECT_LE(f.http->lastCall().deadline, deadline);

  f.http->push(FakeHttpClient::reply(200, kToolCallReply));
  const auto far = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  ASSERT_TRUE(f.provider->chat(redactChatRequest(diagnoseRequest()), {far, {}}).ok());
  EXPECT_EQ(f.http->lastCall().timeout, std::chrono::milliseconds(60000)) << "the profile's timeout when it is shorter";
  EXPECT_LT(f.http->lastCall().deadline, far) << "a plain reply must arrive within the timeout";
}

TEST(OpenAIProvider, AStreamRunsUntilTheRunsDeadline) {
  auto config = openaiConfig();
  config.stream = true;
  config.timeout = std::chrono::seconds(60);
  Fixture f(config);
  f.http->push(FakeHttpClient::stream({"data: [DONE]\n\n"}));
  auto request = diagnoseRequest();
  request.stream = true;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  ASSERT_TRUE(f.provider->chat(redactChatRequest(request), {deadline, {}}).ok());
  EXPECT_EQ(f.http->lastCall().deadline, deadline) << "the total bound of the stream";
  EXPECT_EQ(f.http->lastCall().timeout, std::chrono::milliseconds(60000)) << "the idle bound";
}

TEST(OpenAIProvider, ACallPastItsDeadlineIsNotSent) {
  Fixture f;
  auto result = f.provider->chat(redactChatRequest(diagnoseRequest()), {std::chrono::steady_clock::now() - std::chrono::milliseconds(1), {}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Transient);
  EXPECT_NE(result.error.message.find("deadline"), std::string::npos) << result.error.message;
  EXPECT_TRUE(f.http->calls().empty());
}

namespace {

// An HTTP client during whose call the operator shuts down: it fires the
// caller's stop source and notes whether its own call's token followed.
class ShutdownMidCall : public HttpClient {
 public:
  explicit ShutdownMidCall(std::stop_source& shutdown) : shutdown_(shutdown) {}
  Outcome send(const HttpCall& call, const std::function<void(std::string_view)>&) override {
    const bool before = call.stop.stop_requested();
    shutdown_.request_stop();
    tokenFollowed = !before && call.stop.stop_requested();
    return {std::nullopt, "stream cancelled", false, true};
  }
  bool tokenFollowed = false;

 private:
  std::stop_source& shutdown_;
};

}  // namespace

TEST(OpenAIProvider, AShutdownDuringTheCallReachesTheHttpClient) {
  std::stop_source shutdown;
  auto http = std::make_shared<ShutdownMidCall>(shutdown);
  auto provider = makeOpenAIProvider(openaiConfig(), http);
  auto result = provider->chat(redactChatRequest(diagnoseRequest()), {std::chrono::steady_clock::time_point::max(), shutdown.get_token()});
  EXPECT_TRUE(http->tokenFollowed);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error.message.find("cancelled"), std::string::npos) << result.error.message;
}

namespace {

// A streamed call whose chunks are scripted; returns the result and what the
// client was told about stopping.
struct StreamOutcome {
  LlmResult<ChatResponse> result;
  bool clientToldToStop = false;
};

StreamOutcome streamChunks(std::vector<std::string> chunks) {
  auto config = openaiConfig();
  config.stream = true;
  Fixture f(config);
  f.http->push(FakeHttpClient::stream(std::move(chunks)));
  auto request = diagnoseRequest();
  request.stream = true;
  StreamOutcome out{f.provider->chat(redactChatRequest(request), {}), false};
  out.clientToldToStop = f.http->lastCall().stop.stop_requested();
  return out;
}

}  // namespace

TEST(OpenAIProvider, AnSseLineOverOneMiBEndsTheCall) {
  std::vector<std::string> chunks{"data: "};
  for (int i = 0; i < 20; ++i) chunks.push_back(std::string(64 << 10, 'x'));  // 1.25 MiB, no newline
  chunks.push_back("\n\ndata: [DONE]\n\n");
  auto out = streamChunks(chunks);
  ASSERT_FALSE(out.result.ok());
  EXPECT_EQ(out.result.error.kind, LlmError::Kind::Invalid);
  EXPECT_NE(out.result.error.message.find("passed 1 MiB"), std::string::npos) << out.result.error.message;
  EXPECT_TRUE(out.clientToldToStop);
}

TEST(OpenAIProvider, AnSseEventOverOneMiBEndsTheCall) {
  // Short lines, but one event that never ends.
  std::vector<std::string> chunks;
  for (int i = 0; i < 1200; ++i) chunks.push_back("data: " + std::string(1000, 'x') + "\n");
  auto out = streamChunks(chunks);
  ASSERT_FALSE(out.result.ok());
  EXPECT_NE(out.result.error.message.find("passed 1 MiB"), std::string::npos) << out.result.error.message;
  EXPECT_TRUE(out.clientToldToStop);
}

TEST(OpenAIProvider, AStreamOverEightMiBEndsTheCall) {
  const std::string event = R"(data: {"choices":[{"index":0,"delta":{"content":")" + std::string(64 << 10, 'y') + "\"}}]}\n\n";
  std::vector<std::string> chunks(140, event);  // about 8.75 MiB of well-formed events
  chunks.push_back("data: [DONE]\n\n");
  auto out = streamChunks(chunks);
  ASSERT_FALSE(out.result.ok());
  EXPECT_EQ(out.result.error.kind, LlmError::Kind::Invalid);
  EXPECT_NE(out.result.error.message.find("passed 8 MiB"), std::string::npos) << out.result.error.message;
  EXPECT_TRUE(out.clientToldToStop);
}

TEST(OpenAIProvider, AStreamJustUnderTheLimitsIsRead) {
  const std::string event = R"(data: {"choices":[{"index":0,"delta":{"content":")" + std::string(512 << 10, 'y') + "\"}}]}\n\n";
  std::vector<std::string> chunks(12, event);  // 6 MiB in events of half a MiB
  chunks.push_back("data: [DONE]\n\n");
  auto out = streamChunks(chunks);
  ASSERT_TRUE(out.result.ok()) << out.result.error.message;
  EXPECT_EQ(out.result.value->content.size(), 12u * (512u << 10));
  EXPECT_FALSE(out.clientToldToStop);
}

TEST(OpenAIProvider, TemperatureIsSentOnlyWhenTheProfileSetsIt) {
  Fixture plain;
  plain.http->push(FakeHttpClient::reply(200, kToolCallReply));
  ASSERT_TRUE(plain.provider->chat(redactChatRequest(diagnoseRequest()), {}).ok());
  EXPECT_FALSE(parse(plain.http->lastCall().body).HasMember("temperature"))
      << "reasoning models refuse any temperature but their default";
  auto config = openaiConfig();
  config.temperature = 0.2;
  Fixture set(config);
  set.http->push(FakeHttpClient::reply(200, kToolCallReply));
  ASSERT_TRUE(set.provider->chat(redactChatRequest(diagnoseRequest()), {}).ok());
  EXPECT_DOUBLE_EQ(parse(set.http->lastCall().body)["temperature"].GetDouble(), 0.2);
}

// What the run graph sends: every request asks to stream, and the profile
// decides (before, nothing in the product asked, so stream: true never streamed).
TEST(OpenAIProvider, TheGraphsRequestsStreamWhenTheProfileSaysSo) {
  opscopilot::agent::RunSpec spec;
  spec.ns = "shop";
  spec.question = "Why is checkout failing?";
  opscopilot::agent::RunState state;
  const opscopilot::agent::ContextBudget budget{2000, 6000};
  for (const auto& request : {opscopilot::agent::plannerRequest(spec, state, {}, budget, ""),
                              opscopilot::agent::answerRequest(spec, state, budget),
                              opscopilot::agent::criticRequest(spec, state, "draft", budget)}) {
    EXPECT_TRUE(request.stream);
    auto config = openaiConfig();
    config.stream = true;
    Fixture f(config);
    f.http->push(FakeHttpClient::stream({"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"DONE\"}}]}\n\n",
                                         "data: [DONE]\n\n"}));
    ASSERT_TRUE(f.provider->chat(redactChatRequest(request), {}).ok());
    EXPECT_TRUE(parse(f.http->lastCall().body)["stream"].GetBool());
  }
}
