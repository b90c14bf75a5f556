#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <future>
#include <mutex>
#include <thread>

#include "agent/llm/llm.h"
#include "fake_http_client.h"

using namespace opscopilot::agent::llm;
using opscopilot::agent::llm::testing::FakeHttpClient;
using std::chrono::milliseconds;
using TimePoint = std::chrono::steady_clock::time_point;

namespace {

// Time that passes only when the gateway sleeps or the test says so.
struct FakeTime {
  std::mutex mu;
  TimePoint now{std::chrono::hours(1)};
  std::vector<milliseconds> sleeps;

  Gateway::Clock clock() {
    return [this] {
      std::lock_guard lock(mu);
      return now;
    };
  }
  Gateway::Sleep sleep() {
    return [this](milliseconds d, const std::stop_token&) {
      std::lock_guard lock(mu);
      sleeps.push_back(d);
      now += d;
    };
  }
  void advance(milliseconds d) {
    std::lock_guard lock(mu);
    now += d;
  }
};

// A provider that answers from a script (then succeeds) and notes when it
// was called.
struct Script {
  std::mutex mu;
  std::deque<LlmResult<ChatResponse>> results;
  std::vector<TimePoint> callTimes;
  std::vector<TimePoint> deadlines;  // what each call was given
  FakeTime* time = nullptr;
  int calls() {
    std::lock_guard lock(mu);
    return static_cast<int>(callTimes.size());
  }
};

class ScriptedProvider : public Provider {
 public:
  explicit ScriptedProvider(std::shared_ptr<Script> script) : script_(std::move(script)) {}
  LlmResult<ChatResponse> chat(const RedactedChatRequest&, const CallLimits& limits) override {
    const TimePoint now = script_->time ? script_->time->clock()() : TimePoint{};
    std::lock_guard lock(script_->mu);
    script_->callTimes.push_back(now);
    script_->deadlines.push_back(limits.deadline);
    if (script_->results.empty()) return LlmResult<ChatResponse>::success(answer());
    auto r = std::move(script_->results.front());
    script_->results.pop_front();
    return r;
  }
  static ChatResponse answer(std::int64_t prompt = 100, std::int64_t completion = 20) {
    ChatResponse r;
    r.content = "The image tag does not exist.";
    r.finishReason = "stop";
    r.usage = {prompt, completion};
    return r;
  }

 private:
  std::shared_ptr<Script> script_;
};

LlmResult<ChatResponse> failure(LlmError::Kind kind, int status = 0, std::optional<milliseconds> retryAfter = {}) {
  LlmError e;
  e.kind = kind;
  e.httpCode = status;
  e.message = "HTTP " + std::to_string(status);
  e.retryAfter = retryAfter;
  return LlmResult<ChatResponse>::failure(e);
}

ChatRequest smallRequest() {
  ChatRequest r;
  r.messages.push_back({ChatMessage::Role::System, "You diagnose Kubernetes workloads.", {}, "", ""});
  r.messages.push_back({ChatMessage::Role::User, "Why is shop/checkout failing?", {}, "", ""});
  r.maxOutputTokens = 200;
  return r;
}

Budget unlimited() {
  Budget b;
  b.unlimitedTokens = true;
  b.unlimitedCost = true;
  return b;
}

struct Harness {
  FakeTime time;
  std::shared_ptr<Script> script = std::make_shared<Script>();
  std::unique_ptr<Gateway> gateway;

  explicit Harness(GatewayOptions options = {}) {
    script->time = &time;
    gateway = std::make_unique<Gateway>(std::make_unique<ScriptedProvider>(script), options, time.clock(), time.sleep(),
                                        [] { return 0.5; });
  }
  void push(LlmResult<ChatResponse> r) {
    std::lock_guard lock(script->mu);
    script->results.push_back(std::move(r));
  }
  LlmResult<GatewayCall> call(Budget budget = unlimited(), milliseconds timeLeft = std::chrono::minutes(10)) {
    return gateway->call(smallRequest(), budget, time.clock()() + timeLeft);
  }
};

}  // namespace

TEST(Gateway, RetriesAServerErrorAndSucceedsOnTheSecondAttempt) {
  Harness h;
  h.push(failure(LlmError::Kind::Transient, 500));
  auto result = h.call();
  ASSERT_TRUE(result.ok()) << result.error.message;
  EXPECT_EQ(result.value->attempts, 2);
  EXPECT_EQ(h.script->calls(), 2);
  ASSERT_EQ(h.time.sleeps.size(), 1u);
  EXPECT_EQ(h.time.sleeps[0], milliseconds(250)) << "full jitter: random 0.5 of the 500ms initial backoff";
}

TEST(Gateway, HonoursRetryAfter) {
  Harness h;
  h.push(failure(LlmError::Kind::Transient, 429, milliseconds(7000)));
  auto result = h.call();
  ASSERT_TRUE(result.ok()) << result.error.message;
  ASSERT_EQ(h.time.sleeps.size(), 1u);
  EXPECT_EQ(h.time.sleeps[0], milliseconds(7000));
  EXPECT_EQ(h.script->callTimes[1] - h.script->callTimes[0], milliseconds(7000));
}

TEST(Gateway, FailsTransientRatherThanSleepingPastTheDeadline) {
  Harness h;
  h.push(failure(LlmError::Kind::Transient, 429, milliseconds(60000)));
  auto result = h.call(unlimited(), milliseconds(10000));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Transient);
  EXPECT_EQ(h.script->calls(), 1);
  EXPECT_TRUE(h.time.sleeps.empty());
}

TEST(Gateway, StopsAfterMaxAttemptsWithExponentialBackoff) {
  GatewayOptions options;
  options.maxAttempts = 5;
  options.backoffInitial = milliseconds(1000);
  options.backoffMax = milliseconds(5000);
  options.breakerFailures = 0;
  Harness h(options);
  for (int i = 0; i < 10; ++i) h.push(failure(LlmError::Kind::Transient, 503));
  auto result = h.call();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Transient);
  EXPECT_EQ(h.script->calls(), 5);
  EXPECT_EQ(h.time.sleeps, (std::vector<milliseconds>{milliseconds(500), milliseconds(1000), milliseconds(2000),
                                                      milliseconds(2500)}))
      << "half of 1s, 2s, 4s, then the 5s cap";
}

TEST(Gateway, DoesNotRetryAuthOrInvalidErrors) {
  Harness h;
  h.push(failure(LlmError::Kind::Auth, 401));
  h.push(failure(LlmError::Kind::Invalid, 400));
  EXPECT_EQ(h.call().error.kind, LlmError::Kind::Auth);
  EXPECT_EQ(h.call().error.kind, LlmError::Kind::Invalid);
  EXPECT_EQ(h.script->calls(), 2);
  EXPECT_TRUE(h.time.sleeps.empty());
}

TEST(Gateway, CircuitOpensAfterConsecutiveFailedCallsAndHalfOpensAfterCooldown) {
  GatewayOptions options;
  options.maxAttempts = 2;
  options.breakerFailures = 3;
  options.breakerCooldown = milliseconds(30000);
  Harness h(options);
  for (int i = 0; i < 6; ++i) h.push(failure(LlmError::Kind::Transient, 503));
  for (int i = 0; i < 3; ++i) EXPECT_EQ(h.call().error.kind, LlmError::Kind::Transient);
  EXPECT_EQ(h.script->calls(), 6) << "each failed call used its retries";
  EXPECT_TRUE(h.gateway->circuitOpen());

  EXPECT_EQ(h.call().error.kind, LlmError::Kind::CircuitOpen);
  EXPECT_EQ(h.script->calls(), 6) << "an open circuit fails fast";

  h.time.advance(milliseconds(30000));
  EXPECT_FALSE(h.gateway->circuitOpen()) << "half-open: the next call is the trial";
  h.push(failure(LlmError::Kind::Transient, 503));
  EXPECT_EQ(h.call().error.kind, LlmError::Kind::Transient);
  EXPECT_EQ(h.script->calls(), 7) << "the trial is one attempt";
  EXPECT_TRUE(h.gateway->circuitOpen()) << "a failed trial re-opens";
  EXPECT_EQ(h.call().error.kind, LlmError::Kind::CircuitOpen);

  h.time.advance(milliseconds(30000));
  auto trial = h.call();
  ASSERT_TRUE(trial.ok()) << trial.error.message;
  EXPECT_FALSE(h.gateway->circuitOpen());
  EXPECT_TRUE(h.call().ok());
}

TEST(Gateway, CircuitStaysClosedWhenFailuresAreNotConsecutive) {
  GatewayOptions options;
  options.maxAttempts = 1;
  options.breakerFailures = 2;
  Harness h(options);
  h.push(failure(LlmError::Kind::Transient, 500));
  h.push(LlmResult<ChatResponse>::success(ScriptedProvider::answer()));
  h.push(failure(LlmError::Kind::Transient, 500));
  h.call();
  h.call();
  h.call();
  EXPECT_FALSE(h.gateway->circuitOpen());
}

TEST(Gateway, RefusesACallOverTheTokenBudgetWithoutSendingIt) {
  FakeTime time;
  auto http = std::make_shared<FakeHttpClient>();
  ProviderConfig config;
  config.provider = "openai";
  config.baseURL = "https://api.openai.com/v1";
  config.model = "gpt-4o";
  Gateway gateway(makeOpenAIProvider(config, http), {}, time.clock(), time.sleep());
  Budget budget;
  budget.tokensLeft = 150;  // the request may take about 20 prompt + 200 output tokens
  budget.unlimitedCost = true;
  auto result = gateway.call(smallRequest(), budget, time.now + std::chrono::minutes(1));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::BudgetExceeded);
  EXPECT_TRUE(http->calls().empty()) << "no HTTP was sent";
}

TEST(Gateway, RefusesACallWhoseEstimatedCostExceedsTheBudget) {
  GatewayOptions options;
  options.price = {2'500'000, 10'000'000};
  Harness h(options);
  Budget budget;
  budget.unlimitedTokens = true;
  budget.microUSDLeft = 1000;  // 200 output tokens alone may cost 2000
  auto result = h.call(budget);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::BudgetExceeded);
  EXPECT_EQ(h.script->calls(), 0);

  budget.microUSDLeft = 0;
  options.price = {};
  Harness free(options);
  EXPECT_EQ(free.call(budget).error.kind, LlmError::Kind::BudgetExceeded) << "nothing left is nothing left";
}

TEST(Gateway, ChargesTheExactCostFromThePriceTable) {
  GatewayOptions options;
  options.price = {2'500'000, 10'000'000};  // $2.50 / $10 per million tokens
  Harness h(options);
  h.push(LlmResult<ChatResponse>::success(ScriptedProvider::answer(1234, 567)));
  auto result = h.call();
  ASSERT_TRUE(result.ok()) << result.error.message;
  EXPECT_EQ(result.value->usage.promptTokens, 1234);
  EXPECT_EQ(result.value->usage.completionTokens, 567);
  EXPECT_EQ(result.value->costMicroUSD, 3085 + 5670);
  EXPECT_EQ(result.value->response.content, "The image tag does not exist.");
}

TEST(Gateway, ChargesAnEstimateWhenTheProviderReportsNoUsage) {
  Harness h;
  h.push(LlmResult<ChatResponse>::success(ScriptedProvider::answer(0, 0)));
  auto result = h.call();
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(result.value->usage.promptTokens, estimateTokens(smallRequest()));
  EXPECT_EQ(result.value->usage.completionTokens, 8) << "29 characters of output";
}

TEST(Gateway, ReportedUsageOverTheBudgetIsRefusedButStillCharged) {
  GatewayOptions options;
  options.price = {1'000'000, 1'000'000};
  Harness h(options);
  h.push(LlmResult<ChatResponse>::success(ScriptedProvider::answer(900, 100)));
  Budget budget;
  budget.tokensLeft = 500;
  budget.unlimitedCost = true;
  auto result = h.call(budget);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::BudgetExceeded);
  EXPECT_EQ(result.error.chargedUsage.promptTokens, 900);
  EXPECT_EQ(result.error.chargedMicroUSD, 1000);
}

TEST(Gateway, RequestsPerMinuteLimiterSpacesCalls) {
  GatewayOptions options;
  options.requestsPerMinute = 2;
  Harness h(options);
  for (int i = 0; i < 4; ++i) ASSERT_TRUE(h.call().ok());
  const auto& t = h.script->callTimes;
  ASSERT_EQ(t.size(), 4u);
  EXPECT_EQ(t[1] - t[0], milliseconds(0)) << "a full bucket allows a burst";
  EXPECT_EQ(t[2] - t[1], milliseconds(30000));
  EXPECT_EQ(t[3] - t[2], milliseconds(30000));
}

TEST(Gateway, TokensPerMinuteLimiterWaitsForTokens) {
  GatewayOptions options;
  options.tokensPerMinute = 600;
  Harness h(options);
  // Each call reserves its estimate (~20) plus 200 output tokens, then is
  // charged the 120 it reported.
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(h.call().ok());
  EXPECT_FALSE(h.time.sleeps.empty());
  for (auto d : h.time.sleeps) EXPECT_LE(d, milliseconds(60000));
}

TEST(Gateway, RateLimitedWhenTheNextSlotIsPastTheDeadline) {
  GatewayOptions options;
  options.requestsPerMinute = 1;
  Harness h(options);
  ASSERT_TRUE(h.call().ok());
  auto result = h.call(unlimited(), milliseconds(5000));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::RateLimited);
  EXPECT_EQ(h.script->calls(), 1);
  EXPECT_FALSE(h.gateway->circuitOpen());
}

TEST(Gateway, IsSafeToShareBetweenThreads) {
  auto script = std::make_shared<Script>();
  GatewayOptions options;
  options.breakerFailures = 1000;
  options.maxAttempts = 50;  // more than the failures scripted, so every call gets through
  options.backoffInitial = milliseconds(0);
  Gateway gateway(std::make_unique<ScriptedProvider>(script), options);
  for (int i = 0; i < 40; ++i) script->results.push_back(failure(LlmError::Kind::Transient, 503));
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (gateway.call(smallRequest(), unlimited(), std::chrono::steady_clock::now() + std::chrono::minutes(1)).ok()) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 200);
  EXPECT_EQ(script->calls(), 240);
}

TEST(Gateway, EachProviderCallCarriesTheRunsDeadline) {
  Harness h;
  h.push(failure(LlmError::Kind::Transient, 500));
  const TimePoint deadline = h.time.clock()() + std::chrono::minutes(3);
  ASSERT_TRUE(h.gateway->call(smallRequest(), unlimited(), deadline).ok());
  EXPECT_EQ(h.script->deadlines, (std::vector<TimePoint>{deadline, deadline}));
}

TEST(Gateway, RetryAfterPastTheDeadlineEndsTheCallAtOnceWithTheReason) {
  Harness h;
  h.push(failure(LlmError::Kind::Transient, 429, milliseconds(120000)));
  auto result = h.call(unlimited(), milliseconds(20000));
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Transient);
  EXPECT_NE(result.error.message.find("the model server asked to retry after 120s, past the run's deadline in 20s"),
            std::string::npos)
      << result.error.message;
  EXPECT_EQ(h.script->calls(), 1);
  EXPECT_TRUE(h.time.sleeps.empty());
}

TEST(Gateway, BackoffPastTheDeadlineEndsTheCallAtOnce) {
  GatewayOptions options;
  options.backoffInitial = milliseconds(8000);
  Harness h(options);
  h.push(failure(LlmError::Kind::Transient, 503));
  auto result = h.call(unlimited(), milliseconds(3000));  // the first backoff is half of 8 s
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.error.message.find("the next retry (in 4s) would pass the run's deadline in 3s"), std::string::npos)
      << result.error.message;
  EXPECT_EQ(h.script->calls(), 1);
  EXPECT_TRUE(h.time.sleeps.empty());
}

// The rest run on the real clock with the production wait; the test learns
// that the gateway is waiting from the Sleep it injects, which then waits
// exactly as the default does.
namespace {

struct ObservedWait {
  std::promise<milliseconds> entered;
  std::atomic<bool> signalled{false};
  Gateway::Sleep sleep() {
    return [this](milliseconds d, const std::stop_token& stop) {
      if (!signalled.exchange(true)) entered.set_value(d);
      interruptibleWait(d, stop);
    };
  }
};

// Calls limits-aware: blocks until its stop token fires (a model call in
// flight), after telling the test it started.
class HangingProvider : public Provider {
 public:
  std::promise<void> started;
  std::atomic<int> calls{0};
  LlmResult<ChatResponse> chat(const RedactedChatRequest&, const CallLimits& limits) override {
    ++calls;
    started.set_value();
    interruptibleWait(std::chrono::hours(1), limits.stop);
    return failure(LlmError::Kind::Transient, 0);
  }
};

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

TEST(Gateway, InterruptibleWaitReturnsWhenStopFires) {
  std::stop_source stop;
  EXPECT_FALSE(interruptibleWait(milliseconds(1), stop.get_token())) << "no stop: waits the time out";
  const auto start = std::chrono::steady_clock::now();
  auto waiter = std::async(std::launch::async, [&] { return interruptibleWait(std::chrono::hours(1), stop.get_token()); });
  stop.request_stop();
  EXPECT_TRUE(waiter.get());
  EXPECT_LT(secondsSince(start), 5.0);
  EXPECT_TRUE(interruptibleWait(std::chrono::hours(1), stop.get_token())) << "already stopped: no wait";
}

TEST(Gateway, ShutdownWakesARetryAfterWait) {
  auto script = std::make_shared<Script>();
  script->results.push_back(failure(LlmError::Kind::Transient, 429, milliseconds(60000)));
  ObservedWait wait;
  Gateway gateway(std::make_unique<ScriptedProvider>(script), {}, {}, wait.sleep());
  const auto start = std::chrono::steady_clock::now();
  auto call = std::async(std::launch::async,
                         [&] { return gateway.call(smallRequest(), unlimited(), start + std::chrono::minutes(10)); });
  EXPECT_EQ(wait.entered.get_future().get(), milliseconds(60000));
  gateway.shutdown();
  auto result = call.get();
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error.kind, LlmError::Kind::Cancelled);
  EXPECT_EQ(script->calls(), 1) << "no retry after the shutdown";
  EXPECT_LT(secondsSince(start), 5.0);
}

TEST(Gateway, ShutdownWakesABackoffWait) {
  auto script = std::make_shared<Script>();
  script->results.push_back(failure(LlmError::Kind::Transient, 503));
  GatewayOptions options;
  options.backoffInitial = milliseconds(120000);
  options.backoffMax = milliseconds(120000);
  ObservedWait wait;
  Gateway gateway(std::make_unique<ScriptedProvider>(script), options, {}, wait.sleep(), [] { return 0.5; });
  const auto start = std::chrono::steady_clock::now();
  auto call = std::async(std::launch::async,
                         [&] { return gateway.call(smallRequest(), unlimited(), start + std::chrono::minutes(10)); });
  EXPECT_EQ(wait.entered.get_future().get(), milliseconds(60000));
  gateway.shutdown();
  auto result = call.get();
  EXPECT_EQ(result.error.kind, LlmError::Kind::Cancelled);
  EXPECT_EQ(script->calls(), 1);
  EXPECT_LT(secondsSince(start), 5.0);
}

TEST(Gateway, ShutdownWakesARateLimitWait) {
  auto script = std::make_shared<Script>();
  GatewayOptions options;
  options.requestsPerMinute = 1;
  ObservedWait wait;
  Gateway gateway(std::make_unique<ScriptedProvider>(script), options, {}, wait.sleep());
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(gateway.call(smallRequest(), unlimited(), start + std::chrono::minutes(10)).ok());
  auto call = std::async(std::launch::async,
                         [&] { return gateway.call(smallRequest(), unlimited(), start + std::chrono::minutes(10)); });
  EXPECT_GT(wait.entered.get_future().get(), milliseconds(50000)) << "the next slot is about a minute away";
  gateway.shutdown();
  auto result = call.get();
  EXPECT_EQ(result.error.kind, LlmError::Kind::Cancelled);
  EXPECT_EQ(script->calls(), 1) << "the second call never reached the provider";
  EXPECT_LT(secondsSince(start), 5.0);
}

TEST(Gateway, ShutdownEndsAProviderCallInFlightWithoutOpeningTheCircuit) {
  auto provider = std::make_unique<HangingProvider>();
  HangingProvider& hanging = *provider;
  GatewayOptions options;
  options.breakerFailures = 1;
  Gateway gateway(std::move(provider), options);
  const auto start = std::chrono::steady_clock::now();
  auto call = std::async(std::launch::async,
                         [&] { return gateway.call(smallRequest(), unlimited(), start + std::chrono::minutes(10)); });
  hanging.started.get_future().get();
  gateway.shutdown();
  auto result = call.get();
  EXPECT_EQ(result.error.kind, LlmError::Kind::Cancelled) << result.error.message;
  EXPECT_EQ(hanging.calls.load(), 1);
  EXPECT_LT(secondsSince(start), 5.0);
  EXPECT_FALSE(gateway.circuitOpen()) << "our shutdown is not the endpoint failing";
}

TEST(Gateway, AfterShutdownCallsAreRefusedWithoutReachingTheProvider) {
  Harness h;
  h.gateway->shutdown();
  auto result = h.call();
  EXPECT_EQ(result.error.kind, LlmError::Kind::Cancelled);
  EXPECT_EQ(h.script->calls(), 0);
}

TEST(Gateway, ReportsEachCallItEndsWithAttemptsUsageCostAndErrorKind) {
  std::vector<CallRecord> records;
  GatewayOptions options;
  options.maxAttempts = 2;
  options.price = {1'000'000, 2'000'000};  // $1 and $2 per million tokens
  options.onCallEnded = [&](const CallRecord& r) { records.push_back(r); };
  Harness h(options);
  h.push(failure(LlmError::Kind::Transient, 503));
  ASSERT_TRUE(h.call().ok());
  h.push(failure(LlmError::Kind::Auth, 401));
  EXPECT_FALSE(h.call().ok());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_FALSE(records[0].error);
  EXPECT_EQ(records[0].attempts, 2) << "one retry";
  EXPECT_EQ(records[0].usage.promptTokens, 100);
  EXPECT_EQ(records[0].usage.completionTokens, 20);
  EXPECT_EQ(records[0].costMicroUSD, 140);
  ASSERT_TRUE(records[1].error);
  EXPECT_EQ(*records[1].error, LlmError::Kind::Auth);
  EXPECT_STREQ(kindName(*records[1].error), "Auth");
  EXPECT_EQ(records[1].attempts, 1);
  EXPECT_EQ(records[1].costMicroUSD, 0);
}

TEST(Gateway, CircuitStateIsClosedOpenThenHalfOpenAfterTheCooldown) {
  GatewayOptions options;
  options.maxAttempts = 1;
  options.breakerFailures = 1;
  options.breakerCooldown = milliseconds(30000);
  Harness h(options);
  EXPECT_EQ(h.gateway->circuitState(), CircuitState::Closed);
  h.push(failure(LlmError::Kind::Transient, 503));
  EXPECT_FALSE(h.call().ok());
  EXPECT_EQ(h.gateway->circuitState(), CircuitState::Open);
  h.time.advance(milliseconds(30000));
  EXPECT_EQ(h.gateway->circuitState(), CircuitState::HalfOpen);
  ASSERT_TRUE(h.call().ok());
  EXPECT_EQ(h.gateway->circuitState(), CircuitState::Closed);
}
