// ResourceRef: which REST collection a request is about, and how its URL
// paths are built.
#pragma once

#include <string>
#include <string_view>

namespace opscopilot::kube {

struct ResourceRef {
  std::string group;     // "" for the core group
  std::string version;   // "v1"
  std::string resource;  // plural: "pods"
  bool namespaced = true;

  // "/api/v1/namespaces/NS/pods/NAME/SUB"; namespace and name may be empty
  // (empty namespace on a namespaced resource means "all namespaces").
  std::string path(std::string_view ns = {}, std::string_view name = {},
                   std::string_view subresource = {}) const;
  std::string apiVersion() const;  // "v1" or "apps/v1"
};

namespace resources {
extern const ResourceRef kNamespaces;
extern const ResourceRef kPods;
extern const ResourceRef kConfigMaps;
extern const ResourceRef kSecrets;
extern const ResourceRef kServices;
extern const ResourceRef kEvents;
extern const ResourceRef kNodes;
extern const ResourceRef kDeployments;
extern const ResourceRef kLeases;
}  // namespace resources

// Percent-encodes a query parameter value.
std::string urlEncode(std::string_view s);

}  // namespace opscopilot::kube
