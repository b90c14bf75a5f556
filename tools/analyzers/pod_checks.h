// The checks the pod status analyzer runs on one pod, split from the
// analyzer so each stays readable: container states here, pod-level status
// (scheduling, eviction) in pod_status_analyzer.cpp.
#pragma once

#include <string>
#include <vector>

#include "agent/analyzer.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools::analysis {

// One pod as the checks see it.
struct PodContext {
  const Json* pod = nullptr;
  std::string name;
  std::string ns;
  std::string phase;
  OwnerRef owner;
  std::string target;  // "deployment/web" for kubectl, "" for a bare pod
  std::vector<std::string> evidence;  // the step's evidence for Pod/<name>
};

// A problem found on a pod, before pods of one controller with the same
// problem are folded into one finding.
struct PodIssue {
  std::string groupKey;  // same key: same controller, container and cause
  agent::FindingDraft draft;
  std::vector<agent::PlannedCall> calls;
};

// Container and init container states: crash loops, OOM kills, image pulls,
// config errors, start errors, failed runs, restarts and readiness.
void checkContainers(const PodContext& pod, std::vector<PodIssue>& out);

// ConfigMap and Secret names the pod spec references (env, envFrom, volumes).
struct ConfigNames {
  std::vector<std::string> configMaps;
  std::vector<std::string> secrets;
};
ConfigNames configNamesOf(const Json* pod);

// "httpGet :8080/healthz", "tcpSocket :5432", "exec cat /tmp/ready"; "" when
// no probe.
std::string describeProbe(const Json* probe);

}  // namespace opscopilot::tools::analysis
