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
#include <unordered_set>
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

  // What an index files an object under (client-go's IndexFunc): none, one
  // or more values.
  using IndexFunc = std::function<std::vector<std::string>(const Object&)>;
  // Adds an index, kept as the cache changes; call before start(). A
  // namespace index is built in (listIn).
  void addIndex(const std::string& name, IndexFunc fn);
  // The cached objects the index files under value; none for an index not
  // added. Costs what it returns, not the cache's size.
  std::vector<ObjectPtr> byIndex(const std::string& name, const std::string& value) const;
  // The cached objects of one namespace.
  std::vector<ObjectPtr> listIn(const std::string& ns) const { return byIndex(kNamespaceIndex, ns); }
  static constexpr const char* kNamespaceIndex = "namespace";

  const Watcher& watcher() const { return watcher_; }

 private:
  void onSync(std::vector<ObjectPtr> items, const std::string& resourceVersion) override;
  void onEvent(const WatchEvent& event) override;
  void onError(const Error& error) override;

  Watcher watcher_;
  std::vector<EventHandlers> handlers_;
  // Index upkeep, under storeMu_ held exclusively.
  void indexAdd(const std::string& key, const Object& obj);
  void indexRemove(const std::string& key, const Object& obj);

  struct Index {
    IndexFunc fn;
    std::unordered_map<std::string, std::unordered_set<std::string>> keys;  // value -> object keys
  };
  mutable std::shared_mutex storeMu_;
  std::unordered_map<std::string, ObjectPtr> store_;
  std::unordered_map<std::string, Index> indices_;
  mutable std::mutex syncMu_;
  mutable std::condition_variable syncCv_;
  bool synced_ = false;
  net::Cancellation cancel_;
  std::thread thread_;
};

}  // namespace opscopilot::kube
