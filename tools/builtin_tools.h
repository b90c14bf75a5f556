// The registry of built-in read-only tools and analyzers.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "agent/analyzer.h"
#include "agent/tool.h"
#include "operator/kube/client.h"
#include "tools/access_review.h"

namespace opscopilot::tools {

class MetricsSources;      // tools/metrics_source.h
class ActionDestinations;  // tools/action_destinations.h

struct ToolSettings {
  // The identity every tool request impersonates; "{namespace}" is replaced
  // by the run's namespace.
  std::string readerUser = "system:serviceaccount:{namespace}:opscopilot-reader";
  std::vector<std::string> readerGroups;
  std::size_t maxExcerptBytes = 4096;
  std::int64_t defaultLogTailLines = 100;
  std::int64_t maxLogBytes = 256 * 1024;
  // For a container that exited moments ago, the kubelet answers log reads
  // with a placeholder for 10-15 s (FACTS: "unable to retrieve container
  // logs"); get_pod_logs asks again at this interval, within its deadline,
  // for at most logRetryFor after the exit.
  std::chrono::milliseconds logRetryInterval{1000};
  std::chrono::milliseconds logRetryFor{20000};
  // Runbooks shared with every run (search_runbooks): ConfigMaps labelled
  // opscopilot.io/runbook=true in this namespace, read as its reader
  // identity; "" for none.
  std::string runbookNamespace;
  // Where query_metrics sends PromQL (operator config `metrics`); nullptr or
  // no endpoint for a namespace: the tool is not offered to its runs.
  std::shared_ptr<const MetricsSources> metrics;
  // Where notify and create_ticket send (operator config `actions`);
  // nullptr: no destination, every action is refused.
  std::shared_ptr<const ActionDestinations> actions;
  // Checks each read against the run's requester (when the run has one).
  std::shared_ptr<AccessReviewer> access;
};

// Registers every built-in tool, each making its requests through client.
void registerBuiltinTools(agent::ToolRegistry& registry, std::shared_ptr<kube::Client> client,
                          const ToolSettings& settings);

// The names of the built-in tools, sorted.
std::vector<std::string> builtinToolNames();

// Every built-in analyzer.
std::vector<std::unique_ptr<agent::Analyzer>> builtinAnalyzers();

}  // namespace opscopilot::tools
