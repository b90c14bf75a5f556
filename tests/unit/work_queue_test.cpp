#include <gtest/gtest.h>

#include <thread>

#include "operator/controller/work_queue.h"

using namespace opscopilot::controller;

TEST(WorkQueue, DeduplicatesKeysWaitingToBeProcessed) {
  WorkQueue q;
  q.add("a");
  q.add("a");
  q.add("b");
  EXPECT_EQ(q.depth(), 2u);
  EXPECT_EQ(*q.get(), "a");
  EXPECT_EQ(*q.get(), "b");
}

TEST(WorkQueue, KeyAddedWhileProcessingIsRequeuedAfterDoneNotHandedOutTwice) {
  WorkQueue q;
  q.add("a");
  auto k = q.get();
  q.add("a");
  EXPECT_EQ(q.depth(), 0u) << "a worker holds it";
  q.done(*k);
  EXPECT_EQ(q.depth(), 1u);
  EXPECT_EQ(*q.get(), "a");
}

TEST(WorkQueue, RateLimitedBackoffGrowsPerKeyAndForgetResetsIt) {
  WorkQueue q(std::chrono::milliseconds(1), std::chrono::milliseconds(1000));
  for (int i = 0; i < 3; ++i) q.addRateLimited("x");
  EXPECT_EQ(q.failures("x"), 3);
  EXPECT_EQ(q.failures("y"), 0);
  auto k = q.get();  // arrives after the backoff
  ASSERT_TRUE(k);
  EXPECT_EQ(*k, "x");
  q.forget("x");
  EXPECT_EQ(q.failures("x"), 0);
}

TEST(WorkQueue, AddAfterDeliversLaterAndShorterDelayWins) {
  WorkQueue q;
  auto start = std::chrono::steady_clock::now();
  q.addAfter("late", std::chrono::seconds(60));
  q.addAfter("late", std::chrono::milliseconds(20));
  auto k = q.get();
  ASSERT_TRUE(k);
  EXPECT_EQ(*k, "late");
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_GE(waited, std::chrono::milliseconds(15));
  EXPECT_LT(waited, std::chrono::seconds(30));
}

TEST(WorkQueue, ShutdownReleasesBlockedWorkers) {
  WorkQueue q;
  std::optional<std::string> got = "unset";
  std::thread worker([&] { got = q.get(); });
  q.shutdown();
  worker.join();
  EXPECT_FALSE(got.has_value());
  q.add("ignored");
  EXPECT_EQ(q.depth(), 0u);
}
