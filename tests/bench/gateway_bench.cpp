// gateway_bench: the gateway's own cost per model call (budget check, rate
// limiters, circuit breaker, retry loop, cost accounting) with a provider
// that answers instantly. Not a test: it prints figures.
#include <chrono>
#include <cstdio>

#include "agent/llm/llm.h"

using namespace opscopilot::agent::llm;

namespace {
class InstantProvider : public Provider {
 public:
  LlmResult<ChatResponse> chat(const RedactedChatRequest&, const CallLimits&) override {
    ChatResponse r;
    r.content = "DONE";
    r.usage = {1200, 40};
    return LlmResult<ChatResponse>::success(r);
  }
};
// Answers every call at once with a canned Chat Completions reply.
class InstantHttp : public HttpClient {
 public:
  Outcome send(const HttpCall&, const std::function<void(std::string_view)>&) override {
    HttpReply r;
    r.status = 200;
    r.body = R"({"id":"x","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant",)"
             R"("content":null,"tool_calls":[{"id":"c1","type":"function","function":{"name":"get_pod_logs",)"
             R"("arguments":"{\"pod\":\"web-1\",\"previous\":true}"}}]},"finish_reason":"tool_calls"}],)"
             R"("usage":{"prompt_tokens":1200,"completion_tokens":40}})";
    return {r, "", false};
  }
};
}  // namespace

int main() {
  GatewayOptions o;
  o.requestsPerMinute = 1000000000;
  o.tokensPerMinute = 2000000000;
  o.price = {2500000, 10000000};
  Gateway g(std::make_unique<InstantProvider>(), o);
  ChatRequest req;
  req.messages.push_back({ChatMessage::Role::System, std::string(400, 's')});
  req.messages.push_back({ChatMessage::Role::User, std::string(16000, 'u')});
  req.tools.push_back({"get_pod_logs", "Reads a container log.", R"({"type":"object"})"});
  Budget b;
  b.unlimitedTokens = true;
  b.unlimitedCost = true;
  const int n = 20000;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
  auto start = std::chrono::steady_clock::now();
  std::int64_t cost = 0;
  for (int i = 0; i < n; ++i) {
    auto r = g.call(req, b, deadline);
    if (r.ok()) cost += r.value->costMicroUSD;
  }
  double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / n;
  std::printf("gateway overhead per call: %.2f us (%d calls, 16 KB prompt, instant provider; total cost %lld micro-USD)\n",
              us, n, static_cast<long long>(cost));

  // The same through the OpenAI provider: request JSON out, reply JSON in.
  ProviderConfig pc{"bench", "openai", "http://127.0.0.1:1/v1", "m", "", "sk-bench", false, std::chrono::seconds(5)};
  Gateway wire(makeOpenAIProvider(pc, std::make_shared<InstantHttp>()), o);
  start = std::chrono::steady_clock::now();
  const int m = 5000;
  for (int i = 0; i < m; ++i) (void)wire.call(req, b, deadline);
  us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / m;
  std::printf("gateway + OpenAI wire format per call: %.1f us (%d calls; encoding the 16 KB request, parsing a tool call)\n", us, m);
  return 0;
}
