// Watcher: keeps one list+watch of a collection alive (the client-go
// "reflector"). It lists, watches from the list's resourceVersion, resumes
// from the last seen resourceVersion (events and bookmarks) after any
// disconnect, relists after 410 Gone, and backs off with jitter on errors.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "operator/kube/client.h"
#include "operator/kube/watch_decoder.h"
#include "operator/net/cancellation.h"

namespace opscopilot::kube {

struct WatcherOptions {
  ResourceRef resource;
  std::string ns;  // empty: all namespaces
  std::string labelSelector;
  std::string fieldSelector;
  std::int64_t pageSize = 500;
  std::chrono::seconds minWatchTimeout{300};  // server ends each watch after [min, 2*min)
  std::chrono::milliseconds idleTimeout{180000};
  std::chrono::milliseconds backoffInitial{200};
  std::chrono::milliseconds backoffMax{30000};
  RequestOptions request;
  // When set, the first watch starts from this resourceVersion without a
  // list; a 410 then leads to a list as usual.
  std::string initialResourceVersion;
  // Replaces every listed or watched object before the sink sees it (for
  // example to drop fields nobody reads from a cache). Applied page by page,
  // so a large list never holds all its full objects at once.
  std::function<ObjectPtr(const ObjectPtr&)> transform;
};

// What a Watcher reports. Calls come from the thread running Watcher::run.
class WatchSink {
 public:
  virtual ~WatchSink() = default;
  // The complete state after a (re)list.
  virtual void onSync(std::vector<ObjectPtr> items, const std::string& resourceVersion) = 0;
  // One ADDED, MODIFIED or DELETED event.
  virtual void onEvent(const WatchEvent& event) = 0;
  // A failed list or watch, before the backoff wait (for logs and metrics).
  virtual void onError(const Error&) {}
};

class Watcher {
 public:
  Watcher(std::shared_ptr<Client> client, WatcherOptions options);

  // Lists and watches until cancel fires; never returns earlier.
  void run(WatchSink& sink, net::Cancellation& cancel);

  std::string lastResourceVersion() const;
  std::uint64_t listCount() const { return lists_.load(); }
  std::uint64_t watchCount() const { return watches_.load(); }

 private:
  std::chrono::milliseconds jittered(std::chrono::milliseconds d);

  std::shared_ptr<Client> client_;
  WatcherOptions opts_;
  std::mt19937_64 rng_;
  mutable std::mutex mu_;
  std::string rv_;
  std::atomic<std::uint64_t> lists_{0};
  std::atomic<std::uint64_t> watches_{0};
};

}  // namespace opscopilot::kube
