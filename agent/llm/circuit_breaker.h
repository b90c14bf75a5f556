// The gateway's circuit breaker. Internal to agent/llm. Not thread-safe: the
// gateway serialises it.
#pragma once

#include <chrono>

#include "agent/llm/llm.h"

namespace opscopilot::agent::llm {

class CircuitBreaker {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  // Opens after failuresToOpen consecutive failed calls (<= 0: never) and
  // stays open for cooldown; then lets one trial call through (half-open).
  CircuitBreaker(int failuresToOpen, std::chrono::milliseconds cooldown);

  enum class Admission {
    Call,    // closed: call normally
    Trial,   // half-open: this is the one trial call; report how it went
    Reject,  // open, or a trial is already in flight: fail fast
  };
  Admission admit(TimePoint now);

  // How an admitted call went; trial says it was admitted as the Trial. A
  // call admitted before the circuit opened does not decide anything once
  // it is open: only the trial does.
  void succeeded(bool trial);             // closes
  void failed(bool trial, TimePoint now);  // counts; opens at the threshold, re-opens after a failed trial
  void abandoned(bool trial);             // never reached the provider: a trial slot is freed

  // True while a call made now would be rejected.
  bool rejecting(TimePoint now) const;
  // Open only while the cooldown runs; after it the next call is a trial.
  CircuitState state(TimePoint now) const;

 private:
  enum class State { Closed, Open, HalfOpen };
  int failuresToOpen_;
  std::chrono::milliseconds cooldown_;
  State state_ = State::Closed;
  int failures_ = 0;
  TimePoint openedAt_{};
  bool trialInFlight_ = false;
};

}  // namespace opscopilot::agent::llm
