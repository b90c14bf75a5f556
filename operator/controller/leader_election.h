// LeaderElector: leader election on a coordination.k8s.io Lease, as
// client-go does it: the holder renews the lease; another candidate takes it
// over only once renewTime + leaseDuration has passed; the holder releases
// it on a clean shutdown so a standby takes over at once.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "operator/kube/client.h"
#include "operator/net/cancellation.h"

namespace opscopilot::controller {

struct LeaderElectionOptions {
  std::chrono::seconds leaseDuration{15};
  std::chrono::seconds renewDeadline{10};
  std::chrono::seconds retryPeriod{2};
};

// Thread safety: used by one thread (the manager's election loop); not safe
// to share.
class LeaderElector {
 public:
  LeaderElector(std::shared_ptr<kube::Client> client, std::string ns, std::string name, std::string identity,
                LeaderElectionOptions options = {});

  // One attempt to acquire or renew. True when this candidate holds the lease.
  bool tryAcquireOrRenew();
  // Tries every retryPeriod until it leads (true) or stop fires (false).
  bool acquire(net::Cancellation& stop);
  // Renews every retryPeriod until stop fires; returns false as soon as
  // renewal has failed for longer than renewDeadline (leadership lost).
  bool keepRenewing(net::Cancellation& stop);
  // Gives the lease up (holder cleared, duration 1 s) if this candidate holds it.
  void release();

  const std::string& identity() const { return identity_; }

 private:
  std::shared_ptr<kube::Client> client_;
  std::string ns_, name_, identity_;
  LeaderElectionOptions opts_;
  // As client-go: another holder's lease counts as expired only when this
  // process has seen it unchanged for a whole lease duration on its own
  // monotonic clock. The holder's renewTime is never compared with our
  // clock, so clock skew between nodes cannot hand the lease over early.
  std::string observedRecord_;  // holder and renewTime last seen
  std::chrono::steady_clock::time_point observedAt_{};
};

}  // namespace opscopilot::controller
