#include "tools/recent_objects.h"

#include <algorithm>
#include <string>

namespace opscopilot::tools {

void RecentObjects::keep(const std::vector<std::pair<std::string, kube::ObjectPtr>>& objects, Clock::time_point now) {
  if (objects.empty() || objects.size() > kMaxObjects) return;
  std::lock_guard lock(mu_);
  std::erase_if(objects_, [&](const auto& e) { return now - e.second.first >= kMaxAge; });
  for (const auto& [key, object] : objects) objects_[key] = {now, object};
  while (objects_.size() > kMaxObjects) {
    objects_.erase(std::min_element(objects_.begin(), objects_.end(), [](const auto& a, const auto& b) {
      return a.second.first < b.second.first;
    }));
  }
}

kube::ObjectPtr RecentObjects::find(const std::string& key, Clock::duration maxAge, Clock::time_point now) const {
  std::lock_guard lock(mu_);
  auto it = objects_.find(key);
  if (it == objects_.end() || now - it->second.first >= std::min(maxAge, kMaxAge)) return nullptr;
  return it->second.second;
}

void RecentObjects::keepList(const std::string& key, std::vector<kube::ObjectPtr> items, Clock::time_point now) {
  if (items.size() > kMaxObjects) return;
  std::lock_guard lock(mu_);
  std::erase_if(lists_, [&](const auto& e) { return now - e.second.first >= kMaxAge; });
  lists_[key] = {now, std::move(items)};
  while (lists_.size() > kMaxLists) {
    lists_.erase(std::min_element(lists_.begin(), lists_.end(), [](const auto& a, const auto& b) {
      return a.second.first < b.second.first;
    }));
  }
}

std::optional<std::vector<kube::ObjectPtr>> RecentObjects::findList(const std::string& key, Clock::duration maxAge,
                                                                    Clock::time_point now) const {
  std::lock_guard lock(mu_);
  auto it = lists_.find(key);
  if (it == lists_.end() || now - it->second.first >= std::min(maxAge, kMaxAge)) return std::nullopt;
  return it->second.second;
}

std::string RecentObjects::listKeyFor(std::string_view reader, std::string_view ns, std::string_view resource,
                                      std::string_view labelSelector, std::string_view fieldSelector) {
  // Each part after its length: no two lists share a key, whatever the
  // selectors hold.
  std::string key;
  for (auto part : {reader, ns, resource, labelSelector, fieldSelector}) {
    key.append(std::to_string(part.size())).push_back(':');
    key.append(part);
  }
  return key;
}

}  // namespace opscopilot::tools
