#include "agent/llm/token_bucket.h"

#include <algorithm>
#include <cmath>

namespace opscopilot::agent::llm {

namespace {

constexpr double kMsPerMinute = 60'000.0;

}  // namespace

TokenBucket::TokenBucket(double perMinute, TimePoint now) : perMinute_(perMinute), level_(perMinute), last_(now) {}

void TokenBucket::refill(TimePoint now) {
  if (now <= last_) return;
  const double elapsedMs = std::chrono::duration<double, std::milli>(now - last_).count();
  level_ = std::min(perMinute_, level_ + elapsedMs * perMinute_ / kMsPerMinute);
  last_ = now;
}

std::chrono::milliseconds TokenBucket::waitFor(double amount, TimePoint now) {
  if (unlimited()) return std::chrono::milliseconds(0);
  refill(now);
  amount = std::min(amount, perMinute_);
  if (level_ >= amount) return std::chrono::milliseconds(0);
  const double ms = (amount - level_) * kMsPerMinute / perMinute_;
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(ms - 1e-9)));
}

void TokenBucket::take(double amount, TimePoint now) {
  if (unlimited()) return;
  refill(now);
  level_ -= std::min(amount, perMinute_);
}

void TokenBucket::adjust(double amount) {
  if (unlimited()) return;
  level_ = std::min(perMinute_, level_ + amount);
}

}  // namespace opscopilot::agent::llm
