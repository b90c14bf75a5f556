// A token bucket for the gateway's requests-per-minute and tokens-per-minute
// limits. Internal to agent/llm. Not thread-safe: the gateway serialises it.
#pragma once

#include <chrono>

namespace opscopilot::agent::llm {

class TokenBucket {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Holds at most perMinute tokens and refills perMinute a minute,
  // continuously; starts full. perMinute <= 0: unlimited.
  TokenBucket(double perMinute, TimePoint now);

  bool unlimited() const { return perMinute_ <= 0; }

  // How long until amount tokens are there (0: now). A request bigger than
  // the bucket waits for a full bucket rather than forever.
  std::chrono::milliseconds waitFor(double amount, TimePoint now);

  // Takes amount (capped as in waitFor). The level may go below zero: the
  // caller has reserved tokens it waits out, and later callers wait longer.
  void take(double amount, TimePoint now);

  // Gives tokens back (a call used fewer than reserved) or takes more
  // (negative: it used more), without refilling past the capacity.
  void adjust(double amount);

 private:
  void refill(TimePoint now);

  double perMinute_;
  double level_;
  TimePoint last_;
};

}  // namespace opscopilot::agent::llm
