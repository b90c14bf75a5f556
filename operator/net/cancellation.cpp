#include "operator/net/cancellation.h"

#include <vector>

namespace opscopilot::net {

void Cancellation::cancel() {
  std::vector<std::function<void()>> toRun;
  {
    std::lock_guard lock(mu_);
    if (cancelled_) return;
    cancelled_ = true;
    for (auto& [id, fn] : callbacks_) toRun.push_back(std::move(fn));
    callbacks_.clear();
  }
  cv_.notify_all();
  for (auto& fn : toRun) fn();
}

bool Cancellation::cancelled() const {
  std::lock_guard lock(mu_);
  return cancelled_;
}

std::uint64_t Cancellation::subscribe(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    if (!cancelled_) {
      auto id = nextId_++;
      callbacks_.emplace(id, std::move(fn));
      return id;
    }
  }
  fn();
  return 0;
}

void Cancellation::unsubscribe(std::uint64_t id) {
  std::lock_guard lock(mu_);
  callbacks_.erase(id);
}

bool Cancellation::sleepFor(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, d, [this] { return cancelled_; });
}

}  // namespace opscopilot::net
