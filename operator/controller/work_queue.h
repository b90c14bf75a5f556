// WorkQueue: the controller's queue of object keys, with client-go
// semantics: a key is queued at most once, is never handed to two workers
// at the same time, is re-queued when it changed while being processed, and
// can be retried with per-key exponential backoff.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace opscopilot::controller {

// What a queue reports, under client-go's workqueue metric names (the
// operator's metrics implement it): adds that queued a key (a key already
// waiting is not added twice), how long each key waited before a worker took
// it, how long the worker held it, and retries after a failure.
class QueueMetrics {
 public:
  virtual ~QueueMetrics() = default;
  virtual void added() = 0;
  virtual void waited(double seconds) = 0;
  virtual void worked(double seconds) = 0;
  virtual void retried() = 0;
};

class WorkQueue {
 public:
  using Clock = std::chrono::steady_clock;

  WorkQueue(std::chrono::milliseconds baseDelay = std::chrono::milliseconds(5),
            std::chrono::milliseconds maxDelay = std::chrono::seconds(300));
  ~WorkQueue();

  void add(const std::string& key);
  // Adds the key after delay (a later add() or a shorter delay wins).
  void addAfter(const std::string& key, std::chrono::milliseconds delay);
  // Adds the key after its backoff: base * 2^failures, capped at max.
  void addRateLimited(const std::string& key);
  // Clears the key's failure count (after a success).
  void forget(const std::string& key);
  int failures(const std::string& key) const;

  // Blocks until a key is available; nullopt after shutdown.
  std::optional<std::string> get();
  // Marks the key processed; re-queues it when it was added meanwhile.
  void done(const std::string& key);

  // Stops handing out keys; get() returns nullopt from now on.
  void shutdown();
  bool shuttingDown() const;
  std::size_t depth() const;

  // Reports to metrics from now on (nullptr: to nothing). Set it before the
  // queue is used; metrics must outlive the queue.
  void observe(QueueMetrics* metrics);
  // Seconds the keys being processed now have been held, all together and
  // the longest (workqueue_unfinished_work_seconds, ..._longest_running_processor_seconds).
  double unfinishedWorkSeconds() const;
  double longestRunningSeconds() const;

 private:
  void timerLoop();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable timerCv_;
  std::deque<std::string> queue_;
  std::unordered_set<std::string> dirty_;
  std::unordered_map<std::string, Clock::time_point> processing_;  // since when
  std::unordered_map<std::string, Clock::time_point> queuedAt_;
  QueueMetrics* metrics_ = nullptr;
  std::unordered_map<std::string, int> failures_;
  std::multimap<Clock::time_point, std::string> waiting_;
  std::unordered_map<std::string, Clock::time_point> waitingBy_;
  std::chrono::milliseconds baseDelay_, maxDelay_;
  bool shutdown_ = false;
  std::thread timer_;
};

}  // namespace opscopilot::controller
