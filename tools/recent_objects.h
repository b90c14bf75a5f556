// RecentObjects: the objects one run's reads returned, for its later steps.
// A step that needs a pod the run listed a moment ago (get_pod_logs reading
// which containers exist) takes that copy instead of asking the API server
// again. What is kept was read as the run's reader identity, and a step
// taking it still passes the requester check, so nothing is seen that the
// step could not read itself. Each object is kept for at most kMaxAge and
// at most kMaxObjects at once; lists of more than kMaxObjects are not kept.
// Whole lists are kept too (at most kMaxLists, by who read them, where and
// with which selectors: listKeyFor), so a list read ahead (Tool::warmUp) is
// not read again by the step that needs it.
//
// Thread safety: every member may be called from any thread (the steps of a
// batch run at once).
#pragma once

#include <chrono>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/tool.h"
#include "operator/kube/object.h"

namespace opscopilot::tools {

class RecentObjects final : public agent::RunScratch {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kMaxObjects = 32;
  static constexpr Clock::duration kMaxAge = std::chrono::seconds(5);

  // Keeps what one read returned (key: resource/name; see keyFor).
  void keep(const std::vector<std::pair<std::string, kube::ObjectPtr>>& objects, Clock::time_point now = Clock::now());
  // The object read under key within maxAge (at most kMaxAge), or null.
  kube::ObjectPtr find(const std::string& key, Clock::duration maxAge, Clock::time_point now = Clock::now()) const;

  static std::string keyFor(std::string_view resource, std::string_view name) {
    return std::string(resource) + "/" + std::string(name);
  }

  static constexpr std::size_t kMaxLists = 4;
  // Keeps a whole list (every page; at most kMaxObjects items) under key.
  void keepList(const std::string& key, std::vector<kube::ObjectPtr> items, Clock::time_point now = Clock::now());
  // The list kept under key within maxAge (at most kMaxAge), or nullopt.
  std::optional<std::vector<kube::ObjectPtr>> findList(const std::string& key, Clock::duration maxAge,
                                                       Clock::time_point now = Clock::now()) const;
  // A list's key: the identity it was read as, its namespace, resource and
  // selectors.
  static std::string listKeyFor(std::string_view reader, std::string_view ns, std::string_view resource,
                                std::string_view labelSelector, std::string_view fieldSelector);

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::pair<Clock::time_point, kube::ObjectPtr>> objects_;
  std::map<std::string, std::pair<Clock::time_point, std::vector<kube::ObjectPtr>>> lists_;
};

}  // namespace opscopilot::tools
