#include "operator/kube/informer.h"

namespace opscopilot::kube {

Informer::Informer(std::shared_ptr<Client> client, WatcherOptions options)
    : watcher_(std::move(client), std::move(options)) {}

Informer::~Informer() { stop(); }

void Informer::addHandlers(EventHandlers handlers) { handlers_.push_back(std::move(handlers)); }

void Informer::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { watcher_.run(*this, cancel_); });
}

void Informer::stop() {
  cancel_.cancel();
  if (thread_.joinable()) thread_.join();
}

bool Informer::hasSynced() const {
  std::lock_guard lock(syncMu_);
  return synced_;
}

bool Informer::waitForSync(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(syncMu_);
  return syncCv_.wait_for(lock, timeout, [this] { return synced_; });
}

ObjectPtr Informer::get(const std::string& key) const {
  std::shared_lock lock(storeMu_);
  auto it = store_.find(key);
  return it == store_.end() ? nullptr : it->second;
}

std::vector<ObjectPtr> Informer::list() const {
  std::shared_lock lock(storeMu_);
  std::vector<ObjectPtr> out;
  out.reserve(store_.size());
  for (const auto& [k, v] : store_) out.push_back(v);
  return out;
}

std::size_t Informer::size() const {
  std::shared_lock lock(storeMu_);
  return store_.size();
}

void Informer::onSync(std::vector<ObjectPtr> items, const std::string&) {
  // A relist replaces the cache; the differences become ordinary events so
  // handlers see deletions that happened while the watch was down.
  std::vector<ObjectPtr> added, deleted;
  std::vector<std::pair<ObjectPtr, ObjectPtr>> updated;
  {
    std::unique_lock lock(storeMu_);
    std::unordered_map<std::string, ObjectPtr> next;
    next.reserve(items.size());
    for (auto& item : items) {
      auto key = item->key();
      auto it = store_.find(key);
      if (it == store_.end()) {
        added.push_back(item);
      } else if (it->second->resourceVersion() != item->resourceVersion()) {
        updated.emplace_back(it->second, item);
      }
      next.emplace(std::move(key), std::move(item));
    }
    for (const auto& [key, obj] : store_) {
      if (!next.count(key)) deleted.push_back(obj);
    }
    store_.swap(next);
  }
  for (const auto& h : handlers_) {
    for (const auto& o : added) if (h.onAdd) h.onAdd(o);
    for (const auto& [o, n] : updated) if (h.onUpdate) h.onUpdate(o, n);
    for (const auto& o : deleted) if (h.onDelete) h.onDelete(o);
  }
  {
    std::lock_guard lock(syncMu_);
    synced_ = true;
  }
  syncCv_.notify_all();
}

void Informer::onEvent(const WatchEvent& event) {
  auto key = event.object->key();
  ObjectPtr old;
  {
    std::unique_lock lock(storeMu_);
    auto it = store_.find(key);
    if (it != store_.end()) old = it->second;
    if (event.type == WatchEventType::Deleted) {
      if (it != store_.end()) store_.erase(it);
    } else {
      store_[key] = event.object;
    }
  }
  for (const auto& h : handlers_) {
    if (event.type == WatchEventType::Deleted) {
      if (h.onDelete) h.onDelete(event.object);
    } else if (old) {
      if (h.onUpdate) h.onUpdate(old, event.object);
    } else if (h.onAdd) {
      h.onAdd(event.object);
    }
  }
}

void Informer::onError(const Error&) {}

}  // namespace opscopilot::kube
