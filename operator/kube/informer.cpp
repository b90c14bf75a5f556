#include "operator/kube/informer.h"

namespace opscopilot::kube {

Informer::Informer(std::shared_ptr<Client> client, WatcherOptions options)
    : watcher_(std::move(client), std::move(options)) {
  addIndex(kNamespaceIndex, [](const Object& o) { return std::vector<std::string>{std::string(o.ns())}; });
}

void Informer::addIndex(const std::string& name, IndexFunc fn) {
  std::unique_lock lock(storeMu_);
  auto& index = indices_[name];
  index.fn = std::move(fn);
  index.keys.clear();
  for (const auto& [key, obj] : store_) {
    for (auto& v : index.fn(*obj)) index.keys[std::move(v)].insert(key);
  }
}

std::vector<ObjectPtr> Informer::byIndex(const std::string& name, const std::string& value) const {
  std::shared_lock lock(storeMu_);
  std::vector<ObjectPtr> out;
  auto index = indices_.find(name);
  if (index == indices_.end()) return out;
  auto keys = index->second.keys.find(value);
  if (keys == index->second.keys.end()) return out;
  out.reserve(keys->second.size());
  for (const auto& key : keys->second) {
    if (auto it = store_.find(key); it != store_.end()) out.push_back(it->second);
  }
  return out;
}

void Informer::indexAdd(const std::string& key, const Object& obj) {
  for (auto& [name, index] : indices_) {
    for (auto& v : index.fn(obj)) index.keys[std::move(v)].insert(key);
  }
}

void Informer::indexRemove(const std::string& key, const Object& obj) {
  for (auto& [name, index] : indices_) {
    for (const auto& v : index.fn(obj)) {
      auto it = index.keys.find(v);
      if (it == index.keys.end()) continue;
      it->second.erase(key);
      if (it->second.empty()) index.keys.erase(it);
    }
  }
}

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
    for (auto& [name, index] : indices_) index.keys.clear();
    for (const auto& [key, obj] : store_) indexAdd(key, *obj);
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
    if (it != store_.end()) {
      old = it->second;
      indexRemove(key, *old);
    }
    if (event.type == WatchEventType::Deleted) {
      if (it != store_.end()) store_.erase(it);
    } else {
      store_[key] = event.object;
      indexAdd(key, *event.object);
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
