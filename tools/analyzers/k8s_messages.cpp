#include "tools/analyzers/k8s_messages.h"

#include <algorithm>
#include <cctype>

#include "tools/analyzers/fill.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools::analysis {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '.')) s.remove_suffix(1);
  return s;
}

// Splits on commas outside braces (taints print as "{key: value}").
std::vector<std::string> splitTopLevel(std::string_view s) {
  std::vector<std::string> parts;
  int depth = 0;
  std::string cur;
  for (char c : s) {
    if (c == '{') ++depth;
    if (c == '}' && depth > 0) --depth;
    if (c == ',' && depth == 0) {
      parts.emplace_back(trim(cur));
      cur.clear();
      continue;
    }
    cur += c;
  }
  if (!trim(cur).empty()) parts.emplace_back(trim(cur));
  return parts;
}

std::string nodesText(int n) { return n < 0 ? std::string() : " (" + countOf(n, "node") + ")"; }

std::string taintText(std::string_view braced) {
  // "{node-role.kubernetes.io/control-plane: }" -> "node-role.kubernetes.io/control-plane"
  std::string inner = between(braced, "{", "}");
  auto colon = inner.find(':');
  std::string key(trim(inner.substr(0, colon)));
  std::string value = colon == std::string::npos ? std::string() : std::string(trim(inner.substr(colon + 1)));
  return value.empty() ? key : key + "=" + value;
}

SchedulingReason classifySchedulingPart(std::string_view part) {
  SchedulingReason r;
  std::size_t i = 0;
  while (i < part.size() && std::isdigit(static_cast<unsigned char>(part[i]))) ++i;
  if (i > 0 && i <= 6 && i < part.size() && part[i] == ' ') {
    r.nodes = std::stoi(std::string(part.substr(0, i)));
    part = part.substr(i + 1);
  }
  r.text = std::string(part);
  std::string t = toLower(part);
  if (t.starts_with("insufficient ")) {
    r.cause = SchedulingCause::InsufficientResource;
    r.detail = std::string(trim(part.substr(13)));
  } else if (t.find("too many pods") != std::string::npos) {
    r.cause = SchedulingCause::TooManyPods;
  } else if (t.find("volume node affinity") != std::string::npos) {
    r.cause = SchedulingCause::VolumeNodeAffinity;
  } else if (t.find("taint") != std::string::npos) {
    r.cause = SchedulingCause::UntoleratedTaint;
    r.detail = taintText(part);
  } else if (t.find("node affinity") != std::string::npos || t.find("node selector") != std::string::npos ||
             t.find("affinity/selector") != std::string::npos) {
    r.cause = SchedulingCause::NodeSelectorMismatch;
  } else if (t.find("anti-affinity") != std::string::npos) {
    r.cause = SchedulingCause::PodAntiAffinity;
  } else if (t.find("pod affinity") != std::string::npos) {
    r.cause = SchedulingCause::PodAffinity;
  } else if (t.find("unschedulable") != std::string::npos) {
    r.cause = SchedulingCause::NodeUnschedulable;
  } else if (t.find("unbound") != std::string::npos && t.find("persistentvolumeclaim") != std::string::npos) {
    r.cause = SchedulingCause::UnboundClaims;
  } else if (t.find("persistentvolumeclaim \"") != std::string::npos && t.find("not found") != std::string::npos) {
    r.cause = SchedulingCause::ClaimNotFound;
    r.detail = between(part, "\"", "\"");
  } else if (t.find("free ports") != std::string::npos) {
    r.cause = SchedulingCause::HostPortConflict;
  }
  return r;
}

std::string reasonPhrase(const SchedulingReason& r) {
  switch (r.cause) {
    case SchedulingCause::InsufficientResource:
      return fill("insufficient ${resource}", {{"resource", r.detail, "resources"}}) + nodesText(r.nodes);
    case SchedulingCause::TooManyPods: return "too many pods" + nodesText(r.nodes);
    case SchedulingCause::NodeSelectorMismatch: return "nodeSelector/affinity matches no node" + nodesText(r.nodes);
    case SchedulingCause::UntoleratedTaint:
      return fill("untolerated ${taint}", {{"taint", r.detail.empty() ? "" : "taint " + r.detail,
                                            "taints the scheduler does not name"}}) +
             nodesText(r.nodes);
    case SchedulingCause::NodeUnschedulable: return "nodes cordoned" + nodesText(r.nodes);
    case SchedulingCause::UnboundClaims: return "unbound PersistentVolumeClaims";
    case SchedulingCause::ClaimNotFound:
      return fill("${claim} not found", {{"claim", r.detail.empty() ? "" : "PersistentVolumeClaim " + r.detail,
                                          "a PersistentVolumeClaim it mounts is"}});
    case SchedulingCause::VolumeNodeAffinity: return "volume node affinity conflict" + nodesText(r.nodes);
    case SchedulingCause::PodAffinity: return "pod affinity unsatisfied" + nodesText(r.nodes);
    case SchedulingCause::PodAntiAffinity: return "pod anti-affinity conflict" + nodesText(r.nodes);
    case SchedulingCause::HostPortConflict: return "no free host port" + nodesText(r.nodes);
    case SchedulingCause::NoNodes: return "no nodes available";
    case SchedulingCause::Other: break;
  }
  return fill("${reason}", {{"reason", shorten(r.text, 120), "the scheduler gave no reason"}}) + nodesText(r.nodes);
}

bool isControlPlaneTaint(std::string_view t) {
  return t.starts_with("node-role.kubernetes.io/control-plane") || t.starts_with("node-role.kubernetes.io/master");
}

std::vector<std::pair<std::string, std::string>> parseResourceList(std::string_view s) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& item : splitTopLevel(s)) {
    auto eq = item.find('=');
    if (eq == std::string::npos) continue;
    out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
  }
  return out;
}

std::string lookup(const std::vector<std::pair<std::string, std::string>>& list, std::string_view key) {
  for (const auto& [k, v] : list) {
    if (k == key) return v;
  }
  return {};
}

}  // namespace

bool SchedulingDiagnosis::has(SchedulingCause c) const {
  return std::any_of(reasons.begin(), reasons.end(), [&](const SchedulingReason& r) { return r.cause == c; });
}

SchedulingDiagnosis parseSchedulingMessage(std::string_view message) {
  SchedulingDiagnosis d;
  std::string msg = oneLine(message);
  std::string_view m = msg;
  if (auto p = m.find("preemption:"); p != std::string_view::npos) m = m.substr(0, p);
  m = trim(m);
  if (containsNoCase(m, "no nodes available")) {
    d.totalNodes = 0;
    d.reasons.push_back({-1, SchedulingCause::NoNodes, "", std::string(m)});
    d.summary = "no nodes available to schedule pods";
    return d;
  }
  std::string_view rest = m;
  if (auto avail = m.find("nodes are available"); avail != std::string_view::npos) {
    auto slash = m.rfind('/', avail);
    if (slash != std::string_view::npos) {
      std::size_t i = slash + 1;
      int total = 0;
      bool digits = false;
      while (i < m.size() && std::isdigit(static_cast<unsigned char>(m[i])) && total < 1000000) {
        total = total * 10 + (m[i] - '0');
        digits = true;
        ++i;
      }
      if (digits) d.totalNodes = total;
    }
    auto colon = m.find(':', avail);
    rest = colon == std::string_view::npos ? std::string_view() : trim(m.substr(colon + 1));
    // What follows the reasons is another sentence ("no new claims to
    // deallocate" from dynamic resource allocation).
    if (auto stop = rest.find(". "); stop != std::string_view::npos) rest = trim(rest.substr(0, stop));
  }
  for (const auto& part : splitTopLevel(rest)) {
    // Older schedulers: "3 node(s) had taint {k: v}, that the pod didn't tolerate".
    if (part.starts_with("that the pod") && !d.reasons.empty()) continue;
    d.reasons.push_back(classifySchedulingPart(part));
  }
  if (d.reasons.empty()) d.reasons.push_back({-1, SchedulingCause::Other, "", std::string(m)});
  std::vector<std::string> phrases;
  for (const auto& r : d.reasons) phrases.push_back(reasonPhrase(r));
  d.summary = join(phrases, ", ");
  return d;
}

namespace {

constexpr std::string_view kUnnamedTaintAdvice = "The scheduler does not name the taint: list the nodes' taints with "
                                                 "`kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints`";
constexpr std::string_view kTolerationTo = "; if the pod belongs on those nodes add a toleration for it to ";
constexpr std::string_view kUnnamedTaintEnd = ", otherwise make room on untainted nodes.";

std::string tolerationFor(const NodeTaint& t) {
  std::string out = "{key: " + t.key;
  out += t.value.empty() ? ", operator: Exists" : ", operator: Equal, value: " + t.value;
  if (!t.effect.empty()) out += ", effect: " + t.effect;
  return out + "}";
}

}  // namespace

std::string NodeTaint::text() const {
  return fill("${key}", {{"key", key, "a taint without key"}}) + (value.empty() ? "" : "=" + value) +
         (effect.empty() ? "" : ":" + effect);
}

bool NodeTaint::controlPlane() const { return isControlPlaneTaint(key); }

std::string unnamedTaintAdvice(std::string_view where) {
  return std::string(kUnnamedTaintAdvice) + std::string(kTolerationTo) +
         fill("${where}", {{"where", std::string(where), "the pod spec"}}) + std::string(kUnnamedTaintEnd);
}

std::string nameUnnamedTaints(std::string_view remediation, const std::vector<NodeTaint>& taints) {
  auto start = remediation.find(kUnnamedTaintAdvice);
  if (start == std::string_view::npos || taints.empty()) return std::string(remediation);
  auto to = remediation.find(kTolerationTo, start);
  auto end = to == std::string_view::npos ? std::string_view::npos : remediation.find(kUnnamedTaintEnd, to);
  if (end == std::string_view::npos) return std::string(remediation);
  std::string where(remediation.substr(to + kTolerationTo.size(), end - to - kTolerationTo.size()));
  std::vector<std::string> listed;
  std::vector<std::string> tolerations;
  bool onlyControlPlane = true;
  for (const auto& t : taints) {
    if (listed.size() < 5) {
      listed.push_back(fill("${node} with ${taint}", {{"node", t.node, "a node"}, {"taint", t.text(), "a taint"}}));
    } else if (listed.size() == 5) {
      listed.push_back("…");
    }
    if (t.controlPlane()) continue;
    onlyControlPlane = false;
    if (!t.key.empty()) {
      std::string tol = tolerationFor(t);
      if (std::find(tolerations.begin(), tolerations.end(), tol) == tolerations.end()) tolerations.push_back(tol);
    }
  }
  std::string advice = "The nodes are tainted: " + join(listed, ", ") + ". ";
  if (onlyControlPlane) {
    advice += "Only control-plane nodes carry taints: add worker nodes rather than tolerating the control plane.";
  } else if (tolerations.empty()) {
    advice += fill("If the pod belongs on those nodes add matching tolerations to ${where}", {{"where", where, "the pod spec"}}) +
              std::string(kUnnamedTaintEnd);
  } else {
    advice += fill("If the pod belongs on those nodes add `tolerations: [${tolerations}]` to ${where}",
                   {{"tolerations", join(tolerations, ", "), "<toleration>"}, {"where", where, "the pod spec"}}) +
              std::string(kUnnamedTaintEnd);
  }
  return std::string(remediation.substr(0, start)) + advice + std::string(remediation.substr(end + kUnnamedTaintEnd.size()));
}

std::string schedulingRemediation(const SchedulingDiagnosis& d, const PodSchedulingFacts& facts) {
  std::vector<std::string> out;
  std::string ns = facts.ns.empty() ? std::string() : " -n " + facts.ns;
  std::string where = facts.ownerTarget.empty() ? std::string("the pod spec") : "the pod template of " + facts.ownerTarget;
  bool onlyControlPlaneTaints = true;
  bool anyTaint = false;
  for (const auto& r : d.reasons) {
    if (r.cause == SchedulingCause::UntoleratedTaint) {
      anyTaint = true;
      if (!isControlPlaneTaint(r.detail)) onlyControlPlaneTaints = false;
    }
  }
  for (const auto& r : d.reasons) {
    switch (r.cause) {
      case SchedulingCause::InsufficientResource: {
        std::string asks = facts.requests.empty() ? std::string() : " (it requests " + join(facts.requests, ", ") + ")";
        out.push_back(fill("No node has enough free ${resource} for the pod", {{"resource", r.detail, "resources"}}) + asks +
                      fill(": lower ${requests} in ${where}, free capacity by scaling down other workloads, or add nodes "
                           "(cluster autoscaler); compare with `kubectl describe nodes | grep -A8 'Allocated resources'`.",
                           {{"requests", r.detail.empty() ? "" : "resources.requests." + r.detail, "resources.requests"},
                            {"where", where, "the pod spec"}}));
        break;
      }
      case SchedulingCause::TooManyPods:
        out.push_back("Nodes are at their pod limit (kubelet maxPods): add nodes or remove idle pods.");
        break;
      case SchedulingCause::NodeSelectorMismatch:
        out.push_back("No node has the labels the pod requires" +
                      (facts.nodeSelector.empty() ? std::string() : " (nodeSelector " + facts.nodeSelector + ")") +
                      ": fix spec.nodeSelector / spec.affinity.nodeAffinity in " + where +
                      ", or label a node (`kubectl label node <node> <key>=<value>`); see `kubectl get nodes --show-labels`.");
        break;
      case SchedulingCause::UntoleratedTaint:
        if (r.detail.empty()) {
          out.push_back(unnamedTaintAdvice(where));
        } else if (isControlPlaneTaint(r.detail)) {
          if (anyTaint && onlyControlPlaneTaints && d.reasons.size() == 1) {
            out.push_back(fill("Only control-plane nodes exist: add worker nodes (or, in a dev cluster only, "
                               "`kubectl taint nodes --all ${taint}:NoSchedule-`).",
                               {{"taint", r.detail, "node-role.kubernetes.io/control-plane"}}));
          }
        } else {
          out.push_back(fill("Nodes carry taint ${taint}: if the pod belongs on them add a toleration in ${where} "
                             "(`tolerations: [{key: ${key}, operator: Exists}]`), otherwise make room on untainted nodes.",
                             {{"taint", r.detail, "an unnamed taint"},
                              {"where", where, "the pod spec"},
                              {"key", r.detail.substr(0, r.detail.find('=')), "<taint-key>"}}));
        }
        break;
      case SchedulingCause::NodeUnschedulable:
        out.push_back("Nodes are cordoned: `kubectl uncordon <node>` once maintenance is over.");
        break;
      case SchedulingCause::UnboundClaims:
        out.push_back("The pod waits for its PersistentVolumeClaim(s)" +
                      (facts.claims.empty() ? std::string() : " " + join(facts.claims, ", ")) +
                      fill(" to bind: `kubectl describe pvc ${claim}", {{"claim", facts.claims.empty() ? "" : facts.claims[0], "<claim>"}}) +
                      ns + "` shows why (missing StorageClass, no matching PersistentVolume).");
        break;
      case SchedulingCause::ClaimNotFound:
        out.push_back(fill("Create ${claim} or fix spec.volumes[].persistentVolumeClaim.claimName in ${where}.",
                           {{"claim", r.detail.empty() ? "" : "PersistentVolumeClaim " + r.detail, "the PersistentVolumeClaim"},
                            {"where", where, "the pod spec"}}));
        break;
      case SchedulingCause::VolumeNodeAffinity:
        out.push_back("The pod's PersistentVolume is pinned to a zone or node that cannot take the pod: add capacity there, "
                      "or use a StorageClass with volumeBindingMode: WaitForFirstConsumer.");
        break;
      case SchedulingCause::PodAffinity:
      case SchedulingCause::PodAntiAffinity:
        out.push_back("Required pod (anti-)affinity rules leave no node: relax them to preferredDuringScheduling in " + where +
                      " or add nodes.");
        break;
      case SchedulingCause::HostPortConflict:
        out.push_back("Another pod already uses the requested hostPort on every node: drop hostPort or run fewer replicas than nodes.");
        break;
      case SchedulingCause::NoNodes:
        out.push_back("No node is registered and Ready: check `kubectl get nodes`.");
        break;
      case SchedulingCause::Other:
        out.push_back(fill("Read the scheduler's message: `kubectl describe pod ${pod}", {{"pod", facts.pod, "<pod>"}}) + ns + "`.");
        break;
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return join(out, " ");
}

PullCause classifyPull(std::string_view reason, std::string_view message) {
  if (reason == "InvalidImageName" || containsNoCase(message, "invalid reference format")) return PullCause::InvalidName;
  if (reason == "ErrImageNeverPull" || containsNoCase(message, "imagepullpolicy is set to never")) return PullCause::NeverPull;
  if (containsAnyNoCase(message, {"toomanyrequests", "rate limit"})) return PullCause::RateLimited;
  if (containsAnyNoCase(message, {"no such host", "dial tcp", "i/o timeout", "connection refused", "tls handshake timeout",
                                  "x509:", "network is unreachable", "no route to host"})) {
    return PullCause::Unreachable;
  }
  if (containsAnyNoCase(message, {"pull access denied", "may require authorization"})) return PullCause::AccessDeniedOrMissing;
  if (containsAnyNoCase(message, {"unauthorized", "authentication required", "denied", "401", "403 forbidden",
                                  "insufficient_scope", "no basic auth credentials"})) {
    return PullCause::Unauthorized;
  }
  if (containsAnyNoCase(message, {"manifest unknown", "not found", "code = notfound", "name unknown"})) return PullCause::NotFound;
  return PullCause::Unknown;
}

std::string pullCauseText(PullCause cause) {
  switch (cause) {
    case PullCause::NotFound: return "the image or tag does not exist";
    case PullCause::Unauthorized: return "the registry refused the credentials (imagePullSecrets)";
    case PullCause::AccessDeniedOrMissing: return "the repository does not exist or needs credentials";
    case PullCause::Unreachable: return "the registry is unreachable from the node";
    case PullCause::RateLimited: return "the registry rate-limits the pulls";
    case PullCause::InvalidName: return "the image reference is invalid";
    case PullCause::NeverPull: return "imagePullPolicy is Never and the image is not on the node";
    case PullCause::Unknown: break;
  }
  return {};
}

namespace {

bool validComponent(std::string_view c) {
  if (c.empty()) return false;
  for (char ch : c) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == '-';
    if (!ok) return false;
  }
  return std::isalnum(static_cast<unsigned char>(c.front())) && std::isalnum(static_cast<unsigned char>(c.back()));
}

}  // namespace

std::string ImageRef::fullName() const { return valid ? registry + "/" + repository : std::string(); }

ImageRef parseImageRef(std::string_view image) {
  ImageRef ref;
  std::string_view s = image;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  if (s.empty() || s.find_first_of(" \t\r\n\"'") != std::string_view::npos) return ref;
  if (auto at = s.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(s.substr(at + 1));
    s = s.substr(0, at);
    auto colon = ref.digest.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == ref.digest.size()) return ref;
  }
  // The first component names the registry when it looks like a host: a
  // dot, a port, "localhost", an IPv6 literal or capitals (as the runtime decides).
  std::string_view rest = s;
  std::string_view domain;
  if (auto slash = s.find('/'); slash != std::string_view::npos) {
    std::string_view first = s.substr(0, slash);
    bool upper = std::any_of(first.begin(), first.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
    if (first.find_first_of(".:[") != std::string_view::npos || first == "localhost" || upper) {
      domain = first;
      rest = s.substr(slash + 1);
    }
  }
  std::string_view written = s;
  if (auto colon = rest.rfind(':'); colon != std::string_view::npos) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    written = s.substr(0, s.size() - ref.tag.size() - 1);
    if (ref.tag.empty() || ref.tag.size() > 128 || ref.tag.find('/') != std::string::npos) return ref;
  }
  if (rest.empty()) return ref;
  std::size_t start = 0;
  while (start <= rest.size()) {
    auto slash = rest.find('/', start);
    std::string_view component = rest.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!validComponent(component)) return ref;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  ref.registry = domain.empty() || domain == "index.docker.io" ? std::string("docker.io") : std::string(domain);
  ref.repository = std::string(rest);
  if (ref.registry == "docker.io" && ref.repository.find('/') == std::string::npos) ref.repository = "library/" + ref.repository;
  ref.written = std::string(written);
  ref.valid = true;
  return ref;
}

std::string registryOf(std::string_view image) { return parseImageRef(image).registry; }

std::string imageInMessage(std::string_view message) {
  for (std::string_view marker : {"image \"", "Image \""}) {
    std::string img = between(message, marker, "\"");
    if (!img.empty()) return img;
  }
  return {};
}

std::string imageInPullTitle(std::string_view title) {
  constexpr std::string_view kMarker = "cannot pull image ";
  auto p = title.find(kMarker);
  if (p == std::string_view::npos) return {};
  std::string_view rest = title.substr(p + kMarker.size());
  std::string image(rest.substr(0, rest.find(' ')));
  while (!image.empty() && (image.back() == ':' || image.back() == ',' || image.back() == ';')) image.pop_back();
  return parseImageRef(image).valid ? image : std::string();
}

std::string pullRemediation(PullCause cause, const PullFacts& f) {
  std::string n = f.ns.empty() ? std::string() : " -n " + f.ns;
  ImageRef ref = parseImageRef(f.image);
  std::string ofContainer = f.container.empty() ? std::string() : " of container " + f.container;
  std::string registry = ref.valid ? ref.registry : std::string();
  std::string setImage =
      f.ownerTarget.empty()
          ? std::string("fix spec.containers[].image")
          : fill("`kubectl set image ${target} ${container}=${repository}:<existing-tag>",
                 {{"target", f.ownerTarget, "<workload>"}, {"container", f.container, "<container>"},
                  {"repository", ref.written, "<repository>"}}) +
                n + "`";
  std::string secrets = f.pullSecrets == nullptr  ? std::string("check the pod's imagePullSecrets")
                        : f.pullSecrets->empty() ? std::string("the pod has no imagePullSecrets")
                                                 : "the pod uses imagePullSecrets " + join(*f.pullSecrets, ", ");
  // When the message did not carry the image, say where to read it.
  std::string findImage = !f.image.empty() ? std::string()
                                    : fill(" The message does not name the image: `kubectl get pod ${pod}",
                                           {{"pod", f.pod, "<pod>"}}) +
                                          n + " -o jsonpath='{.spec.containers[*].image}'` shows it.";
  switch (cause) {
    case PullCause::NotFound:
      return fill("${image} does not exist in ${registry}: check which tags exist (registry UI or `crane ls ${repository}`), "
                  "then point the workload at one: ${setImage}.",
                  {{"image", f.image.empty() ? "" : "Image " + f.image, "The image" + ofContainer},
                   {"registry", registry, "its registry"},
                   {"repository", ref.fullName(), "<repository>"},
                   {"setImage", setImage, "fix spec.containers[].image"}}) +
             findImage;
    case PullCause::Unauthorized:
      return fill("${registry} refused the pull credentials (${secrets}): create a pull Secret (`kubectl create secret "
                  "docker-registry regcred --docker-server=${server} --docker-username=<user> --docker-password=<token>",
                  {{"registry", registry, "The registry"}, {"secrets", secrets, "check the pod's imagePullSecrets"},
                   {"server", registry, "<registry>"}}) +
             n +
             fill("`) and reference it in spec.imagePullSecrets or the ServiceAccount; check the token can read ${repository}.",
                  {{"repository", ref.fullName(), "the repository"}}) +
             findImage;
    case PullCause::AccessDeniedOrMissing:
      return fill("Either ${repository} does not exist (check the image name for typos) or it is private (${secrets}): add a "
                  "docker-registry Secret for ${registry} to spec.imagePullSecrets.",
                  {{"repository", ref.fullName(), "the repository"}, {"secrets", secrets, "check the pod's imagePullSecrets"},
                   {"registry", registry, "its registry"}}) +
             findImage;
    case PullCause::Unreachable:
      return fill("The node cannot reach ${registry} (DNS, egress firewall, proxy or TLS): check the registry host in the image "
                  "name, node DNS and egress; or mirror the image to a reachable registry.",
                  {{"registry", registry, "the registry"}}) +
             findImage;
    case PullCause::RateLimited:
      return fill("${registry} throttles anonymous pulls: authenticate with an imagePullSecret or pull through a mirror/cache.",
                  {{"registry", registry, "The registry"}});
    case PullCause::InvalidName:
      return fill("The image reference ${image} is malformed: fix spec.containers[].image (registry/repository:tag).",
                  {{"image", f.image.empty() ? "" : "\"" + f.image + "\"", ofContainer.empty() ? "" : ofContainer.substr(1)}});
    case PullCause::NeverPull:
      return "imagePullPolicy is Never but the image is not on the node: use IfNotPresent or preload the image.";
    case PullCause::Unknown: break;
  }
  return "Read the pull error in the pod's events (`kubectl get events" + n +
         fill(" --field-selector reason=Failed`); check the image name ${image} and access to ${registry}.",
              {{"image", f.image, "in the pod spec"}, {"registry", registry, "its registry"}}) +
         findImage;
}

std::optional<ConfigRefError> parseConfigRefError(std::string_view message) {
  std::string lower = toLower(message);
  if (auto k = lower.find("couldn't find key "); k != std::string::npos) {
    ConfigRefError e;
    std::size_t keyStart = k + 18;
    auto in = lower.find(" in ", keyStart);
    if (in == std::string::npos) return std::nullopt;
    e.key = std::string(trim(message.substr(keyStart, in - keyStart)));
    if (e.key.empty()) return std::nullopt;
    std::string_view rest = message.substr(in + 4);
    if (rest.starts_with("Secret ") || rest.starts_with("secret ")) {
      e.kind = "Secret";
      rest.remove_prefix(7);
    } else if (rest.starts_with("ConfigMap ") || rest.starts_with("configmap ")) {
      e.kind = "ConfigMap";
      rest.remove_prefix(10);
    } else {
      return std::nullopt;
    }
    auto end = rest.find_first_of(" ,;:\"");
    std::string_view ref = rest.substr(0, end);
    if (auto slash = ref.find('/'); slash != std::string_view::npos) ref = ref.substr(slash + 1);
    e.name = std::string(ref);
    return e;
  }
  for (std::string_view kind : {"configmap", "secret"}) {
    std::string marker = std::string(kind) + " \"";
    auto p = lower.find(marker);
    if (p == std::string::npos) continue;
    auto nameStart = p + marker.size();
    auto nameEnd = lower.find('"', nameStart);
    if (nameEnd == std::string::npos || lower.compare(nameEnd, 11, "\" not found") != 0) continue;
    return ConfigRefError{kind == "configmap" ? "ConfigMap" : "Secret", std::string(message.substr(nameStart, nameEnd - nameStart)), ""};
  }
  if (auto p = lower.find("references non-existent config key: "); p != std::string::npos) {
    ConfigRefError e;
    e.kind = lower.find("secret") != std::string::npos ? "Secret" : "ConfigMap";
    std::string_view key = message.substr(p + 36);
    e.key = std::string(key.substr(0, key.find_first_of(" ,;\"")));
    return e;
  }
  return std::nullopt;
}

std::string configRefPhrase(const ConfigRefError& e) {
  std::string kind = e.kind.empty() ? std::string("ConfigMap or Secret") : e.kind;
  std::string obj = e.name.empty() ? "a " + kind : kind + " " + e.name;
  if (e.key.empty()) return obj + " not found";
  return "key " + e.key + " not found in " + obj;
}

std::string configRefRemediation(const ConfigRefError& e, std::string_view ns, std::string_view ownerTarget) {
  std::string n = ns.empty() ? std::string() : " -n " + std::string(ns);
  std::string where = ownerTarget.empty() ? std::string("the pod spec") : "the pod template of " + std::string(ownerTarget);
  std::string kind = e.kind.empty() ? std::string("ConfigMap") : e.kind;
  std::string name = e.name.empty() ? std::string("<name>") : e.name;
  std::string create = kind == "Secret" ? "`kubectl create secret generic " + name + n + " --from-literal=<KEY>=<value>`"
                                        : "`kubectl create configmap " + name + n + " --from-file=<file>`";
  if (e.key.empty()) {
    return "Create " + kind + " " + name + " in the namespace (" + create +
           ", or apply it from your manifests) or fix the name referenced in " + where +
           " (env valueFrom, envFrom, volumes); the kubelet retries on its own. Use optional: true only if the app runs without it.";
  }
  std::string ref = kind == "Secret" ? "secretKeyRef" : "configMapKeyRef";
  return "Add key " + e.key + " to " + kind + " " + name + " (`kubectl edit " + toLower(kind) + " " + name + n +
         "` or re-create it from your manifests), or fix env[].valueFrom." + ref + ".key / volume items in " + where + ".";
}

std::optional<QuotaExceeded> parseExceededQuota(std::string_view message) {
  auto p = message.find("exceeded quota: ");
  if (p == std::string_view::npos) return std::nullopt;
  std::string_view rest = message.substr(p + 16);
  QuotaExceeded q;
  auto comma = rest.find(',');
  q.quota = std::string(trim(rest.substr(0, comma)));
  std::string requested = between(rest, "requested: ", ", used: ");
  std::string used = between(rest, "used: ", ", limited: ");
  std::string limited;
  if (auto l = rest.find("limited: "); l != std::string_view::npos) limited = std::string(trim(rest.substr(l + 9)));
  auto req = parseResourceList(requested);
  auto use = parseResourceList(used);
  auto lim = parseResourceList(limited);
  for (const auto& [res, limit] : lim) {
    QuotaUse u{res, lookup(req, res), lookup(use, res), limit};
    auto r = parseQuantity(u.requested), us = parseQuantity(u.used), li = parseQuantity(u.limited);
    if (r && us && li && *us + *r > *li) q.blocking.push_back(u);
  }
  if (q.blocking.empty()) {
    for (const auto& [res, value] : req) q.blocking.push_back({res, value, lookup(use, res), lookup(lim, res)});
  }
  return q;
}

CreateFailure describeCreateFailure(std::string_view message, std::string_view ns) {
  CreateFailure f;
  std::string n = ns.empty() ? std::string() : " -n " + std::string(ns);
  std::string_view m = message;
  if (auto p = m.find("Error creating: "); p != std::string_view::npos) m = m.substr(p + 16);
  if (auto q = parseExceededQuota(m)) {
    std::vector<std::string> uses;
    std::vector<std::string> resources;
    for (const auto& u : q->blocking) {
      if (u.resource.empty()) continue;
      uses.push_back(fill("${resource} ${used}/${limited} used", {{"resource", u.resource, "a resource"},
                                                                  {"used", u.used, "?"},
                                                                  {"limited", u.limited, "?"}}) +
                     (u.requested.empty() ? std::string() : ", " + u.requested + " more requested"));
      resources.push_back("spec.hard." + u.resource);
    }
    f.summary = fill("${quota} is exhausted", {{"quota", q->quota.empty() ? "" : "ResourceQuota " + q->quota, "a ResourceQuota"}}) +
                (uses.empty() ? std::string() : ": " + join(uses, "; "));
    f.remediation = fill("Raise ${resources} in ${quota} (`kubectl edit resourcequota ${name}",
                         {{"resources", join(resources, ", "), "spec.hard"},
                          {"quota", q->quota.empty() ? "" : "ResourceQuota " + q->quota, "the ResourceQuota"},
                          {"name", q->quota, "<quota>"}}) +
                    n + "`), or free quota: scale down or delete unused workloads and finished pods, or lower the pod template's requests.";
    f.quota = q->quota;
    f.quotaRelated = true;
    return f;
  }
  if (auto p = m.find("failed quota: "); p != std::string_view::npos) {
    std::string_view rest = m.substr(p + 14);
    f.quota = std::string(trim(rest.substr(0, rest.find(':'))));
    std::string detail = shorten(trim(rest.substr(std::min(rest.size(), rest.find(':') == std::string_view::npos ? rest.size()
                                                                                                                   : rest.find(':') + 1))),
                                 120);
    f.summary = fill("${quota} requires resource requests/limits the pods do not set",
                     {{"quota", f.quota.empty() ? "" : "ResourceQuota " + f.quota, "a ResourceQuota"}}) +
                (detail.empty() ? std::string() : " (" + detail + ")");
    f.remediation = fill("Set the resources it names (resources.requests / resources.limits) on every container of the pod "
                         "template, or add a LimitRange with defaults (`kubectl describe resourcequota ${quota}",
                         {{"quota", f.quota, "<quota>"}}) +
                    n + "`).";
    f.quotaRelated = true;
    return f;
  }
  if (auto p = m.find("violates PodSecurity"); p != std::string_view::npos) {
    f.summary = "pods " + shorten(oneLine(m.substr(p)), 160);
    f.remediation = "Make the pod template meet the namespace's Pod Security level (for restricted: runAsNonRoot: true, "
                    "allowPrivilegeEscalation: false, capabilities.drop: [ALL], seccompProfile.type: RuntimeDefault), or "
                    "change the namespace label pod-security.kubernetes.io/enforce if the policy is wrong.";
    return f;
  }
  if (containsNoCase(m, "serviceaccount \"") && containsNoCase(m, "not found")) {
    std::string sa = between(m, "serviceaccount \"", "\"");
    f.summary = fill("${sa} not found", {{"sa", sa.empty() ? "" : "ServiceAccount " + sa, "its ServiceAccount is"}});
    f.remediation = fill("Create it (`kubectl create serviceaccount ${sa}", {{"sa", sa, "<name>"}}) + n +
                    "`) or fix spec.serviceAccountName in the pod template.";
    return f;
  }
  if (auto p = m.find("admission webhook \""); p != std::string_view::npos) {
    std::string hook = between(m, "admission webhook \"", "\"");
    auto denied = m.find("denied", p);
    f.summary = fill("admission webhook ${hook} denied the pod: ${why}",
                     {{"hook", hook, "(unnamed)"},
                      {"why", shorten(oneLine(m.substr(denied == std::string_view::npos ? p : denied)), 140), "no reason given"}});
    f.remediation = fill("Change the pod template to satisfy the webhook's policy, or check the policy behind ${hook}.",
                         {{"hook", hook, "the webhook"}});
    return f;
  }
  if (containsAnyNoCase(m, {"per container is", "per pod is", "limitrange"})) {
    f.summary = "a LimitRange rejects the pod: " + shorten(oneLine(m), 140);
    f.remediation = "Fit the containers' resources to the LimitRange (`kubectl describe limitrange" + n + "`), or change it.";
    return f;
  }
  f.summary = fill("${message}", {{"message", shorten(oneLine(trim(m)), 180), "the API server rejected them without a message"}});
  f.remediation = "Fix what the API server rejects in the pod template; the controller retries creating pods on its own.";
  return f;
}

}  // namespace opscopilot::tools::analysis
