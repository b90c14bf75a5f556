// The API resources the tools read, each with the Kind of its objects (for
// evidence refs such as "Deployment/checkout" and for error sentences).
#pragma once

#include <string_view>

#include "operator/kube/resource.h"

namespace opscopilot::tools {

struct ApiKind {
  std::string_view kind;  // "Deployment"
  kube::ResourceRef ref;  // apps/v1 deployments
};

namespace kinds {
inline const ApiKind kPod{"Pod", {"", "v1", "pods", true}};
inline const ApiKind kEvent{"Event", {"", "v1", "events", true}};
inline const ApiKind kService{"Service", {"", "v1", "services", true}};
inline const ApiKind kEndpoints{"Endpoints", {"", "v1", "endpoints", true}};
inline const ApiKind kEndpointSlice{"EndpointSlice", {"discovery.k8s.io", "v1", "endpointslices", true}};
inline const ApiKind kPersistentVolumeClaim{"PersistentVolumeClaim", {"", "v1", "persistentvolumeclaims", true}};
inline const ApiKind kConfigMap{"ConfigMap", {"", "v1", "configmaps", true}};
inline const ApiKind kSecret{"Secret", {"", "v1", "secrets", true}};
inline const ApiKind kResourceQuota{"ResourceQuota", {"", "v1", "resourcequotas", true}};
inline const ApiKind kLimitRange{"LimitRange", {"", "v1", "limitranges", true}};
inline const ApiKind kDeployment{"Deployment", {"apps", "v1", "deployments", true}};
inline const ApiKind kReplicaSet{"ReplicaSet", {"apps", "v1", "replicasets", true}};
inline const ApiKind kStatefulSet{"StatefulSet", {"apps", "v1", "statefulsets", true}};
inline const ApiKind kDaemonSet{"DaemonSet", {"apps", "v1", "daemonsets", true}};
inline const ApiKind kJob{"Job", {"batch", "v1", "jobs", true}};
inline const ApiKind kCronJob{"CronJob", {"batch", "v1", "cronjobs", true}};
inline const ApiKind kHorizontalPodAutoscaler{"HorizontalPodAutoscaler",
                                              {"autoscaling", "v2", "horizontalpodautoscalers", true}};
inline const ApiKind kIngress{"Ingress", {"networking.k8s.io", "v1", "ingresses", true}};
// Cluster-scoped: a namespace reader is normally not allowed to read these.
inline const ApiKind kPersistentVolume{"PersistentVolume", {"", "v1", "persistentvolumes", false}};
inline const ApiKind kStorageClass{"StorageClass", {"storage.k8s.io", "v1", "storageclasses", false}};
inline const ApiKind kNode{"Node", {"", "v1", "nodes", false}};
// The workload kind named `kind` (Deployment, StatefulSet, DaemonSet,
// ReplicaSet, Job, CronJob), or nullptr.
inline const ApiKind* workloadKind(std::string_view kind) {
  for (const ApiKind* k : {&kDeployment, &kStatefulSet, &kDaemonSet, &kReplicaSet, &kJob, &kCronJob}) {
    if (k->kind == kind) return k;
  }
  return nullptr;
}
}  // namespace kinds

}  // namespace opscopilot::tools
