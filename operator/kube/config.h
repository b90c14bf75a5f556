// ClientConfig: where the API server is and how to authenticate to it, from
// a kubeconfig file or from the in-cluster service account.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

#include "operator/kube/result.h"

namespace opscopilot::kube {

struct ClientConfig {
  std::string server;               // "https://127.0.0.1:6443"
  std::string caPem;                // certificate authority data (PEM)
  std::string clientCertPem;        // client certificate (PEM)
  std::string clientKeyPem;         // client key (PEM)
  std::string bearerToken;          // static token
  std::string tokenFile;            // token re-read when the file changes
  bool insecureSkipTLSVerify = false;
  std::string tlsServerName;        // overrides the name verified in the certificate
  std::string defaultNamespace = "default";
  std::chrono::milliseconds requestTimeout{30000};
};

// Loads a kubeconfig file, using its current-context unless context is given.
// Relative file references are resolved against the file's directory.
// Errors (reason InvalidConfig) name the file and what is wrong: missing file,
// unknown context, missing cluster or user, unreadable certificate, or an
// auth method this client does not support (exec, auth-provider).
Result<ClientConfig> loadKubeconfig(const std::string& path, const std::string& context = {});

// The same on kubeconfig text already read; path names it in errors and
// anchors relative file references.
Result<ClientConfig> parseKubeconfig(const std::string& yaml, const std::string& path, const std::string& context = {});

// Reads the in-cluster configuration: KUBERNETES_SERVICE_HOST and
// KUBERNETES_SERVICE_PORT from getenv, token, ca.crt and namespace from
// saDir. Fails (InvalidConfig) when not running in a cluster.
Result<ClientConfig> loadInCluster(const std::function<std::optional<std::string>(const std::string&)>& getenv,
                                   const std::string& saDir = "/var/run/secrets/kubernetes.io/serviceaccount");

// The configuration an operator binary uses: the explicit kubeconfig path if
// given, else $KUBECONFIG (first file), else in-cluster when
// KUBERNETES_SERVICE_HOST is set, else ~/.kube/config.
Result<ClientConfig> loadDefaultConfig(const std::string& kubeconfigPath, const std::string& context);

// Decodes standard base64 (kubeconfig *-data fields, Secret data); nullopt
// on bad input.
std::optional<std::string> base64Decode(const std::string& in);

// Reads a whole file. Error reason InvalidConfig names the path.
Result<std::string> readFile(const std::string& path);

}  // namespace opscopilot::kube
