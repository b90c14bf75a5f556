#include "operator/kube/resource.h"

namespace opscopilot::kube {

std::string ResourceRef::apiVersion() const { return group.empty() ? version : group + "/" + version; }

std::string ResourceRef::path(std::string_view ns, std::string_view name, std::string_view subresource) const {
  std::string p = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) p.append("/namespaces/").append(ns);
  p.append("/").append(resource);
  if (!name.empty()) p.append("/").append(name);
  if (!subresource.empty()) p.append("/").append(subresource);
  return p;
}

namespace resources {
const ResourceRef kNamespaces{"", "v1", "namespaces", false};
const ResourceRef kPods{"", "v1", "pods", true};
const ResourceRef kConfigMaps{"", "v1", "configmaps", true};
const ResourceRef kSecrets{"", "v1", "secrets", true};
const ResourceRef kServices{"", "v1", "services", true};
const ResourceRef kEvents{"", "v1", "events", true};
const ResourceRef kNodes{"", "v1", "nodes", false};
const ResourceRef kDeployments{"apps", "v1", "deployments", true};
const ResourceRef kLeases{"coordination.k8s.io", "v1", "leases", true};
}  // namespace resources

std::string urlEncode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace opscopilot::kube
