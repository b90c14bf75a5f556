// The built-in analyzers, one per file in this directory. Each reads only
// the steps of the tools it understands (see tools/README.md for their data)
// and ignores everything else, so the graph may run all of them on every step.
//
// Subjects they use, so one analyzer can enrich another's finding:
//   "Pod/<pod>/<container>"  a container's state (crash, image, config, probe)
//   "Pod/<pod>"              the pod as a whole (scheduling, eviction, sandbox)
//   "<Kind>/<name>"          any other object (Deployment/web, Service/web, ...)
#pragma once

#include <memory>

#include "agent/analyzer.h"

namespace opscopilot::tools {

// list_pods: container states (CrashLoopBackOff, OOMKilled, image pulls,
// config errors, init containers), scheduling, readiness, evictions.
std::unique_ptr<agent::Analyzer> makePodStatusAnalyzer();
// get_events: Warning events (scheduling, quota, mounts, probes, pulls, Jobs).
std::unique_ptr<agent::Analyzer> makeEventAnalyzer();
// get_pod_logs: the telling lines of a log tail, enriching the crash finding.
std::unique_ptr<agent::Analyzer> makeLogAnalyzer();
// get_workload: Deployment/StatefulSet/DaemonSet/ReplicaSet/Job/CronJob status.
std::unique_ptr<agent::Analyzer> makeWorkloadAnalyzer();
// get_service: missing endpoints (selector mismatch, no ready pods, ports);
// also list_pods steps, to name the pods a mismatched selector nearly matches.
std::unique_ptr<agent::Analyzer> makeServiceAnalyzer();
// get_storage: Pending PersistentVolumeClaims.
std::unique_ptr<agent::Analyzer> makeStorageAnalyzer();
// get_config_refs: missing ConfigMaps, Secrets and keys.
std::unique_ptr<agent::Analyzer> makeConfigRefsAnalyzer();
// get_quotas: exhausted ResourceQuotas.
std::unique_ptr<agent::Analyzer> makeQuotaAnalyzer();
// get_hpa: autoscalers that cannot scale or sit at their ceiling.
std::unique_ptr<agent::Analyzer> makeHpaAnalyzer();
// get_ingress: backends that do not exist or expose another port.
std::unique_ptr<agent::Analyzer> makeIngressAnalyzer();
// get_nodes: node health, and taints/capacity behind unschedulable pods.
std::unique_ptr<agent::Analyzer> makeNodeAnalyzer();
// search_logs: how often the searched pattern appears, and where.
std::unique_ptr<agent::Analyzer> makeLogSearchAnalyzer();
// search_runbooks: a fitting runbook section's steps become a finding's fix.
std::unique_ptr<agent::Analyzer> makeRunbookAnalyzer();
// recall_past_runs: marks findings earlier runs on the same target also made.
std::unique_ptr<agent::Analyzer> makePastRunsAnalyzer();
std::unique_ptr<agent::Analyzer> makeMetricsAnalyzer();
std::unique_ptr<agent::Analyzer> makeFollowUpAnalyzer();

}  // namespace opscopilot::tools
