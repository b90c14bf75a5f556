// NodePool: where investigation nodes run, off the reconcile workers. A node
// (one tool call, one model call, the planner, the critic or the finalizer)
// is a task tagged with its run's namespace and model profile. At most
// maxNodes run at once, at most perNamespace of one namespace and at most a
// profile's limit of one model profile; waiting tasks start in turn across
// namespaces (round-robin), so a namespace with hundreds of runs cannot keep
// another's waiting. Within a namespace the task of the oldest run goes
// first: runs finish in about the order they came, each soon, rather than
// all of them late. A task's requests carry its run's start as their order
// key (net/request_order.h), so the API client's connections, too, serve
// the oldest run first. A worker that hands a node here is free at once: a model
// answering in 2 s holds a pool thread, never a worker.
//
// Thread safety: every member may be called from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace opscopilot::controller {

struct NodeLimits {
  int maxNodes = 64;      // in flight at once, all runs together
  int perNamespace = 32;  // of one namespace's runs
  // Of one model profile's runs; a profile not named here has no limit of
  // its own (builtin: its nodes wait on nothing but the API server).
  std::map<std::string, int> perProfile;
};

class NodePool {
 public:
  explicit NodePool(NodeLimits limits);
  ~NodePool();
  NodePool(const NodePool&) = delete;
  NodePool& operator=(const NodePool&) = delete;

  using Clock = std::chrono::steady_clock;
  // Queues the task; `since` orders it within its namespace (its run's start:
  // older first). false after shutdown (the task will not run).
  bool submit(const std::string& ns, const std::string& profile, std::function<void()> task,
              Clock::time_point since = Clock::now());

  // A running task about to wait on something other than the API server (a
  // model's answer) steps out of the pool's and its namespace's counts, so
  // that another task may start in its place; it keeps its place in its
  // profile's count, which bounds such waits (maxConcurrentCalls). stepIn,
  // when the wait is over, counts it again at once (the pool may then hold
  // more than maxNodes for a moment; no task starts until it is back below).
  void stepOut(const std::string& ns);
  void stepIn(const std::string& ns);

  // Takes no more tasks, drops those still waiting, and waits for the
  // running ones to return. Returns the number dropped.
  std::size_t shutdown();

  std::size_t running() const;
  std::size_t waiting() const;

 private:
  struct Task {
    std::string ns, profile;
    std::function<void()> run;
    Clock::time_point since;  // also the order key of the task's API requests
  };
  bool startable(const Task& t) const;
  // The next task to start, in turn across namespaces; false when none may.
  bool takeLocked(Task& out);
  // Wakes an idle thread, or starts one, for a waiting task.
  void wakeLocked();
  void threadLoop();

  const NodeLimits limits_;
  mutable std::mutex mu_;
  // An idle thread, asleep until a submit hands it work (or shutdown).
  struct Sleeper {
    std::condition_variable cv;
    bool woken = false;
  };
  std::vector<Sleeper*> sleepers_;  // idle threads; the last to sleep is woken first
  std::unordered_map<std::string, std::multimap<Clock::time_point, Task>> waiting_;  // by namespace, oldest first
  std::deque<std::string> turn_;                              // namespaces with waiting tasks, next first
  std::unordered_map<std::string, int> runningByNs_, runningByProfile_;
  std::size_t running_ = 0, waitingCount_ = 0;
  std::size_t steppedOut_ = 0;  // running tasks waiting out of the counts
  bool stopped_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace opscopilot::controller
