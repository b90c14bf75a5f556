// Cancellation: a one-shot, thread-safe stop signal shared between the code
// that owns a long operation (a watch, a backoff wait) and the code that
// wants it stopped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>

namespace opscopilot::net {

class Cancellation {
 public:
  // Marks the operation cancelled and runs every subscribed callback once.
  void cancel();
  bool cancelled() const;

  // Registers fn to run when cancel() is called; runs it at once when already
  // cancelled. Returns an id for unsubscribe().
  std::uint64_t subscribe(std::function<void()> fn);
  void unsubscribe(std::uint64_t id);

  // Waits up to d. Returns true when cancelled before or during the wait.
  bool sleepFor(std::chrono::milliseconds d);

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool cancelled_ = false;
  std::uint64_t nextId_ = 1;
  std::map<std::uint64_t, std::function<void()>> callbacks_;
};

}  // namespace opscopilot::net
