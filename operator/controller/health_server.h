// HealthServer: /healthz (the process serves), /readyz (caches synced and,
// with leader election, leading or standing by) and /metrics (Prometheus
// text format) on a small HTTP listener of its own.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "agent/redacted.h"
#include "operator/kube/result.h"

namespace opscopilot::controller {

class HealthServer {
 public:
  struct Handlers {
    std::function<bool()> ready;
    // Prometheus text exposition; redacted like every sink's text.
    std::function<agent::RedactedText()> metrics;
  };
  // Listens on "host:port" (port 0 picks a free one). Fails when the
  // address is malformed or cannot be bound.
  static kube::Result<std::unique_ptr<HealthServer>> start(const std::string& address, Handlers handlers);
  virtual ~HealthServer() = default;
  virtual int port() const = 0;
};

}  // namespace opscopilot::controller
