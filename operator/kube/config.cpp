#include "operator/kube/config.h"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace opscopilot::kube {

namespace fs = std::filesystem;

namespace {

Error invalid(std::string message) { return Error{0, "InvalidConfig", std::move(message)}; }

// The `field` mapping of the entry called `name` in a kubeconfig list
// (clusters, users, contexts), or nullopt.
std::optional<YAML::Node> findNamed(const YAML::Node& list, const std::string& name, const char* field) {
  if (!list || !list.IsSequence()) return std::nullopt;
  for (const auto& item : list) {
    if (item["name"] && item["name"].as<std::string>() == name) {
      YAML::Node v = item[field];
      if (v.IsDefined() && v.IsMap()) return v;
      if (v.IsDefined() && v.IsNull()) return YAML::Node(YAML::NodeType::Map);
    }
  }
  return std::nullopt;
}

std::string str(const YAML::Node& n, const char* key) {
  const auto v = n[key];
  return v && v.IsScalar() ? v.as<std::string>() : std::string();
}

// Reads either KEY-data (base64) or KEY (a file path relative to baseDir).
Result<std::string> dataOrFile(const YAML::Node& n, const std::string& key, const fs::path& baseDir,
                               const std::string& what) {
  if (auto data = str(n, (key + "-data").c_str()); !data.empty()) {
    auto decoded = base64Decode(data);
    if (!decoded) return invalid(what + ": " + key + "-data is not valid base64");
    return *decoded;
  }
  if (auto file = str(n, key.c_str()); !file.empty()) {
    fs::path p(file);
    if (p.is_relative()) p = baseDir / p;
    auto content = readFile(p.string());
    if (!content.ok()) return invalid(what + ": " + content.error().message);
    return content;
  }
  return std::string();
}

}  // namespace

std::optional<std::string> base64Decode(const std::string& in) {
  static const auto table = [] {
    std::array<int, 256> t{};
    t.fill(-1);
    const std::string chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (std::size_t i = 0; i < chars.size(); ++i) t[static_cast<unsigned char>(chars[i])] = static_cast<int>(i);
    return t;
  }();
  std::string out;
  int val = 0, bits = -8;
  for (unsigned char c : in) {
    if (c == '=' || c == '\n' || c == '\r' || c == ' ') continue;
    if (table[c] < 0) return std::nullopt;
    val = (val << 6) + table[c];
    bits += 6;
    if (bits >= 0) {
      out.push_back(static_cast<char>((val >> bits) & 0xFF));
      bits -= 8;
    }
  }
  return out;
}

Result<std::string> readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalid("cannot read " + path);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

Result<ClientConfig> loadKubeconfig(const std::string& path, const std::string& contextOverride) {
  auto text = readFile(path);
  if (!text.ok()) return invalid("kubeconfig " + path + " cannot be read");
  return parseKubeconfig(*text, path, contextOverride);
}

Result<ClientConfig> parseKubeconfig(const std::string& yaml, const std::string& path, const std::string& contextOverride) {
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return invalid("kubeconfig " + path + " is not valid YAML: " + e.what());
  }
  if (!root.IsMap()) return invalid("kubeconfig " + path + " is not a YAML mapping");
  const fs::path baseDir = fs::absolute(fs::path(path)).parent_path();
  const std::string where = "kubeconfig " + path;

  try {
    std::string contextName = contextOverride.empty() ? str(root, "current-context") : contextOverride;
    if (contextName.empty()) return invalid(where + " has no current-context and no context was given");
    auto contextEntry = findNamed(root["contexts"], contextName, "context");
    if (!contextEntry) return invalid(where + " has no context named \"" + contextName + "\"");

    const YAML::Node context = *contextEntry;
    const std::string clusterName = str(context, "cluster");
    auto clusterEntry = findNamed(root["clusters"], clusterName, "cluster");
    if (!clusterEntry) return invalid(where + ": context \"" + contextName + "\" names unknown cluster \"" + clusterName + "\"");

    const YAML::Node cluster = *clusterEntry;
    ClientConfig cfg;
    cfg.server = str(cluster, "server");
    if (cfg.server.empty()) return invalid(where + ": cluster \"" + clusterName + "\" has no server");
    cfg.insecureSkipTLSVerify = cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>();
    cfg.tlsServerName = str(cluster, "tls-server-name");
    auto ca = dataOrFile(cluster, "certificate-authority", baseDir, where + " cluster \"" + clusterName + "\"");
    if (!ca.ok()) return ca.error();
    cfg.caPem = std::move(ca.value());
    if (auto ns = str(context, "namespace"); !ns.empty()) cfg.defaultNamespace = ns;

    const std::string userName = str(context, "user");
    if (!userName.empty()) {
      auto userEntry = findNamed(root["users"], userName, "user");
      if (!userEntry) return invalid(where + ": context \"" + contextName + "\" names unknown user \"" + userName + "\"");
      const YAML::Node user = *userEntry;
      if (user["exec"]) return invalid(where + ": user \"" + userName + "\" uses an exec credential plugin, which is not supported; use a client certificate or token");
      if (user["auth-provider"]) return invalid(where + ": user \"" + userName + "\" uses an auth-provider, which is not supported; use a client certificate or token");
      const std::string userWhere = where + " user \"" + userName + "\"";
      auto cert = dataOrFile(user, "client-certificate", baseDir, userWhere);
      if (!cert.ok()) return cert.error();
      auto key = dataOrFile(user, "client-key", baseDir, userWhere);
      if (!key.ok()) return key.error();
      cfg.clientCertPem = std::move(cert.value());
      cfg.clientKeyPem = std::move(key.value());
      if (cfg.clientCertPem.empty() != cfg.clientKeyPem.empty()) {
        return invalid(userWhere + " needs both a client certificate and a client key");
      }
      cfg.bearerToken = str(user, "token");
      if (auto tf = str(user, "tokenFile"); !tf.empty()) {
        fs::path p(tf);
        cfg.tokenFile = (p.is_relative() ? baseDir / p : p).string();
      }
    }
    return cfg;
  } catch (const YAML::Exception& e) {
    return invalid(where + " has an unexpected shape: " + e.what());
  }
}

Result<ClientConfig> loadInCluster(const std::function<std::optional<std::string>(const std::string&)>& getenv,
                                   const std::string& saDir) {
  auto host = getenv("KUBERNETES_SERVICE_HOST");
  auto port = getenv("KUBERNETES_SERVICE_PORT");
  if (!host || host->empty() || !port || port->empty()) {
    return invalid("not running in a cluster: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be set");
  }
  ClientConfig cfg;
  const bool ipv6 = host->find(':') != std::string::npos;
  cfg.server = "https://" + (ipv6 ? "[" + *host + "]" : *host) + ":" + *port;
  cfg.tokenFile = saDir + "/token";
  auto token = readFile(cfg.tokenFile);
  if (!token.ok()) return invalid("in-cluster service account token: " + token.error().message);
  auto ca = readFile(saDir + "/ca.crt");
  if (!ca.ok()) return invalid("in-cluster CA: " + ca.error().message);
  cfg.caPem = std::move(ca.value());
  if (auto ns = readFile(saDir + "/namespace"); ns.ok() && !ns->empty()) {
    auto v = ns.value();
    while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
    cfg.defaultNamespace = v;
  }
  return cfg;
}

Result<ClientConfig> loadDefaultConfig(const std::string& kubeconfigPath, const std::string& context) {
  if (!kubeconfigPath.empty()) return loadKubeconfig(kubeconfigPath, context);
  if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
    std::string list(env);
    std::stringstream ss(list);
    std::string item;
    while (std::getline(ss, item, ':')) {
      if (!item.empty() && fs::exists(item)) return loadKubeconfig(item, context);
    }
    return invalid("none of the files in KUBECONFIG exists: " + list);
  }
  auto getenv = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  if (getenv("KUBERNETES_SERVICE_HOST")) return loadInCluster(getenv);
  if (const char* home = std::getenv("HOME")) {
    auto p = fs::path(home) / ".kube" / "config";
    if (fs::exists(p)) return loadKubeconfig(p.string(), context);
  }
  return invalid("no Kubernetes configuration: pass --kubeconfig, set KUBECONFIG, or run in a cluster");
}

}  // namespace opscopilot::kube
