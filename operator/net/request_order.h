// The order in which requests that wait for a pooled connection are served.
// A thread carries an order key: the start of the run it works for, set by
// the node pool around each node (and carried into a node's reads that go
// out together). A connection that comes free goes to the waiting request
// with the smallest key, so under a burst the oldest runs' requests go
// first and runs finish in about the order they came, each soon, instead of
// all of them sharing the API server and finishing late together. A thread
// working for no run (leader election, informers, reconcile workers) has
// the smallest key of all: its requests go first.
//
// Header only: the agent's graph carries the key into its own threads
// without linking the transport.
#pragma once

#include <chrono>

namespace opscopilot::net {

using RequestOrder = std::chrono::steady_clock::time_point;

namespace detail {
inline thread_local RequestOrder requestOrder = RequestOrder::min();
}

// The key of requests made on this thread now.
inline RequestOrder currentRequestOrder() { return detail::requestOrder; }

// Sets this thread's key for its lifetime, then restores the one before.
class RequestOrderScope {
 public:
  explicit RequestOrderScope(RequestOrder order) : before_(detail::requestOrder) { detail::requestOrder = order; }
  ~RequestOrderScope() { detail::requestOrder = before_; }
  RequestOrderScope(const RequestOrderScope&) = delete;
  RequestOrderScope& operator=(const RequestOrderScope&) = delete;

 private:
  RequestOrder before_;
};

}  // namespace opscopilot::net
