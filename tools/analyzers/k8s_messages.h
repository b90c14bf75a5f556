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

enum class SchedulingCause {
  InsufficientResource,  // detail: the resource ("memory", "nvidia.com/gpu")
  TooManyPods,
  NodeSelectorMismatch,
  UntoleratedTaint,  // detail: "key=value" or "key"
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

// ---- Image pulls (container waiting message, Failed / BackOff events).

enum class PullCause { NotFound, Unauthorized, AccessDeniedOrMissing, Unreachable, RateLimited, InvalidName, NeverPull, Unknown };
PullCause classifyPull(std::string_view reason, std::string_view message);
// "the tag or image does not exist", ...; "" for Unknown.
std::string pullCauseText(PullCause cause);
// The registry host of an image reference ("docker.io" when implicit).
std::string registryOf(std::string_view image);
// The first quoted image in a kubelet message (`pulling image "x"`), or "".
std::string imageInMessage(std::string_view message);
// pullSecrets: the pod's imagePullSecrets, or nullptr when not known.
std::string pullRemediation(PullCause cause, std::string_view image, std::string_view ns,
                            const std::vector<std::string>* pullSecrets, std::string_view ownerTarget,
                            std::string_view container);

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
