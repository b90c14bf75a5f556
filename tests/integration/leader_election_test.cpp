// Leader election on a real Lease.
#include <gtest/gtest.h>

#include "cluster_env.h"
#include "operator/controller/leader_election.h"

using namespace opscopilot;
using namespace opscopilot::controller;
using namespace opscopilot::test;

TEST(LeaderElection, OneHolderAtATimeAndAReleasedLeaseIsTakenAtOnce) {
  auto client = clientFor("admin");
  ASSERT_NE(client, nullptr);
  auto ns = createNamespace("lease");
  LeaderElector a(client, ns, "opscopilot-leader", "a");
  LeaderElector b(client, ns, "opscopilot-leader", "b");
  ASSERT_TRUE(a.tryAcquireOrRenew());
  EXPECT_FALSE(b.tryAcquireOrRenew()) << "the lease is held and fresh";
  EXPECT_TRUE(a.tryAcquireOrRenew()) << "the holder renews";
  a.release();
  EXPECT_TRUE(b.tryAcquireOrRenew()) << "a released lease is free";
  EXPECT_FALSE(a.tryAcquireOrRenew());
  auto lease = client->get(kube::resources::kLeases, ns, "opscopilot-leader");
  ASSERT_TRUE(lease.ok());
  EXPECT_EQ((*lease)->stringAt({"spec", "holderIdentity"}), "b");
  EXPECT_EQ((*lease)->intAt({"spec", "leaseTransitions"}), 1);
  deleteNamespace(ns);
}

TEST(LeaderElection, AnExpiredLeaseIsTakenOver) {
  auto client = clientFor("admin");
  ASSERT_NE(client, nullptr);
  auto ns = createNamespace("lease");
  LeaderElectionOptions shortLease;
  shortLease.leaseDuration = std::chrono::seconds(1);
  LeaderElector a(client, ns, "opscopilot-leader", "a", shortLease);
  LeaderElector b(client, ns, "opscopilot-leader", "b", shortLease);
  ASSERT_TRUE(a.tryAcquireOrRenew());
  // a stops renewing (it died); b gets the lease once it expired.
  EXPECT_TRUE(waitFor([&] { return b.tryAcquireOrRenew(); }, std::chrono::seconds(10)));
  EXPECT_FALSE(a.tryAcquireOrRenew());
  deleteNamespace(ns);
}
