// Parsers for the messages the kubelet, the scheduler and the controller
// manager write into pod status and Events, shared by the analyzers that see
// the same message in different places (a pod condition and its Event, a
// container state and the Failed event).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace opscopilot::tools::analysis {

// ---- Scheduler: "0/3 nodes are available: 1 node(s) had untolerated taint
// {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory. preemption: ..."
// Kubernetes 1.35 no longer names the taint: "1 node(s) had untolerated
// taint(s)"; the reason's detail is empty then.

enum class SchedulingCause {
  InsufficientResource,  // detail: the resource ("memory", "nvidia.com/gpu")
  TooManyPods,
  NodeSelectorMismatch,
  UntoleratedTaint,  // detail: "key=value" or "key"; "" when the scheduler does not name it
  NodeUnschedulable,  // cordoned
  UnboundClaims,
  ClaimNotFound,  // detail: the claim name
  VolumeNodeAffinity,
  PodAffinity,
  PodAntiAffinity,
  HostPortConflict,
  NoNodes,
  Other,
};

struct SchedulingReason {
  int nodes = -1;  // how many nodes gave this reason; -1 when not counted
  SchedulingCause cause = SchedulingCause::Other;
  std::string detail;
  std::string text;  // the scheduler's words for it
};

struct SchedulingDiagnosis {
  int totalNodes = -1;
  std::vector<SchedulingReason> reasons;
  // "2 nodes have insufficient memory, 1 node has untolerated taint
  // node-role.kubernetes.io/control-plane"; the trimmed message when no
  // reason was recognised.
  std::string summary;
  bool has(SchedulingCause c) const;
};

// Never fails: an unrecognised message yields one Other reason.
SchedulingDiagnosis parseSchedulingMessage(std::string_view message);

// What the pod asks for, to make the remediation concrete. All optional.
struct PodSchedulingFacts {
  std::string ns;
  std::string pod;
  std::string ownerTarget;               // "deployment/web"
  std::vector<std::string> requests;     // "memory 4Gi"
  std::string nodeSelector;              // "disktype=ssd"
  std::vector<std::string> claims;       // PVC names
};
std::string schedulingRemediation(const SchedulingDiagnosis& d, const PodSchedulingFacts& facts);

// A taint as a node carries it (spec.taints[]).
struct NodeTaint {
  std::string node;
  std::string key;
  std::string value;
  std::string effect;
  // "dedicated=gpu:NoSchedule"
  std::string text() const;
  bool controlPlane() const;
};
// What schedulingRemediation says for taints the scheduler did not name:
// how to list the nodes' taints, and where a toleration would go.
std::string unnamedTaintAdvice(std::string_view where);
// A remediation with unnamedTaintAdvice(...) in it, where that advice names
// the taints the nodes carry instead (with the toleration to add for them);
// the remediation unchanged when it has no such advice or taints is empty.
std::string nameUnnamedTaints(std::string_view remediation, const std::vector<NodeTaint>& taints);

// ---- Image pulls (container waiting message, Failed / BackOff events).

enum class PullCause { NotFound, Unauthorized, AccessDeniedOrMissing, Unreachable, RateLimited, InvalidName, NeverPull, Unknown };
PullCause classifyPull(std::string_view reason, std::string_view message);
// "the tag or image does not exist", ...; "" for Unknown.
std::string pullCauseText(PullCause cause);

// An image reference as the container runtime resolves it.
//   "nginx"                          docker.io / library/nginx, tag latest implied
//   "bitnami/redis:7"                docker.io / bitnami/redis : 7
//   "ghcr.io/example/web:2.0@sha256:..."  ghcr.io / example/web : 2.0 @ sha256:...
//   "localhost:5000/app", "127.0.0.1:1/app:1", "[::1]:5000/app"  the host (with port) is the registry
struct ImageRef {
  bool valid = false;      // false for "" and references that cannot be parsed
  std::string registry;    // "docker.io", "ghcr.io", "localhost:5000"
  std::string repository;  // "library/nginx", "example/web"
  std::string tag;         // "" when none is written
  std::string digest;      // "sha256:..." or ""
  std::string written;     // the reference as written, without tag and digest ("nginx", "ghcr.io/example/web")
  // registry/repository: "docker.io/library/nginx", what `crane ls` takes.
  std::string fullName() const;
};
ImageRef parseImageRef(std::string_view image);
// The registry host of an image reference ("docker.io" when implicit; "" when
// the reference is empty or invalid).
std::string registryOf(std::string_view image);
// The first quoted image in a kubelet message (`pulling image "x"`), or "".
std::string imageInMessage(std::string_view message);
// The image a finding's title says cannot be pulled ("... cannot pull image
// ghcr.io/x/y:1: ..."), or "".
std::string imageInPullTitle(std::string_view title);

// What a pull remediation is about; every field may be unknown ("").
struct PullFacts {
  std::string image;
  std::string ns;
  std::string pod;
  std::string container;
  std::string ownerTarget;                          // "deployment/web"
  const std::vector<std::string>* pullSecrets = nullptr;  // the pod's imagePullSecrets; nullptr when not known
};
std::string pullRemediation(PullCause cause, const PullFacts& facts);

// ---- Missing ConfigMap / Secret or key (CreateContainerConfigError,
// FailedMount, the kubelet's `Error: ...` Failed event).

struct ConfigRefError {
  std::string kind;  // "ConfigMap" or "Secret"
  std::string name;  // may be empty (projected item with a missing key)
  std::string key;   // empty when the whole object is missing
};
std::optional<ConfigRefError> parseConfigRefError(std::string_view message);
// The phrase every analyzer puts in titles, so others can find the finding:
// "ConfigMap app-config not found" or "key DB_URL not found in Secret db".
std::string configRefPhrase(const ConfigRefError& e);
std::string configRefRemediation(const ConfigRefError& e, std::string_view ns, std::string_view ownerTarget);

// ---- Controllers failing to create pods (FailedCreate, ReplicaFailure).

struct QuotaUse {
  std::string resource;
  std::string requested;
  std::string used;
  std::string limited;
};
struct QuotaExceeded {
  std::string quota;
  std::vector<QuotaUse> blocking;  // the resources where used+requested > limited
};
std::optional<QuotaExceeded> parseExceededQuota(std::string_view message);

struct CreateFailure {
  std::string summary;       // "ResourceQuota compute-quota is full: pods 10/10 used, 1 requested"
  std::string remediation;
  std::string quota;         // the blocking quota, when a quota is the cause
  bool quotaRelated = false;
};
CreateFailure describeCreateFailure(std::string_view message, std::string_view ns);

}  // namespace opscopilot::tools::analysis
