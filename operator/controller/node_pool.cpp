#include "operator/controller/node_pool.h"

#include <algorithm>

#include "operator/net/request_order.h"

namespace opscopilot::controller {

NodePool::NodePool(NodeLimits limits) : limits_(std::move(limits)) {}

NodePool::~NodePool() { shutdown(); }

bool NodePool::submit(const std::string& ns, const std::string& profile, std::function<void()> task,
                      Clock::time_point since) {
  std::lock_guard lock(mu_);
  if (stopped_) return false;
  auto& q = waiting_[ns];
  if (q.empty()) turn_.push_back(ns);
  q.emplace(since, Task{ns, profile, std::move(task), since});
  ++waitingCount_;
  wakeLocked();
  return true;
}

void NodePool::wakeLocked() {
  // One idle thread is woken (each sleeps on its own condition, so a submit
  // wakes exactly one and a second submit the next one); threads start as
  // they are needed, never more than maxNodes and those stepped out.
  if (!sleepers_.empty()) {
    Sleeper* s = sleepers_.back();
    sleepers_.pop_back();
    s->woken = true;
    s->cv.notify_one();
  } else if (threads_.size() < static_cast<std::size_t>(limits_.maxNodes) + steppedOut_) {
    threads_.emplace_back([this] { threadLoop(); });
  }
}

void NodePool::stepOut(const std::string& ns) {
  std::lock_guard lock(mu_);
  --running_;
  if (--runningByNs_[ns] == 0) runningByNs_.erase(ns);
  ++steppedOut_;
  if (waitingCount_ > 0 && !stopped_) wakeLocked();
}

void NodePool::stepIn(const std::string& ns) {
  std::lock_guard lock(mu_);
  ++running_;
  ++runningByNs_[ns];
  --steppedOut_;
}

bool NodePool::startable(const Task& t) const {
  if (auto it = runningByNs_.find(t.ns); it != runningByNs_.end() && it->second >= limits_.perNamespace) return false;
  if (auto lim = limits_.perProfile.find(t.profile); lim != limits_.perProfile.end()) {
    if (auto it = runningByProfile_.find(t.profile); it != runningByProfile_.end() && it->second >= lim->second) {
      return false;
    }
  }
  return true;
}

bool NodePool::takeLocked(Task& out) {
  if (static_cast<int>(running_) >= limits_.maxNodes) return false;
  for (std::size_t i = 0; i < turn_.size(); ++i) {
    const std::string ns = turn_[i];
    auto& q = waiting_[ns];
    // The namespace's oldest task that may start (one of another profile may
    // pass one held by its profile's limit).
    auto it = std::find_if(q.begin(), q.end(), [&](const auto& entry) { return startable(entry.second); });
    if (it == q.end()) continue;
    out = std::move(it->second);
    q.erase(it);
    --waitingCount_;
    turn_.erase(turn_.begin() + static_cast<std::ptrdiff_t>(i));
    if (q.empty()) {
      waiting_.erase(ns);
    } else {
      turn_.push_back(ns);  // its next task waits for the others' turn
    }
    ++running_;
    ++runningByNs_[out.ns];
    ++runningByProfile_[out.profile];
    return true;
  }
  return false;
}

void NodePool::threadLoop() {
  Sleeper me;
  std::unique_lock lock(mu_);
  while (true) {
    Task task;
    if (!stopped_ && takeLocked(task)) {
      lock.unlock();
      {
        net::RequestOrderScope order(task.since);
        task.run();
      }
      task.run = nullptr;  // what it captured goes before the counts drop
      lock.lock();
      --running_;
      if (--runningByNs_[task.ns] == 0) runningByNs_.erase(task.ns);
      if (--runningByProfile_[task.profile] == 0) runningByProfile_.erase(task.profile);
      // The one slot this task freed (of the pool, its namespace, its
      // profile) is taken by this thread as it loops: no other thread can
      // start a task it cannot, so waking them (notify_all) would only make
      // every idle thread fight for the lock and sleep again.
      continue;
    }
    if (stopped_) return;
    me.woken = false;
    sleepers_.push_back(&me);
    me.cv.wait(lock, [&] { return me.woken || stopped_; });
    if (!me.woken) std::erase(sleepers_, &me);
  }
}

std::size_t NodePool::shutdown() {
  std::vector<std::thread> threads;
  std::size_t dropped = 0;
  {
    std::lock_guard lock(mu_);
    if (!stopped_) {
      stopped_ = true;
      dropped = waitingCount_;
      waiting_.clear();
      turn_.clear();
      waitingCount_ = 0;
    }
    threads.swap(threads_);
    for (Sleeper* s : sleepers_) s->cv.notify_one();
  }
  for (auto& t : threads) t.join();
  return dropped;
}

std::size_t NodePool::running() const {
  std::lock_guard lock(mu_);
  return running_;
}

std::size_t NodePool::waiting() const {
  std::lock_guard lock(mu_);
  return waitingCount_;
}

}  // namespace opscopilot::controller
