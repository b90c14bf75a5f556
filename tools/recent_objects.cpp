#include "tools/recent_objects.h"

#include <algorithm>

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

}  // namespace opscopilot::tools
