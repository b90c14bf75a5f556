// How healthy a pod is, and its rendering as evidence text, as the kubelet
// reports it (phase, conditions, container states).
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <string>
#include <vector>

#include "operator/kube/object.h"

namespace opscopilot::tools {

struct PodHealth {
  // 0: failing (a container waiting in an error, Failed, init failure),
  // 1: pending, 2: not ready (or terminating), 3: running and ready,
  // 4: completed. Lower is more relevant to a diagnosis.
  int rank = 3;
  // What is wrong, as kubectl would show it: "CrashLoopBackOff",
  // "CrashLoopBackOff (OOMKilled)", "Init:CrashLoopBackOff", "ErrImagePull",
  // "Unschedulable", "Pending", "NotReady", "Failed", "Terminating"; "" when
  // running and ready, "Completed" for a succeeded pod.
  std::string problem;
  bool ready = false;
  std::int64_t restarts = 0;

  bool unhealthy() const { return rank <= 2; }
};

PodHealth podHealth(const rapidjson::Value& pod);

// Orders pods most relevant first: by PodHealth rank, then most restarts,
// then name.
void sortUnhealthyFirst(std::vector<kube::ObjectPtr>& pods);

// The evidence text of a pod, e.g.
//   Pod checkout-7d9f (node kwok-node-1): phase Running, Ready False (ContainersNotReady)
//     container checkout: waiting CrashLoopBackOff "back-off 5m0s ..."; last terminated exit 1 (Error) at ...; restarts 6; image ghcr.io/x:1
std::string renderPod(const rapidjson::Value& pod);

// "3 pods, 1 not ready: checkout-7d9f CrashLoopBackOff", "2 pods, all ready",
// "no pods"; pods ordered as sortUnhealthyFirst leaves them.
std::string podsSummary(const std::vector<kube::ObjectPtr>& pods);

// The names of a pod's containers, init containers and ephemeral containers.
std::vector<std::string> containerNames(const rapidjson::Value& pod);

// True when a log read answered (HTTP 200) with one of the kubelet's single
// placeholder lines instead of the log: "unable to retrieve container logs
// for containerd://ID" (the runtime no longer has that instance) or "failed
// to try resolving symlinks in path ...: no such file or directory" (its log
// file was just removed). Never the app's output.
bool isKubeletLogPlaceholder(const std::string& text);

// How many times the kubelet restarted the container (0 when unknown).
std::int64_t restartsOf(const rapidjson::Value& pod, const std::string& container);

}  // namespace opscopilot::tools
