#include <algorithm>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <random>

#include "agent/llm/circuit_breaker.h"
#include "agent/llm/llm.h"
#include "agent/llm/token_bucket.h"

namespace opscopilot::agent::llm {

namespace {

using std::chrono::milliseconds;
using TimePoint = std::chrono::steady_clock::time_point;

LlmError makeError(LlmError::Kind kind, std::string message) {
  LlmError e;
  e.kind = kind;
  e.message = std::move(message);
  return e;
}

// What the run is charged when the provider reported no usage: the prompt
// estimate and the output at about four characters a token.
TokenUsage usageOrEstimate(const ChatResponse& response, std::int64_t estimatedPrompt) {
  if (response.usage.promptTokens > 0 || response.usage.completionTokens > 0) return response.usage;
  std::int64_t chars = static_cast<std::int64_t>(response.content.size());
  for (const auto& call : response.toolCalls) chars += static_cast<std::int64_t>(call.name.size() + call.argsJson.size());
  return {estimatedPrompt, (chars + 3) / 4};
}

std::string seconds(milliseconds ms) { return std::to_string((ms.count() + 999) / 1000) + "s"; }

LlmError shuttingDown() {
  return makeError(LlmError::Kind::Cancelled, "the operator is shutting down; the model call was abandoned");
}

}  // namespace

bool interruptibleWait(milliseconds d, const std::stop_token& stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  return cv.wait_for(lock, stop, d, [] { return false; }) || stop.stop_requested();
}

struct Gateway::State {
  State(std::unique_ptr<Provider> p, GatewayOptions o, Clock c, Sleep s, Random r)
      : provider(std::move(p)),
        options(std::move(o)),
        clock(std::move(c)),
        sleep(std::move(s)),
        random(std::move(r)),
        breaker(options.breakerFailures, options.breakerCooldown),
        requests(options.requestsPerMinute, clock()),
        tokens(options.tokensPerMinute, clock()) {}

  // Full jitter: uniform in [0, min(max, initial * 2^(attempt-1))].
  milliseconds backoff(int attempt) {
    milliseconds ceiling = std::max(options.backoffInitial, milliseconds(0));
    for (int i = 1; i < attempt && ceiling < options.backoffMax; ++i) ceiling *= 2;
    ceiling = std::min(ceiling, options.backoffMax);
    double r = 0;
    {
      std::lock_guard lock(mu);
      r = std::clamp(random(), 0.0, 1.0);
    }
    return milliseconds(static_cast<std::int64_t>(static_cast<double>(ceiling.count()) * r));
  }

  std::unique_ptr<Provider> provider;
  const GatewayOptions options;
  const Clock clock;
  const Sleep sleep;
  const Random random;  // called under mu
  std::stop_source shutdown;

  mutable std::mutex mu;  // guards what follows
  CircuitBreaker breaker;
  TokenBucket requests;
  TokenBucket tokens;
};

Gateway::Gateway(std::unique_ptr<Provider> provider, GatewayOptions options, Clock clock, Sleep sleep)
    : Gateway(std::move(provider), std::move(options), std::move(clock), std::move(sleep), Random{}) {}

Gateway::Gateway(std::unique_ptr<Provider> provider, GatewayOptions options, Clock clock, Sleep sleep, Random random) {
  if (!clock) clock = [] { return std::chrono::steady_clock::now(); };
  if (!sleep) sleep = [](milliseconds d, const std::stop_token& stop) { interruptibleWait(d, stop); };
  if (!random) {
    auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
    random = [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
  }
  state_ = std::make_unique<State>(std::move(provider), std::move(options), std::move(clock), std::move(sleep),
                                   std::move(random));
}

Gateway::~Gateway() = default;

void Gateway::shutdown() { state_->shutdown.request_stop(); }

bool Gateway::circuitOpen() const {
  std::lock_guard lock(state_->mu);
  return state_->breaker.rejecting(state_->clock());
}

CircuitState Gateway::circuitState() const {
  std::lock_guard lock(state_->mu);
  return state_->breaker.state(state_->clock());
}

const char* kindName(LlmError::Kind kind) {
  switch (kind) {
    case LlmError::Kind::Transient: return "Transient";
    case LlmError::Kind::Invalid: return "Invalid";
    case LlmError::Kind::Auth: return "Auth";
    case LlmError::Kind::BudgetExceeded: return "BudgetExceeded";
    case LlmError::Kind::CircuitOpen: return "CircuitOpen";
    case LlmError::Kind::RateLimited: return "RateLimited";
    case LlmError::Kind::Cancelled: return "Cancelled";
  }
  return "Unknown";
}

LlmResult<GatewayCall> Gateway::call(const ChatRequest& prompt, const Budget& budget, TimePoint deadline) {
  const auto started = std::chrono::steady_clock::now();
  int attempts = 0;
  auto result = attempt(prompt, budget, deadline, attempts);
  if (state_->options.onCallEnded) {
    CallRecord record;
    record.attempts = attempts;
    record.elapsed = std::chrono::steady_clock::now() - started;
    if (result.ok()) {
      record.usage = result.value->usage;
      record.costMicroUSD = result.value->costMicroUSD;
    } else {
      record.error = result.error.kind;
      record.usage = result.error.chargedUsage;
      record.costMicroUSD = result.error.chargedMicroUSD;
    }
    state_->options.onCallEnded(record);
  }
  return result;
}

LlmResult<GatewayCall> Gateway::attempt(const ChatRequest& prompt, const Budget& budget, TimePoint deadline,
                                        int& attempts) {
  using Result = LlmResult<GatewayCall>;
  // The sink: what a model sees passes the redactor, whoever composed it
  // (a provider accepts nothing else).
  const RedactedChatRequest redacted = redactChatRequest(prompt);
  const ChatRequest& request = redacted.get();
  State& s = *state_;
  const Price& price = s.options.price;

  // The budget, on an estimate that counts the whole output allowance.
  const std::int64_t estimatedPrompt = estimateTokens(request);
  const std::int64_t maxOutput = std::max(request.maxOutputTokens, 0);
  const std::int64_t reserved = estimatedPrompt + maxOutput;
  if (!budget.unlimitedTokens && reserved > budget.tokensLeft) {
    return Result::failure(makeError(LlmError::Kind::BudgetExceeded,
                                     "token budget: the call may use " + std::to_string(reserved) + " tokens, " +
                                         std::to_string(std::max<std::int64_t>(budget.tokensLeft, 0)) + " left"));
  }
  const std::int64_t estimatedCost = costMicroUSD({estimatedPrompt, maxOutput}, price);
  if (!budget.unlimitedCost && (budget.microUSDLeft <= 0 || estimatedCost > budget.microUSDLeft)) {
    return Result::failure(makeError(LlmError::Kind::BudgetExceeded,
                                     "cost budget: the call may cost " + std::to_string(estimatedCost) + " micro-USD, " +
                                         std::to_string(std::max<std::int64_t>(budget.microUSDLeft, 0)) + " left"));
  }

  bool trial = false;
  {
    std::lock_guard lock(s.mu);
    switch (s.breaker.admit(s.clock())) {
      case CircuitBreaker::Admission::Reject:
        return Result::failure(makeError(LlmError::Kind::CircuitOpen,
                                         "circuit open: the model endpoint failed " +
                                             std::to_string(s.options.breakerFailures) +
                                             " calls in a row; next try after a cooldown of " +
                                             seconds(s.options.breakerCooldown)));
      case CircuitBreaker::Admission::Trial: trial = true; break;
      case CircuitBreaker::Admission::Call: break;
    }
  }

  // A half-open circuit gets one probe, not a round of retries.
  const int maxAttempts = trial ? 1 : std::max(s.options.maxAttempts, 1);
  const std::stop_token stop = s.shutdown.get_token();
  std::optional<LlmResult<ChatResponse>> last;
  std::optional<LlmError> stopped;  // gave up before an attempt: deadline, rate limit or shutdown
  for (;;) {
    if (stop.stop_requested()) {
      stopped = shuttingDown();
      break;
    }
    const TimePoint now = s.clock();
    if (now >= deadline) {
      stopped = makeError(LlmError::Kind::Transient, "deadline passed before the model call");
      break;
    }
    milliseconds wait{0};
    {
      std::lock_guard lock(s.mu);
      wait = std::max(s.requests.waitFor(1, now), s.tokens.waitFor(static_cast<double>(reserved), now));
      if (now + wait > deadline) {
        stopped = makeError(LlmError::Kind::RateLimited, "rate limit: the next call slot is " + seconds(wait) +
                                                             " away, past the run's deadline in " +
                                                             seconds(std::chrono::ceil<milliseconds>(deadline - now)));
      } else {
        s.requests.take(1, now);
        s.tokens.take(static_cast<double>(reserved), now);
      }
    }
    if (stopped) break;
    if (wait > milliseconds(0)) s.sleep(wait, stop);
    if (stop.stop_requested()) {
      stopped = shuttingDown();
      break;
    }

    ++attempts;
    try {
      last = s.provider->chat(redacted, CallLimits{deadline, stop});
    } catch (const std::exception&) {
      last = LlmResult<ChatResponse>::failure(makeError(LlmError::Kind::Transient, "model provider failed unexpectedly"));
    }
    if (last->ok()) {
      const TokenUsage used = usageOrEstimate(*last->value, estimatedPrompt);
      std::lock_guard lock(s.mu);
      s.tokens.adjust(static_cast<double>(reserved - used.promptTokens - used.completionTokens));
      break;
    }
    {
      // A refused call did not use its tokens.
      std::lock_guard lock(s.mu);
      s.tokens.adjust(static_cast<double>(reserved));
    }
    if (stop.stop_requested()) {  // the call was cut by the shutdown, not by the server
      stopped = shuttingDown();
      break;
    }
    LlmError& error = last->error;
    if (error.kind != LlmError::Kind::Transient || attempts >= maxAttempts) break;
    const milliseconds delay = error.retryAfter ? *error.retryAfter : s.backoff(attempts);
    const TimePoint before = s.clock();
    if (before + delay > deadline) {
      const std::string left = seconds(std::chrono::ceil<milliseconds>(std::max(deadline - before, TimePoint::duration(0))));
      error.message += error.retryAfter ? "; the model server asked to retry after " + seconds(delay) +
                                              ", past the run's deadline in " + left
                                        : "; the next retry (in " + seconds(delay) +
                                              ") would pass the run's deadline in " + left;
      break;
    }
    s.sleep(delay, stop);
  }

  if (!last) {  // never reached the provider
    std::lock_guard lock(s.mu);
    s.breaker.abandoned(trial);
    return Result::failure(std::move(*stopped));
  }
  if (!last->ok()) {
    LlmError error = stopped ? std::move(*stopped) : std::move(last->error);
    const bool providerAnswered = last->error.kind == LlmError::Kind::Invalid;
    {
      std::lock_guard lock(s.mu);
      if (error.kind == LlmError::Kind::Cancelled) {
        s.breaker.abandoned(trial);  // our shutdown says nothing about the endpoint
      } else if (providerAnswered) {
        s.breaker.succeeded(trial);
      } else {
        s.breaker.failed(trial, s.clock());
      }
    }
    if (attempts > 1) error.message += " (after " + std::to_string(attempts) + " attempts)";
    return Result::failure(std::move(error));
  }

  {
    std::lock_guard lock(s.mu);
    s.breaker.succeeded(trial);
  }
  GatewayCall out;
  out.response = std::move(*last->value);
  out.usage = usageOrEstimate(out.response, estimatedPrompt);
  out.costMicroUSD = costMicroUSD(out.usage, price);
  out.attempts = attempts;
  const std::int64_t used = out.usage.promptTokens + out.usage.completionTokens;
  std::string over;
  if (!budget.unlimitedTokens && used > budget.tokensLeft) {
    over = "token budget: the call used " + std::to_string(used) + " tokens, " +
           std::to_string(std::max<std::int64_t>(budget.tokensLeft, 0)) + " were left";
  } else if (!budget.unlimitedCost && out.costMicroUSD > budget.microUSDLeft) {
    over = "cost budget: the call cost " + std::to_string(out.costMicroUSD) + " micro-USD, " +
           std::to_string(std::max<std::int64_t>(budget.microUSDLeft, 0)) + " were left";
  }
  if (!over.empty()) {
    LlmError error = makeError(LlmError::Kind::BudgetExceeded, std::move(over));
    error.chargedUsage = out.usage;
    error.chargedMicroUSD = out.costMicroUSD;
    return Result::failure(std::move(error));
  }
  return Result::success(std::move(out));
}

}  // namespace opscopilot::agent::llm
