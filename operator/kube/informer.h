// Informer: a Watcher feeding a local cache of one collection, with add,
// update and delete handlers and a "synced" signal. The cache is what a
// reconciler reads; handlers should only enqueue work.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "operator/kube/watcher.h"

namespace opscopilot::kube {

struct EventHandlers {
  std::function<void(const ObjectPtr&)> onAdd;
  std::function<void(const ObjectPtr& oldObj, const ObjectPtr& newObj)> onUpdate;
  std::function<void(const ObjectPtr&)> onDelete;  // the last known state
};

class Informer final : private WatchSink {
 public:
  Informer(std::shared_ptr<Client> client, WatcherOptions options);
  ~Informer() override;  // stops

  // Adds handlers; call before start(). Handlers run on the informer's thread.
  void addHandlers(EventHandlers handlers);
  // Starts listing and watching on a thread of its own.
  void start();
  // Stops the watch and joins the thread. Idempotent.
  void stop();

  // True once the first list has been applied to the cache.
  bool hasSynced() const;
  // Waits until synced; false when the timeout passed first.
  bool waitForSync(std::chrono::milliseconds timeout) const;

  // The cached object for "namespace/name" (or "name"), or nullptr.
  ObjectPtr get(const std::string& key) const;
  std::vector<ObjectPtr> list() const;
  std::size_t size() const;

  const Watcher& watcher() const { return watcher_; }

 private:
  void onSync(std::vector<ObjectPtr> items, const std::string& resourceVersion) override;
  void onEvent(const WatchEvent& event) override;
  void onError(const Error& error) override;

  Watcher watcher_;
  std::vector<EventHandlers> handlers_;
  mutable std::shared_mutex storeMu_;
  std::unordered_map<std::string, ObjectPtr> store_;
  mutable std::mutex syncMu_;
  mutable std::condition_variable syncCv_;
  bool synced_ = false;
  net::Cancellation cancel_;
  std::thread thread_;
};

}  // namespace opscopilot::kube
