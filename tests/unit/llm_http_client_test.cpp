// The whole model path over real sockets: Gateway -> OpenAI provider ->
// LlmHttpClient -> Beast transport -> a local HTTP server that misbehaves.
// Nothing may wait past the run's deadline or hold on after shutdown, and no
// response may grow memory past its bounds. Times are asserted only as
// generous upper bounds, far below what a broken wait would take.
#include <gtest/gtest.h>

#include <future>

#include "agent/llm/llm.h"
#include "local_http_server.h"
#include "operator/controller/llm_http_client.h"

using namespace opscopilot;
using namespace opscopilot::agent::llm;
using opscopilot::test::LocalHttpServer;
using std::chrono::milliseconds;
using std::chrono::seconds;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kPrompt = "Why is shop/checkout failing?";

ChatRequest request(bool stream = false) {
  ChatRequest r;
  r.messages.push_back({ChatMessage::Role::System, "You diagnose Kubernetes workloads.", {}, "", ""});
  r.messages.push_back({ChatMessage::Role::User, kPrompt, {}, "", ""});
  r.maxOutputTokens = 200;
  r.stream = stream;
  return r;
}

Budget unlimited() {
  Budget b;
  b.unlimitedTokens = true;
  b.unlimitedCost = true;
  return b;
}

// A wait the test can see: signals on entry, then the production wait.
struct ObservedSleep {
  std::promise<milliseconds> entered;
  std::atomic<bool> signalled{false};
  Gateway::Sleep sleep() {
    return [this](milliseconds d, const std::stop_token& stop) {
      if (!signalled.exchange(true)) entered.set_value(d);
      interruptibleWait(d, stop);
    };
  }
};

struct Path {
  explicit Path(const LocalHttpServer& server, bool stream = false, seconds timeout = seconds(30),
                Gateway::Sleep sleep = {}, int maxAttempts = 1) {
    ProviderConfig pc{"local", "openai", server.url() + "/v1", "m", "", "", stream, timeout};
    GatewayOptions go;
    go.maxAttempts = maxAttempts;
    gateway = std::make_unique<Gateway>(makeOpenAIProvider(pc, std::make_shared<controller::LlmHttpClient>()), go,
                                        Gateway::Clock{}, std::move(sleep));
  }
  std::unique_ptr<Gateway> gateway;
};

constexpr std::string_view kOk =
    R"({"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"The image tag does not exist."},)"
    R"("finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":7}})";

std::string reply(int status, std::string_view body, std::string_view extraHeaders = "") {
  return "HTTP/1.1 " + std::to_string(status) + " X\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n" + std::string(extraHeaders) + "\r\n" + std::string(body);
}

constexpr std::string_view kStreamHead =
    "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

}  // namespace

TEST(LlmHttpPath, APlainReplyArrivesWhole) {
  LocalHttpServer server([](LocalHttpServer::Conn& c, const std::string&) { c.write(reply(200, kOk)); });
  Path path(server);
  auto result = path.gateway->call(request(), unlimited(), Clock::now() + seconds(30));
  ASSERT_TRUE(result.ok()) << result.error.message;
  EXPECT_EQ(result.value->response.content, "The image tag does not exist.");
  EXPECT_EQ(result.value->usage.promptTokens, 12);
}

TEST(LlmHttpPath, RetryAfterPastTheDeadlineEndsTheCallAtOnceWithTheReason) {
  LocalHttpServer server([](LocalHttpServer::Conn& c, const std::string&) {
    c.write(reply(429, R"({"error":{"type":"rate_limit_error"}})", "Retry-After: 120\r\n"));
  });
  Path path(server, false, seconds(30), {}, 4);
  const auto start = Clock::now();
  auto result = path.gateway->call(request(), unlimited(), start + seconds(20));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Transient);
  EXPECT_NE(result.error.message.find("the model server asked to retry after 120s, past the run's deadline in 20s"),
            std::string::npos)
      << result.error.message;
  EXPECT_EQ(server.requests(), 1);
  EXPECT_LT(secondsSince(start), 5.0);
}

TEST(LlmHttpPath, ShutdownWakesARetryAfterWaitAtOnce) {
  LocalHttpServer server([](LocalHttpServer::Conn& c, const std::string&) {
    c.write(reply(503, "{}", "Retry-After: 60\r\n"));
  });
  ObservedSleep observed;
  Path path(server, false, seconds(30), observed.sleep(), 4);
  const auto start = Clock::now();
  auto call = std::async(std::launch::async,
                         [&] { return path.gateway->call(request(), unlimited(), start + std::chrono::minutes(10)); });
  EXPECT_EQ(observed.entered.get_future().get(), milliseconds(60000)) << "waiting out the Retry-After";
  path.gateway->shutdown();
  auto result = call.get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Cancelled) << result.error.message;
  EXPECT_NE(result.error.message.find("shutting down"), std::string::npos) << result.error.message;
  EXPECT_EQ(server.requests(), 1);
  EXPECT_LT(secondsSince(start), 5.0);
}

TEST(LlmHttpPath, ShutdownEndsACallTheServerNeverAnswers) {
  std::promise<void> received;
  std::promise<bool> closedByClient;
  LocalHttpServer server([&](LocalHttpServer::Conn& c, const std::string&) {
    received.set_value();
    closedByClient.set_value(c.waitForClose());
  });
  Path path(server, false, seconds(60));
  const auto start = Clock::now();
  auto call = std::async(std::launch::async,
                         [&] { return path.gateway->call(request(), unlimited(), start + std::chrono::minutes(10)); });
  received.get_future().get();
  path.gateway->shutdown();
  auto result = call.get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Cancelled) << result.error.message;
  EXPECT_LT(secondsSince(start), 5.0);
  EXPECT_TRUE(closedByClient.get_future().get()) << "the client closed the connection";
  EXPECT_EQ(server.requests(), 1);
}

TEST(LlmHttpPath, ATricklingStreamIsCutAtTheRunsDeadline) {
  // A keep-alive comment every 20 ms: the idle timeout never fires, and
  // without a total deadline the call would last the 30 s of the trickle.
  LocalHttpServer server([](LocalHttpServer::Conn& c, const std::string&) {
    if (!c.write(kStreamHead)) return;
    const auto until = Clock::now() + seconds(30);
    while (Clock::now() < until && c.chunk(": keep-alive\n")) std::this_thread::sleep_for(milliseconds(20));
  });
  Path path(server, true, seconds(10));
  const auto start = Clock::now();
  auto result = path.gateway->call(request(true), unlimited(), start + seconds(1));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Transient);
  EXPECT_NE(result.error.message.find("deadline"), std::string::npos) << result.error.message;
  EXPECT_LT(secondsSince(start), 5.0);
  EXPECT_EQ(server.requests(), 1);
}

TEST(LlmHttpPath, AnSseLineOverOneMiBEndsTheCallAndItsConnection) {
  std::promise<bool> closedByClient;
  LocalHttpServer server([&](LocalHttpServer::Conn& c, const std::string&) {
    bool ok = c.write(kStreamHead) && c.chunk("data: ");
    for (int i = 0; ok && i < 32; ++i) ok = c.chunk(std::string(64 << 10, 'x'));  // 2 MiB, no newline
    closedByClient.set_value(c.waitForClose());  // and then nothing, with the connection open
  });
  Path path(server, true, seconds(30));
  const auto start = Clock::now();
  auto result = path.gateway->call(request(true), unlimited(), start + seconds(60));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Invalid);
  EXPECT_NE(result.error.message.find("passed 1 MiB"), std::string::npos) << result.error.message;
  EXPECT_LT(secondsSince(start), 5.0);
  EXPECT_TRUE(closedByClient.get_future().get()) << "the client closed the connection";
}

TEST(LlmHttpPath, AStreamOverEightMiBEndsTheCall) {
  // Well-formed events without end: each one small, together unbounded.
  LocalHttpServer server([](LocalHttpServer::Conn& c, const std::string&) {
    const std::string event = R"(data: {"choices":[{"index":0,"delta":{"content":")" + std::string(16 << 10, 'y') +
                              "\"}}]}\n\n";
    bool ok = c.write(kStreamHead);
    for (int i = 0; ok && i < 4096; ++i) ok = c.chunk(event);  // up to 64 MiB
  });
  Path path(server, true, seconds(30));
  const auto start = Clock::now();
  auto result = path.gateway->call(request(true), unlimited(), start + seconds(60));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Invalid);
  EXPECT_NE(result.error.message.find("passed 8 MiB"), std::string::npos) << result.error.message;
  EXPECT_LT(secondsSince(start), 5.0);
  EXPECT_EQ(server.requests(), 1);
}

TEST(LlmHttpPath, APlainReplyOverEightMiBIsRefused) {
  LocalHttpServer server([](LocalHttpServer::Conn& c, const std::string&) {
    const std::string body(9 << 20, ' ');
    c.write(reply(200, body));
  });
  Path path(server);
  auto result = path.gateway->call(request(), unlimited(), Clock::now() + seconds(30));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Invalid);
  EXPECT_NE(result.error.message.find("passed 8 MiB"), std::string::npos) << result.error.message;
}
