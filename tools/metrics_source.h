// Where query_metrics sends a run's PromQL: the cluster's Prometheus, or a
// namespace's own (operator config `metrics`). Built once at start; read-only
// afterwards, so every worker shares it without a lock.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "operator/net/http_transport.h"

namespace opscopilot::tools {

struct PrometheusEndpoint {
  std::string url;                 // as configured, for messages (no credentials in it)
  std::string basePath;            // the URL's path ("" or "/prometheus"), before /api/v1/...
  std::string authorization;       // "Bearer TOKEN" from the configured Secret, or ""
  // Every series selector gets SCOPE_LABEL="<run's namespace>"; "" only for
  // a namespace's own Prometheus that holds nothing else.
  std::string scopeLabel = "namespace";
  std::shared_ptr<net::HttpTransport> transport;
};

class MetricsSources {
 public:
  void setClusterDefault(PrometheusEndpoint e) { cluster_ = std::make_shared<PrometheusEndpoint>(std::move(e)); }
  void setForNamespace(const std::string& ns, PrometheusEndpoint e) {
    perNamespace_[ns] = std::make_shared<PrometheusEndpoint>(std::move(e));
  }
  // The namespace's own Prometheus, else the cluster's; nullptr for none.
  const PrometheusEndpoint* forNamespace(const std::string& ns) const {
    auto it = perNamespace_.find(ns);
    if (it != perNamespace_.end()) return it->second.get();
    return cluster_.get();
  }

 private:
  std::shared_ptr<PrometheusEndpoint> cluster_;
  std::map<std::string, std::shared_ptr<PrometheusEndpoint>> perNamespace_;
};

}  // namespace opscopilot::tools
