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

TEST(LeaderElection, ExpiryIsJudgedByLocalObservationNotTheHoldersClock) {
  auto client = clientFor("admin");
  ASSERT_NE(client, nullptr);
  auto ns = createNamespace("lease-skew");
  // A holder whose clock runs an hour behind ours: by its renewTime the lease
  // looks long expired, but a candidate must first see it unchanged for a
  // whole lease duration.
  ASSERT_TRUE(client
                  ->create(kube::resources::kLeases, ns,
                           agent::redactJsonBody(R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"opscopilot-leader"},
                               "spec":{"holderIdentity":"skewed","leaseDurationSeconds":2,
                                       "renewTime":"2000-01-01T00:00:00.000000Z"}})"))
                  .ok());
  LeaderElectionOptions opts;
  opts.leaseDuration = std::chrono::seconds(2);
  LeaderElector b(client, ns, "opscopilot-leader", "b", opts);
  EXPECT_FALSE(b.tryAcquireOrRenew()) << "taken over on the holder's timestamp alone";
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(waitFor([&] { return b.tryAcquireOrRenew(); }, std::chrono::seconds(10)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  deleteNamespace(ns);
}
