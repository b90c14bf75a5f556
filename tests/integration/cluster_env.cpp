#include "cluster_env.h"

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

namespace opscopilot::test {

std::string clusterDir() {
  if (const char* d = std::getenv("OPSCOPILOT_CLUSTER_DIR"); d && *d) return d;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/root") + "/.cache/opscopilot/cluster";
}

std::string repoRoot() {
#ifdef OPSCOPILOT_SOURCE_DIR
  return OPSCOPILOT_SOURCE_DIR;
#else
  return std::filesystem::current_path().string();
#endif
}

std::shared_ptr<kube::Client> clientFor(const std::string& user) {
  static std::mutex mu;
  static std::map<std::string, std::shared_ptr<kube::Client>> clients;
  std::lock_guard lock(mu);
  if (auto it = clients.find(user); it != clients.end()) return it->second;
  std::string path = clusterDir() + (user == "admin" ? "/kubeconfig" : "/kubeconfig-" + user);
  auto cfg = kube::loadKubeconfig(path);
  if (!cfg.ok()) {
    ADD_FAILURE() << "the local control plane is not up (run hack/cluster.sh up): " << cfg.error().message;
    return nullptr;
  }
  auto c = kube::Client::create(*cfg);
  if (!c.ok()) {
    ADD_FAILURE() << c.error().message;
    return nullptr;
  }
  clients[user] = *c;
  return *c;
}

std::string createNamespace(const std::string& prefix) {
  static std::atomic<int> counter{0};
  std::string name = prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
  auto c = clientFor("admin");
  if (!c) return name;
  auto r = c->create(kube::resources::kNamespaces, "",
                     agent::redactJsonBody(R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":")" + name + R"("}})"));
  EXPECT_TRUE(r.ok()) << r.error().toString();
  // The namespace is usable once the service account controller made "default".
  return name;
}

void deleteNamespace(const std::string& name) {
  if (auto c = clientFor("admin")) (void)c->remove(kube::resources::kNamespaces, "", name);
}

int run(const std::string& command, std::string* out) {
  std::string full = command + " 2>&1";
  FILE* p = popen(full.c_str(), "r");
  if (!p) return -1;
  std::array<char, 4096> buf;
  std::string text;
  while (auto n = fread(buf.data(), 1, buf.size(), p)) text.append(buf.data(), n);
  int status = pclose(p);
  if (out) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

bool waitFor(const std::function<bool()>& cond, std::chrono::milliseconds deadline) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < end) {
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return cond();
}

}  // namespace opscopilot::test
