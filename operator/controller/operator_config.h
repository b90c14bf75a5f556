// OperatorConfig: config/operator.yaml, validated at start. Errors name the
// field and what is wrong; the operator refuses to start on any of them.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "agent/run_spec.h"
#include "operator/kube/result.h"

namespace opscopilot::controller {

struct ModelProfile {
  std::string name;
  std::string provider;  // builtin (openai and anthropic: see issue 4)
};

struct OperatorConfig {
  int workers = 4;
  std::string defaultModel = "builtin";
  std::map<std::string, ModelProfile> models{{"builtin", {"builtin", "builtin"}}};
  agent::Limits defaultLimits;
  agent::Limits maxLimits{50, std::chrono::seconds(3600), 1000000, 100000000};
  std::string readerUser = "system:serviceaccount:{namespace}:opscopilot-reader";
  std::size_t maxExcerptBytes = 4096;
  std::int64_t logTailLines = 100;
  std::string watchNamespace;  // empty: all namespaces
  std::string healthAddress = "127.0.0.1:8081";  // /healthz, /readyz, /metrics; empty: off
  bool leaderElection = false;
  std::string leaseNamespace = "opscopilot-system";
  std::string leaseName = "opscopilot-leader";
  std::vector<std::string> disabledTools;
};

// Parses and validates YAML text. `source` names it in error messages.
kube::Result<OperatorConfig> parseOperatorConfig(const std::string& yaml, const std::string& source);
kube::Result<OperatorConfig> loadOperatorConfig(const std::string& path);

}  // namespace opscopilot::controller
