// Where the action tools (notify, create_ticket) send: the destinations the
// operator config names (actions.destinations), with their credentials read
// from Secrets at start. Never from a run's spec or a model: a run names a
// destination, and only one configured for its namespace. Built once at
// start; read-only afterwards, so every worker shares it without a lock.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "operator/net/http_transport.h"

namespace opscopilot::tools {

struct ActionDestination {
  std::string name;
  std::string tool;  // "notify" or "create_ticket"
  // notify: "slack" (a Slack-compatible incoming webhook: {"text": ...}) or
  // "webhook" (generic JSON); create_ticket: "github" (the GitHub issues
  // API, or one compatible with it) or "webhook".
  std::string type;
  std::string display;        // scheme://host[:port], for messages (a Slack URL's path is a credential)
  std::string target;         // the path (and query) to POST to
  std::string authorization;  // "Bearer TOKEN" from the configured Secret, or ""
  std::string repository;     // github: "owner/repo"
  std::vector<std::string> namespaces;  // runs of these namespaces may use it; empty: every namespace
  std::shared_ptr<net::HttpTransport> transport;

  bool allows(const std::string& ns) const {
    if (namespaces.empty()) return true;
    for (const auto& n : namespaces) {
      if (n == ns) return true;
    }
    return false;
  }
};

class ActionDestinations {
 public:
  void add(ActionDestination d) {
    auto name = d.name;
    byName_[name] = std::make_shared<const ActionDestination>(std::move(d));
  }
  const ActionDestination* find(const std::string& name) const {
    auto it = byName_.find(name);
    return it == byName_.end() ? nullptr : it->second.get();
  }

 private:
  std::map<std::string, std::shared_ptr<const ActionDestination>> byName_;
};

}  // namespace opscopilot::tools
