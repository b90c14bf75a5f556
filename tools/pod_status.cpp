#include "tools/pod_status.h"

#include <algorithm>

#include "tools/render.h"

namespace opscopilot::tools {

namespace {

using kube::member;
using kube::stringMember;

// Waiting reasons that are part of a normal start, not a failure.
bool isStartingReason(std::string_view r) {
  return r.empty() || r == "ContainerCreating" || r == "PodInitializing";
}

const rapidjson::Value* conditionOf(const rapidjson::Value& pod, std::string_view type) {
  const auto* conds = valueAt(pod, {"status", "conditions"});
  if (!conds || !conds->IsArray()) return nullptr;
  for (const auto& c : conds->GetArray()) {
    if (stringMember(c, "type") == type) return &c;
  }
  return nullptr;
}

// The failure a container status shows, or "".
std::string containerProblem(const rapidjson::Value& cs) {
  auto waiting = stringAt(cs, {"state", "waiting", "reason"});
  if (!isStartingReason(waiting)) {
    auto last = stringAt(cs, {"lastState", "terminated", "reason"});
    std::string p(waiting);
    if (waiting == "CrashLoopBackOff" && !last.empty() && last != "Error" && last != "Completed") {
      p += " (" + std::string(last) + ")";
    }
    return p;
  }
  if (const auto* t = valueAt(cs, {"state", "terminated"}); t && intAt(*t, {"exitCode"}).value_or(0) != 0) {
    auto r = stringMember(*t, "reason");
    return r.empty() ? std::string("Error") : std::string(r);
  }
  return {};
}

std::string renderState(const rapidjson::Value* state, bool ready, bool current) {
  if (!state || !state->IsObject()) return "no state";
  if (const auto* w = member(*state, "waiting")) {
    std::string s = "waiting " + std::string(stringMember(*w, "reason"));
    if (auto m = stringMember(*w, "message"); !m.empty()) s += " " + quoted(m);
    return s;
  }
  if (const auto* r = member(*state, "running")) {
    std::string s = "running since " + std::string(stringMember(*r, "startedAt"));
    if (current && !ready) s += ", not ready";
    return s;
  }
  if (const auto* t = member(*state, "terminated")) {
    std::string s = "terminated exit " + scalarText(member(*t, "exitCode"));
    if (auto r = stringMember(*t, "reason"); !r.empty()) s += " (" + std::string(r) + ")";
    if (auto f = stringMember(*t, "finishedAt"); !f.empty()) s += " at " + std::string(f);
    if (auto m = stringMember(*t, "message"); !m.empty()) s += ": " + quoted(m);
    return s;
  }
  return "no state";
}

std::string renderContainerStatus(const rapidjson::Value& cs, std::string_view label) {
  bool ready = member(cs, "ready") && member(cs, "ready")->IsBool() && member(cs, "ready")->GetBool();
  std::string s = "\n  " + std::string(label) + " " + std::string(stringMember(cs, "name")) + ": " +
                  renderState(member(cs, "state"), ready, true);
  if (valueAt(cs, {"lastState", "terminated"})) s += "; last " + renderState(member(cs, "lastState"), true, false);
  s += "; restarts " + std::to_string(intAt(cs, {"restartCount"}).value_or(0));
  s += "; image " + std::string(stringMember(cs, "image"));
  return s;
}

// Containers of the spec that have no status yet ("no status yet; image X").
std::string renderMissingStatuses(const rapidjson::Value& pod, const char* specKey, const char* statusKey,
                                  std::string_view label) {
  const auto* specs = valueAt(pod, {"spec", specKey});
  if (!specs || !specs->IsArray()) return {};
  const auto* statuses = valueAt(pod, {"status", statusKey});
  std::string out;
  for (const auto& c : specs->GetArray()) {
    auto name = stringMember(c, "name");
    bool has = false;
    if (statuses && statuses->IsArray()) {
      for (const auto& cs : statuses->GetArray()) has = has || stringMember(cs, "name") == name;
    }
    if (!has) {
      out += "\n  " + std::string(label) + " " + std::string(name) + ": no status yet; image " +
             std::string(stringMember(c, "image"));
    }
  }
  return out;
}

}  // namespace

PodHealth podHealth(const rapidjson::Value& pod) {
  PodHealth h;
  auto phase = stringAt(pod, {"status", "phase"});
  const auto* ready = conditionOf(pod, "Ready");
  h.ready = ready && stringMember(*ready, "status") == "True";
  std::string initProblem, containerProblemText;
  for (auto key : {"initContainerStatuses", "containerStatuses"}) {
    const auto* list = valueAt(pod, {"status", key});
    if (!list || !list->IsArray()) continue;
    for (const auto& cs : list->GetArray()) {
      h.restarts += intAt(cs, {"restartCount"}).value_or(0);
      auto p = containerProblem(cs);
      if (p.empty()) continue;
      if (std::string_view(key) == "initContainerStatuses") {
        if (initProblem.empty()) initProblem = "Init:" + p;
      } else if (containerProblemText.empty()) {
        containerProblemText = p;
      }
    }
  }
  if (phase == "Succeeded") {
    h.rank = 4;
    h.problem = "Completed";
  } else if (phase == "Failed") {
    h.rank = 0;
    auto r = stringAt(pod, {"status", "reason"});
    h.problem = r.empty() ? "Failed" : std::string(r);
  } else if (!initProblem.empty()) {
    h.rank = 0;
    h.problem = initProblem;
  } else if (!containerProblemText.empty()) {
    h.rank = 0;
    h.problem = containerProblemText;
  } else if (valueAt(pod, {"metadata", "deletionTimestamp"})) {
    h.rank = 2;
    h.problem = "Terminating";
  } else if (phase == "Pending" || phase.empty()) {
    h.rank = 1;
    const auto* sched = conditionOf(pod, "PodScheduled");
    auto reason = sched && stringMember(*sched, "status") == "False" ? stringMember(*sched, "reason") : "";
    h.problem = reason.empty() ? "Pending" : std::string(reason);
  } else if (!h.ready) {
    h.rank = 2;
    h.problem = phase == "Running" ? "NotReady" : std::string(phase);
  }
  return h;
}

void sortUnhealthyFirst(std::vector<kube::ObjectPtr>& pods) {
  struct Keyed {
    PodHealth h;
    kube::ObjectPtr pod;
  };
  std::vector<Keyed> keyed;
  keyed.reserve(pods.size());
  for (auto& p : pods) keyed.push_back({podHealth(p->json()), std::move(p)});
  std::stable_sort(keyed.begin(), keyed.end(), [](const Keyed& a, const Keyed& b) {
    if (a.h.rank != b.h.rank) return a.h.rank < b.h.rank;
    if (a.h.restarts != b.h.restarts) return a.h.restarts > b.h.restarts;
    return a.pod->name() < b.pod->name();
  });
  pods.clear();
  for (auto& k : keyed) pods.push_back(std::move(k.pod));
}

std::string renderPod(const rapidjson::Value& pod) {
  std::string out = "Pod " + std::string(stringAt(pod, {"metadata", "name"}));
  auto node = stringAt(pod, {"spec", "nodeName"});
  out += node.empty() ? " (not scheduled)" : " (node " + std::string(node) + ")";
  out += ": phase " + std::string(stringAt(pod, {"status", "phase"}));
  if (const auto* ready = conditionOf(pod, "Ready")) {
    out += ", Ready " + std::string(stringMember(*ready, "status"));
    if (auto r = stringMember(*ready, "reason"); !r.empty()) out += " (" + std::string(r) + ")";
  }
  if (auto r = stringAt(pod, {"status", "reason"}); !r.empty()) out += "; reason " + std::string(r);
  if (auto m = stringAt(pod, {"status", "message"}); !m.empty()) out += " " + quoted(m);
  if (valueAt(pod, {"metadata", "deletionTimestamp"})) out += "; terminating";
  for (auto [key, label] : {std::pair{"initContainerStatuses", "init container"},
                            std::pair{"containerStatuses", "container"}}) {
    const auto* list = valueAt(pod, {"status", key});
    if (!list || !list->IsArray()) continue;
    for (const auto& cs : list->GetArray()) out += renderContainerStatus(cs, label);
  }
  out += renderMissingStatuses(pod, "initContainers", "initContainerStatuses", "init container");
  out += renderMissingStatuses(pod, "containers", "containerStatuses", "container");
  // Ready and ContainersReady are in the first line already.
  if (const auto* conds = valueAt(pod, {"status", "conditions"}); conds && conds->IsArray()) {
    for (const auto& c : conds->GetArray()) {
      auto type = stringMember(c, "type");
      if (type == "Ready" || type == "ContainersReady" || !isAbnormalCondition(c)) continue;
      out += "\n  condition " + std::string(type) + " " + std::string(stringMember(c, "status"));
      if (auto r = stringMember(c, "reason"); !r.empty()) out += " (" + std::string(r) + ")";
      if (auto m = stringMember(c, "message"); !m.empty()) out += ": " + quoted(m);
    }
  }
  return out;
}

std::string podsSummary(const std::vector<kube::ObjectPtr>& pods) {
  if (pods.empty()) return "no pods";
  std::vector<std::string> bad;
  bool completed = false;
  for (const auto& p : pods) {
    auto h = podHealth(p->json());
    if (h.unhealthy()) bad.push_back(std::string(p->name()) + " " + h.problem);
    completed = completed || h.rank == 4;
  }
  std::string out = std::to_string(pods.size()) + (pods.size() == 1 ? " pod" : " pods");
  if (bad.empty()) return out + (completed ? ", all ready or completed" : ", all ready");
  out += ", " + std::to_string(bad.size()) + " not ready: ";
  constexpr std::size_t kNamed = 3;
  std::vector<std::string> named(bad.begin(), bad.begin() + std::min(bad.size(), kNamed));
  out += join(named, ", ");
  if (bad.size() > kNamed) out += " (+" + std::to_string(bad.size() - kNamed) + " more)";
  return out;
}

std::vector<std::string> containerNames(const rapidjson::Value& pod) {
  std::vector<std::string> names;
  for (auto key : {"containers", "initContainers", "ephemeralContainers"}) {
    const auto* list = valueAt(pod, {"spec", key});
    if (!list || !list->IsArray()) continue;
    for (const auto& c : list->GetArray()) names.emplace_back(stringMember(c, "name"));
  }
  return names;
}

// The kubelet answers HTTP 200 with one of these single lines, not the log,
// when the container runtime no longer (or not yet) has the instance asked
// for: with --previous in the seconds after a crash, when the instance before
// the one that just exited has been garbage-collected ("unable to retrieve
// container logs for containerd://ID"), or when its log file has just been
// removed ("failed to try resolving symlinks in path \"/var/log/pods/...\":
// lstat ...: no such file or directory"). Neither is ever the app's output.
bool isKubeletLogPlaceholder(const std::string& text) {
  std::string_view rest = text;
  while (!rest.empty() && (rest.back() == '\n' || rest.back() == '\r')) rest.remove_suffix(1);
  if (rest.find('\n') != std::string_view::npos) return false;
  static constexpr std::string_view kGone = "unable to retrieve container logs for ";
  if (rest.starts_with(kGone)) {
    rest.remove_prefix(kGone.size());
    auto scheme = rest.find("://");
    return scheme != std::string_view::npos && scheme > 0 && rest.find(' ') == std::string_view::npos;
  }
  static constexpr std::string_view kNoFile = "failed to try resolving symlinks in path \"";
  return rest.starts_with(kNoFile) && rest.find(".log\": lstat ") != std::string_view::npos &&
         rest.ends_with(": no such file or directory");
}

// How many times the kubelet restarted the container (0 when unknown).
std::int64_t restartsOf(const rapidjson::Value& pod, const std::string& container) {
  for (auto key : {"initContainerStatuses", "containerStatuses"}) {
    const auto* list = valueAt(pod, {"status", key});
    if (!list || !list->IsArray()) continue;
    for (const auto& cs : list->GetArray()) {
      if (stringMember(cs, "name") != container) continue;
      const auto* n = valueAt(cs, {"restartCount"});
      return n && n->IsInt64() ? n->GetInt64() : 0;
    }
  }
  return 0;
}

}  // namespace opscopilot::tools
