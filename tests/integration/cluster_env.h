// Access to the real local control plane that hack/cluster.sh runs, for
// integration tests. The tests fail (they do not skip) when it is not up.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "operator/kube/client.h"

namespace opscopilot::test {

// The state directory of hack/cluster.sh ($OPSCOPILOT_CLUSTER_DIR).
std::string clusterDir();
// The repository root (to run hack/cluster.sh).
std::string repoRoot();
// A client for the admin user, or for "alice" / "bob" (unprivileged).
std::shared_ptr<kube::Client> clientFor(const std::string& user = "admin");
// Creates a namespace with a unique name starting with prefix; deleted by
// deleteNamespace (tests call it in TearDown).
std::string createNamespace(const std::string& prefix);
void deleteNamespace(const std::string& name);
// Runs a shell command; returns its exit code and puts its output in *out.
int run(const std::string& command, std::string* out = nullptr);

// Polls cond every few milliseconds until it holds or the deadline passes.
bool waitFor(const std::function<bool()>& cond, std::chrono::milliseconds deadline = std::chrono::seconds(30));

}  // namespace opscopilot::test
