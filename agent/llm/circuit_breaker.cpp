#include "agent/llm/circuit_breaker.h"

namespace opscopilot::agent::llm {

CircuitBreaker::CircuitBreaker(int failuresToOpen, std::chrono::milliseconds cooldown)
    : failuresToOpen_(failuresToOpen), cooldown_(cooldown) {}

CircuitBreaker::Admission CircuitBreaker::admit(TimePoint now) {
  switch (state_) {
    case State::Closed:
      return Admission::Call;
    case State::Open:
      if (now < openedAt_ + cooldown_) return Admission::Reject;
      state_ = State::HalfOpen;
      trialInFlight_ = true;
      return Admission::Trial;
    case State::HalfOpen:
      if (trialInFlight_) return Admission::Reject;
      trialInFlight_ = true;
      return Admission::Trial;
  }
  return Admission::Reject;
}

void CircuitBreaker::succeeded(bool trial) {
  if (!trial && state_ != State::Closed) return;
  state_ = State::Closed;
  failures_ = 0;
  trialInFlight_ = false;
}

void CircuitBreaker::failed(bool trial, TimePoint now) {
  if (trial) {
    state_ = State::Open;
    openedAt_ = now;
    trialInFlight_ = false;
    return;
  }
  if (state_ != State::Closed) return;
  ++failures_;
  if (failuresToOpen_ > 0 && failures_ >= failuresToOpen_) {
    state_ = State::Open;
    openedAt_ = now;
  }
}

void CircuitBreaker::abandoned(bool trial) {
  if (trial) trialInFlight_ = false;
}

bool CircuitBreaker::rejecting(TimePoint now) const {
  switch (state_) {
    case State::Closed: return false;
    case State::Open: return now < openedAt_ + cooldown_;
    case State::HalfOpen: return trialInFlight_;
  }
  return false;
}

CircuitState CircuitBreaker::state(TimePoint now) const {
  switch (state_) {
    case State::Closed: return CircuitState::Closed;
    case State::Open: return now < openedAt_ + cooldown_ ? CircuitState::Open : CircuitState::HalfOpen;
    case State::HalfOpen: return CircuitState::HalfOpen;
  }
  return CircuitState::Closed;
}

}  // namespace opscopilot::agent::llm
