#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "fake_transport.h"
#include "operator/kube/client.h"
#include "operator/kube/config.h"

using namespace opscopilot;
using namespace opscopilot::kube;
namespace fs = std::filesystem;

namespace {

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("opscopilot-test-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  fs::path write(const std::string& name, const std::string& content) const {
    auto p = path_ / name;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << content;
    return p;
  }
  const fs::path& path() const { return path_; }

 private:
  static inline int counter_ = 0;
  fs::path path_;
};

// base64 of "CA-PEM", "CERT-PEM", "KEY-PEM"
constexpr const char* kKubeconfig = R"(apiVersion: v1
kind: Config
current-context: admin
clusters:
- name: local
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: Q0EtUEVN
- name: other
  cluster:
    server: https://example.invalid:8443/prefix
    certificate-authority: certs/ca.crt
    tls-server-name: kubernetes
- name: insecure
  cluster:
    server: https://10.0.0.1:6443
    insecure-skip-tls-verify: true
contexts:
- name: admin
  context: {cluster: local, user: admin, namespace: shop}
- name: files
  context: {cluster: other, user: fileuser}
- name: tokens
  context: {cluster: insecure, user: tokenuser}
- name: broken
  context: {cluster: nowhere, user: admin}
- name: plugin
  context: {cluster: local, user: execuser}
users:
- name: admin
  user:
    client-certificate-data: Q0VSVC1QRU0=
    client-key-data: S0VZLVBFTQ==
- name: fileuser
  user:
    client-certificate: certs/client.crt
    client-key: certs/client.key
- name: tokenuser
  user:
    token: s3cr3t
- name: execuser
  user:
    exec: {command: aws, apiVersion: client.authentication.k8s.io/v1}
)";

}  // namespace

TEST(Kubeconfig, LoadsCurrentContextWithInlineData) {
  TempDir dir;
  auto cfg = loadKubeconfig(dir.write("config", kKubeconfig).string());
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://127.0.0.1:6443");
  EXPECT_EQ(cfg->caPem, "CA-PEM");
  EXPECT_EQ(cfg->clientCertPem, "CERT-PEM");
  EXPECT_EQ(cfg->clientKeyPem, "KEY-PEM");
  EXPECT_EQ(cfg->defaultNamespace, "shop");
  EXPECT_FALSE(cfg->insecureSkipTLSVerify);
}

TEST(Kubeconfig, ContextOverrideAndFilesRelativeToTheKubeconfig) {
  TempDir dir;
  dir.write("certs/ca.crt", "FILE-CA");
  dir.write("certs/client.crt", "FILE-CERT");
  dir.write("certs/client.key", "FILE-KEY");
  auto cfg = loadKubeconfig(dir.write("config", kKubeconfig).string(), "files");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://example.invalid:8443/prefix");
  EXPECT_EQ(cfg->caPem, "FILE-CA");
  EXPECT_EQ(cfg->clientCertPem, "FILE-CERT");
  EXPECT_EQ(cfg->clientKeyPem, "FILE-KEY");
  EXPECT_EQ(cfg->tlsServerName, "kubernetes");
  EXPECT_EQ(cfg->defaultNamespace, "default");
}

TEST(Kubeconfig, TokenAndInsecureSkipVerifyOnlyWhenSet) {
  TempDir dir;
  auto cfg = loadKubeconfig(dir.write("config", kKubeconfig).string(), "tokens");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->bearerToken, "s3cr3t");
  EXPECT_TRUE(cfg->insecureSkipTLSVerify);
}

TEST(Kubeconfig, ClearErrors) {
  TempDir dir;
  auto path = dir.write("config", kKubeconfig).string();
  auto missing = loadKubeconfig((dir.path() / "nope").string());
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().reason, "InvalidConfig");
  EXPECT_NE(missing.error().message.find("cannot be read"), std::string::npos);

  auto noContext = loadKubeconfig(path, "staging");
  ASSERT_FALSE(noContext.ok());
  EXPECT_NE(noContext.error().message.find("no context named \"staging\""), std::string::npos);

  auto broken = loadKubeconfig(path, "broken");
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.error().message.find("unknown cluster \"nowhere\""), std::string::npos);

  auto plugin = loadKubeconfig(path, "plugin");
  ASSERT_FALSE(plugin.ok());
  EXPECT_NE(plugin.error().message.find("exec credential plugin"), std::string::npos);

  auto missingFiles = loadKubeconfig(path, "files");
  ASSERT_FALSE(missingFiles.ok());
  EXPECT_NE(missingFiles.error().message.find("certs/ca.crt"), std::string::npos);

  auto notYaml = loadKubeconfig(dir.write("bad", "clusters: [unclosed").string());
  ASSERT_FALSE(notYaml.ok());
  EXPECT_NE(notYaml.error().message.find("not valid YAML"), std::string::npos);
}

TEST(InCluster, ReadsServiceAccountFilesAndEnvironment) {
  TempDir dir;
  dir.write("token", "tok-1\n");
  dir.write("ca.crt", "SA-CA");
  dir.write("namespace", "opscopilot-system");
  std::map<std::string, std::string> env{{"KUBERNETES_SERVICE_HOST", "10.96.0.1"},
                                         {"KUBERNETES_SERVICE_PORT", "443"}};
  auto getenv = [&](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto cfg = loadInCluster(getenv, dir.path().string());
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://10.96.0.1:443");
  EXPECT_EQ(cfg->caPem, "SA-CA");
  EXPECT_EQ(cfg->defaultNamespace, "opscopilot-system");
  EXPECT_EQ(cfg->tokenFile, (dir.path() / "token").string());

  env.erase("KUBERNETES_SERVICE_HOST");
  auto outside = loadInCluster(getenv, dir.path().string());
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(outside.error().message.find("not running in a cluster"), std::string::npos);
}

TEST(InCluster, IPv6ServiceHostIsBracketed) {
  TempDir dir;
  dir.write("token", "t");
  dir.write("ca.crt", "c");
  auto cfg = loadInCluster(
      [](const std::string& k) -> std::optional<std::string> {
        return k == "KUBERNETES_SERVICE_HOST" ? "fd00::1" : "6443";
      },
      dir.path().string());
  ASSERT_TRUE(cfg.ok());
  EXPECT_EQ(cfg->server, "https://[fd00::1]:6443");
}

TEST(Client, RereadsTheTokenFileWhenItRotates) {
  TempDir dir;
  auto tokenPath = dir.write("token", "first\n");
  ClientConfig cfg;
  cfg.server = "https://127.0.0.1:1";
  cfg.tokenFile = tokenPath.string();
  auto transport = std::make_shared<test::FakeTransport>();
  transport->onRoundTrip = [](const net::HttpRequest&) {
    return net::Result<net::HttpResponse>(net::HttpResponse{200, {}, R"({"kind":"ConfigMap","metadata":{"name":"x"}})"});
  };
  Client client(cfg, transport);
  ASSERT_TRUE(client.get(resources::kConfigMaps, "ns", "x").ok());
  // The kubelet replaces the file; the client notices the new modification time.
  std::ofstream(tokenPath) << "second\n";
  fs::last_write_time(tokenPath, fs::last_write_time(tokenPath) + std::chrono::seconds(10));
  // The client checks the file at most every few seconds; make the check due.
  bool rotated = false;
  for (int i = 0; i < 100 && !rotated; ++i) {
    ASSERT_TRUE(client.get(resources::kConfigMaps, "ns", "x").ok());
    rotated = test::headerOf(transport->requests().back(), "Authorization") == "Bearer second";
    if (!rotated) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(test::headerOf(transport->requests().front(), "Authorization"), "Bearer first");
  EXPECT_TRUE(rotated);
}

TEST(Client, SendsImpersonationHeadersAndBuildsPaths) {
  ClientConfig cfg;
  cfg.server = "https://127.0.0.1:6443/base/";
  auto transport = std::make_shared<test::FakeTransport>();
  transport->onRoundTrip = [](const net::HttpRequest&) {
    return net::Result<net::HttpResponse>(net::HttpResponse{404, {}, R"({"kind":"Status","reason":"NotFound","message":"pods \"p\" not found","code":404})"});
  };
  Client client(cfg, transport);
  RequestOptions opts;
  opts.impersonate = Impersonation{"system:serviceaccount:shop:reader", {"system:serviceaccounts", "readers"}};
  auto r = client.get(resources::kPods, "shop", "p", opts);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().isNotFound());
  auto req = transport->requests().at(0);
  EXPECT_EQ(req.target, "/base/api/v1/namespaces/shop/pods/p");
  EXPECT_EQ(test::headerOf(req, "Impersonate-User"), "system:serviceaccount:shop:reader");
  int groups = 0;
  for (const auto& [k, v] : req.headers) groups += k == "Impersonate-Group";
  EXPECT_EQ(groups, 2);

  LogOptions lo;
  lo.container = "app";
  lo.previous = true;
  lo.tailLines = 50;
  lo.limitBytes = 4096;
  (void)client.podLogs("shop", "p", lo);
  EXPECT_EQ(transport->requests().back().target,
            "/base/api/v1/namespaces/shop/pods/p/log?container=app&previous=true&tailLines=50&limitBytes=4096");
  ResourceRef deploy{"apps", "v1", "deployments", true};
  (void)client.patch(deploy, "shop", "web", PatchType::Merge, agent::redactJsonBody(R"({"spec":{}})"), {}, "status");
  EXPECT_EQ(transport->requests().back().target, "/base/apis/apps/v1/namespaces/shop/deployments/web/status");
  EXPECT_EQ(test::headerOf(transport->requests().back(), "Content-Type"), "application/merge-patch+json");
}

TEST(Client, ListFollowsContinueTokensAndFillsItemKinds) {
  ClientConfig cfg;
  cfg.server = "https://127.0.0.1:6443";
  auto transport = std::make_shared<test::FakeTransport>();
  transport->onRoundTrip = [](const net::HttpRequest& r) {
    std::string body;
    if (r.target.find("continue=") == std::string::npos) {
      body = R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"10","continue":"tok"},
                 "items":[{"metadata":{"name":"a","namespace":"n"}}]})";
    } else {
      body = R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"11"},
                 "items":[{"metadata":{"name":"b","namespace":"n"}}]})";
    }
    return net::Result<net::HttpResponse>(net::HttpResponse{200, {}, body});
  };
  Client client(cfg, transport);
  ListOptions lo;
  lo.limit = 1;
  auto all = client.list(resources::kPods, "n", lo);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->items.size(), 2u);
  EXPECT_EQ(all->resourceVersion, "10");
  EXPECT_EQ(all->items[1]->kind(), "Pod");
  EXPECT_EQ(all->items[1]->apiVersion(), "v1");
  EXPECT_EQ(transport->requests().at(1).target, "/api/v1/namespaces/n/pods?limit=1&continue=tok");
}
