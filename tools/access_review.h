// AccessReviewer: may the run's requester make this read? Asks the API
// server with a SubjectAccessReview (authorization.k8s.io/v1) for the exact
// verb, resource, subresource, namespace and name, as the operator's own
// identity (it needs `create subjectaccessreviews`). Decisions are cached for
// a short time by the whole identity (name, UID, groups, extra) and the exact
// request, as the API server's own webhook authorizer caches them: a run
// re-reading the same pod, or a requester's next runs, cost no new review,
// and a permission granted or revoked takes effect within the TTL.
//
// Thread-safe: one reviewer serves every worker.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "agent/requester.h"
#include "operator/kube/client.h"

namespace opscopilot::tools {

struct AccessAttributes {
  std::string verb;         // get, list
  std::string group;        // "" for the core group
  std::string resource;     // pods
  std::string subresource;  // log
  std::string ns;           // empty for cluster-scoped
  std::string name;         // empty for a list
};

struct AccessVerdict {
  bool allowed = false;
  std::string reason;  // the authorizer's reason, when it gave one
  bool cached = false; // reused: no request was sent for it
};

class AccessReviewer {
 public:
  struct Options {
    std::size_t maxEntries = 4096;               // decisions kept, all runs together
    std::chrono::milliseconds ttl{30000};        // how long a decision is reused
  };
  AccessReviewer(std::shared_ptr<kube::Client> client, Options options);
  explicit AccessReviewer(std::shared_ptr<kube::Client> client) : AccessReviewer(std::move(client), Options{}) {}

  // The decision for `who` making the request described by `attrs`. An
  // error when the review itself could not be made (the caller must then
  // treat the read as refused: fail closed).
  kube::Result<AccessVerdict> review(const agent::Requester& who, const AccessAttributes& attrs,
                                     std::chrono::milliseconds timeout);

  // SubjectAccessReviews sent since creation (for tests and benchmarks).
  std::uint64_t reviewsSent() const;

 private:
  struct Entry {
    AccessVerdict verdict;
    std::chrono::steady_clock::time_point expires;
  };
  std::shared_ptr<kube::Client> client_;
  Options options_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> cache_;
  std::deque<std::string> order_;  // insertion order, for eviction
  std::uint64_t sent_ = 0;
};

// The SubjectAccessReview request body for who and attrs (for tests).
std::string subjectAccessReviewJson(const agent::Requester& who, const AccessAttributes& attrs);

}  // namespace opscopilot::tools
