#include "operator/controller/work_queue.h"

#include <algorithm>

namespace opscopilot::controller {

WorkQueue::WorkQueue(std::chrono::milliseconds baseDelay, std::chrono::milliseconds maxDelay)
    : baseDelay_(baseDelay), maxDelay_(maxDelay), timer_([this] { timerLoop(); }) {}

WorkQueue::~WorkQueue() {
  shutdown();
  if (timer_.joinable()) timer_.join();
}

void WorkQueue::add(const std::string& key) {
  {
    std::lock_guard lock(mu_);
    if (shutdown_ || dirty_.count(key)) return;
    dirty_.insert(key);
    if (metrics_) metrics_->added();
    if (processing_.count(key)) return;  // done() re-queues it
    queue_.push_back(key);
    queuedAt_[key] = Clock::now();
  }
  cv_.notify_one();
}

void WorkQueue::addAfter(const std::string& key, std::chrono::milliseconds delay) {
  if (delay.count() <= 0) {
    add(key);
    return;
  }
  {
    std::lock_guard lock(mu_);
    if (shutdown_) return;
    auto when = Clock::now() + delay;
    if (auto it = waitingBy_.find(key); it != waitingBy_.end()) {
      if (it->second <= when) return;
      for (auto w = waiting_.lower_bound(it->second); w != waiting_.end() && w->first == it->second; ++w) {
        if (w->second == key) {
          waiting_.erase(w);
          break;
        }
      }
    }
    waiting_.emplace(when, key);
    waitingBy_[key] = when;
  }
  timerCv_.notify_one();
}

void WorkQueue::addRateLimited(const std::string& key) {
  std::chrono::milliseconds delay;
  {
    std::lock_guard lock(mu_);
    int n = failures_[key]++;
    if (metrics_) metrics_->retried();
    double d = static_cast<double>(baseDelay_.count()) * static_cast<double>(1ull << std::min(n, 30));
    delay = std::chrono::milliseconds(static_cast<std::int64_t>(std::min(d, static_cast<double>(maxDelay_.count()))));
  }
  addAfter(key, delay);
}

void WorkQueue::forget(const std::string& key) {
  std::lock_guard lock(mu_);
  failures_.erase(key);
}

int WorkQueue::failures(const std::string& key) const {
  std::lock_guard lock(mu_);
  auto it = failures_.find(key);
  return it == failures_.end() ? 0 : it->second;
}

std::optional<std::string> WorkQueue::get() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return shutdown_ || !queue_.empty(); });
  if (shutdown_) return std::nullopt;
  auto key = std::move(queue_.front());
  queue_.pop_front();
  const auto now = Clock::now();
  if (auto it = queuedAt_.find(key); it != queuedAt_.end()) {
    if (metrics_) metrics_->waited(std::chrono::duration<double>(now - it->second).count());
    queuedAt_.erase(it);
  }
  processing_[key] = now;
  dirty_.erase(key);
  return key;
}

void WorkQueue::done(const std::string& key) {
  bool requeued = false;
  {
    std::lock_guard lock(mu_);
    const auto now = Clock::now();
    if (auto it = processing_.find(key); it != processing_.end()) {
      if (metrics_) metrics_->worked(std::chrono::duration<double>(now - it->second).count());
      processing_.erase(it);
    }
    if (dirty_.count(key) && !shutdown_) {
      queue_.push_back(key);
      queuedAt_[key] = now;
      requeued = true;
    }
  }
  if (requeued) cv_.notify_one();
}

void WorkQueue::shutdown() {
  {
    std::lock_guard lock(mu_);
    shutdown_ = true;
  }
  cv_.notify_all();
  timerCv_.notify_all();
}

bool WorkQueue::shuttingDown() const {
  std::lock_guard lock(mu_);
  return shutdown_;
}

std::size_t WorkQueue::depth() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void WorkQueue::observe(QueueMetrics* metrics) {
  std::lock_guard lock(mu_);
  metrics_ = metrics;
}

double WorkQueue::unfinishedWorkSeconds() const {
  std::lock_guard lock(mu_);
  const auto now = Clock::now();
  double total = 0;
  for (const auto& [key, since] : processing_) total += std::chrono::duration<double>(now - since).count();
  return total;
}

double WorkQueue::longestRunningSeconds() const {
  std::lock_guard lock(mu_);
  const auto now = Clock::now();
  double longest = 0;
  for (const auto& [key, since] : processing_) longest = std::max(longest, std::chrono::duration<double>(now - since).count());
  return longest;
}

void WorkQueue::timerLoop() {
  std::unique_lock lock(mu_);
  while (!shutdown_) {
    if (waiting_.empty()) {
      timerCv_.wait(lock);
      continue;
    }
    auto next = waiting_.begin()->first;
    if (Clock::now() < next) {
      timerCv_.wait_until(lock, next);
      continue;
    }
    auto key = waiting_.begin()->second;
    waiting_.erase(waiting_.begin());
    waitingBy_.erase(key);
    lock.unlock();
    add(key);
    lock.lock();
  }
}

}  // namespace opscopilot::controller
