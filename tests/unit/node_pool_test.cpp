// NodePool: the limits (all, per namespace, per profile) and the turn taking
// across namespaces. Tasks block on a gate the test opens, so what runs at
// once is observed, never timed.
#include "operator/controller/node_pool.h"
#include "operator/net/request_order.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using namespace opscopilot::controller;
namespace net = opscopilot::net;

namespace {

// Tasks record when they start and wait until the test lets them go.
class Gate {
 public:
  std::function<void()> task(const std::string& name) {
    return [this, name] {
      std::unique_lock lock(mu_);
      started_.push_back(name);
      ++running_;
      cv_.notify_all();
      cv_.wait(lock, [&] { return open_ > 0; });
      --open_;
      --running_;
      cv_.notify_all();
    };
  }
  // Waits until n tasks have started in all (false after 10 s).
  bool waitStarted(std::size_t n) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return started_.size() >= n; });
  }
  // Lets one waiting task finish.
  void release(int n = 1) {
    std::lock_guard lock(mu_);
    open_ += n;
    cv_.notify_all();
  }
  std::vector<std::string> started() {
    std::lock_guard lock(mu_);
    return started_;
  }
  int running() {
    std::lock_guard lock(mu_);
    return running_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> started_;
  int running_ = 0, open_ = 0;
};

}  // namespace

TEST(NodePool, NeverRunsMoreThanMaxNodes) {
  NodePool pool({3, 3, {}});
  Gate gate;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(pool.submit("ns", "builtin", gate.task("t" + std::to_string(i))));
  ASSERT_TRUE(gate.waitStarted(3));
  EXPECT_EQ(pool.running(), 3u);
  EXPECT_EQ(pool.waiting(), 7u);
  gate.release(10);
  ASSERT_TRUE(gate.waitStarted(10));
  pool.shutdown();
  EXPECT_EQ(gate.started().size(), 10u);
}

// Idle threads each sleep on their own: submits in a row wake one thread
// each, so tasks handed to a pool with idle threads all start at once.
TEST(NodePool, SubmitsInARowWakeOneIdleThreadEach) {
  NodePool pool({4, 4, {}});
  Gate gate;
  for (int i = 0; i < 4; ++i) pool.submit("ns", "builtin", gate.task("warm"));
  ASSERT_TRUE(gate.waitStarted(4));
  gate.release(4);
  while (pool.running() > 0) std::this_thread::yield();  // four idle threads now
  for (int i = 0; i < 4; ++i) pool.submit("ns", "builtin", gate.task("next"));
  ASSERT_TRUE(gate.waitStarted(8)) << "a submitted task waited though a thread was idle";
  EXPECT_EQ(pool.running(), 4u);
  gate.release(4);
  pool.shutdown();
}

TEST(NodePool, ANamespaceAtItsLimitLetsAnotherRun) {
  NodePool pool({8, 2, {}});
  Gate gate;
  for (int i = 0; i < 5; ++i) pool.submit("busy", "builtin", gate.task("busy"));
  pool.submit("quiet", "builtin", gate.task("quiet"));
  // Two of busy (its limit) and the quiet one start; busy's other three wait.
  ASSERT_TRUE(gate.waitStarted(3));
  auto s = gate.started();
  EXPECT_EQ(std::count(s.begin(), s.end(), "busy"), 2);
  EXPECT_EQ(std::count(s.begin(), s.end(), "quiet"), 1);
  EXPECT_EQ(pool.waiting(), 3u);
  gate.release(6);
  ASSERT_TRUE(gate.waitStarted(6));
  pool.shutdown();
}

TEST(NodePool, NamespacesTakeTurns) {
  // One slot: the order tasks start in is the turn order.
  NodePool pool({1, 1, {}});
  Gate gate;
  pool.submit("a", "p", gate.task("first"));
  ASSERT_TRUE(gate.waitStarted(1));
  for (int i = 0; i < 3; ++i) pool.submit("a", "p", gate.task("a"));
  for (int i = 0; i < 3; ++i) pool.submit("b", "p", gate.task("b"));
  gate.release(7);
  ASSERT_TRUE(gate.waitStarted(7));
  pool.shutdown();
  const std::vector<std::string> want = {"first", "a", "b", "a", "b", "a", "b"};
  EXPECT_EQ(gate.started(), want) << "a namespace that submitted first does not run all its tasks before another's";
}

TEST(NodePool, AProfileAtItsLimitHoldsOnlyItsOwnTasks) {
  NodePool pool({8, 8, {{"gpt", 2}}});
  Gate gate;
  for (int i = 0; i < 4; ++i) pool.submit("ns", "gpt", gate.task("gpt"));
  pool.submit("ns", "builtin", gate.task("builtin"));
  ASSERT_TRUE(gate.waitStarted(3));
  auto s = gate.started();
  EXPECT_EQ(std::count(s.begin(), s.end(), "gpt"), 2);
  EXPECT_EQ(std::count(s.begin(), s.end(), "builtin"), 1) << "a builtin task passes gpt tasks held by their limit";
  gate.release(5);
  ASSERT_TRUE(gate.waitStarted(5));
  pool.shutdown();
}

TEST(NodePool, ShutdownDropsWaitingTasksAndRefusesNewOnes) {
  NodePool pool({1, 1, {}});
  Gate gate;
  pool.submit("ns", "p", gate.task("running"));
  ASSERT_TRUE(gate.waitStarted(1));
  pool.submit("ns", "p", gate.task("waiting"));
  // The running task is let go once shutdown has dropped the waiting one.
  std::thread closer([&] {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (pool.waiting() > 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    gate.release();
  });
  EXPECT_EQ(pool.shutdown(), 1u);
  closer.join();
  EXPECT_FALSE(pool.submit("ns", "p", gate.task("late")));
  EXPECT_EQ(gate.started(), std::vector<std::string>{"running"});
}

TEST(NodePool, WithinANamespaceTheOldestRunGoesFirst) {
  NodePool pool({1, 1, {}});
  Gate gate;
  const auto t0 = NodePool::Clock::now();
  pool.submit("ns", "p", gate.task("first"), t0);
  ASSERT_TRUE(gate.waitStarted(1));
  // A later node of an old run passes the first nodes of newer runs.
  pool.submit("ns", "p", gate.task("new run"), t0 + std::chrono::seconds(2));
  pool.submit("ns", "p", gate.task("newer run"), t0 + std::chrono::seconds(3));
  pool.submit("ns", "p", gate.task("old run"), t0 + std::chrono::seconds(1));
  gate.release(4);
  ASSERT_TRUE(gate.waitStarted(4));
  pool.shutdown();
  const std::vector<std::string> want = {"first", "old run", "new run", "newer run"};
  EXPECT_EQ(gate.started(), want);
}

// A node waiting on its model steps out of the pool's and its namespace's
// counts: another node starts in its place, while its profile's limit still
// counts it.
TEST(NodePool, ANodeWaitingOnItsModelLetsAnotherStart) {
  NodePool pool({1, 1, {{"gpt", 1}}});
  Gate gate;
  auto waitsOnModel = gate.task("model");
  pool.submit("ns", "gpt", [&] {
    pool.stepOut("ns");
    waitsOnModel();
    pool.stepIn("ns");
  });
  ASSERT_TRUE(gate.waitStarted(1));
  pool.submit("ns", "gpt", gate.task("gpt"));
  pool.submit("ns", "builtin", gate.task("builtin"));
  ASSERT_TRUE(gate.waitStarted(2));
  EXPECT_EQ(gate.started(), (std::vector<std::string>{"model", "builtin"}))
      << "the builtin node starts beside the waiting one; the second gpt node waits for its profile";
  EXPECT_EQ(pool.running(), 1u);
  gate.release(3);
  ASSERT_TRUE(gate.waitStarted(3));
  pool.shutdown();
}

// A task's API requests carry its run's start as their order key, so the
// client's connections serve the oldest run first too.
TEST(NodePool, ATaskCarriesItsRunsStartAsTheOrderKeyOfItsRequests) {
  NodePool pool({1, 1, {}});
  const auto since = NodePool::Clock::now() - std::chrono::seconds(7);
  std::promise<net::RequestOrder> seen;
  pool.submit("ns", "p", [&] { seen.set_value(net::currentRequestOrder()); }, since);
  auto f = seen.get_future();
  ASSERT_EQ(f.wait_for(std::chrono::seconds(10)), std::future_status::ready);
  EXPECT_EQ(f.get(), since);
  EXPECT_EQ(net::currentRequestOrder(), net::RequestOrder::min()) << "a thread working for no run goes first";
  pool.shutdown();
}
