#include "agent/planner.h"

#include <algorithm>
#include <cctype>
#include <re2/re2.h>

namespace opscopilot::agent {

namespace {

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "\"";
}

// The phrase as an RE2 pattern matching it literally: only the characters
// with a meaning in a pattern are escaped, so the pattern still reads as the
// phrase in the answer ("upstream timed out \(110\)").
std::string literalPattern(const std::string& phrase) {
  std::string out;
  for (char c : phrase) {
    if (std::string_view("\\.+*?()|[]{}^$").find(c) != std::string_view::npos) out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

bool mentions(const std::string& lowerQuestion, std::initializer_list<const char*> words) {
  return std::any_of(words.begin(), words.end(),
                     [&](const char* w) { return lowerQuestion.find(w) != std::string::npos; });
}

}  // namespace

std::vector<PlannedCall> BuiltinPlanner::initialPlan(const RunSpec& spec) {
  std::vector<PlannedCall> plan;
  const std::string& kind = spec.targetKind;
  const std::string name = quoted(spec.targetName);
  auto add = [&](std::string tool, std::string args, std::string reason) {
    plan.push_back(PlannedCall{std::move(tool), std::move(args), std::move(reason)});
  };

  if (kind.empty() || kind == "Namespace") {
    add("list_pods", "{}", "list the pods of the namespace and their container states");
    add("get_events", R"({"warningsOnly":true})", "recent warning events in the namespace");
  } else if (kind == "Pod") {
    if (!spec.targetName.empty()) {
      add("list_pods", "{\"names\":[" + name + "]}", "read the pod and its container states");
      add("get_events", "{\"kind\":\"Pod\",\"name\":" + name + "}", "events about the pod");
    } else {
      add("list_pods", "{\"selector\":" + quoted(spec.targetSelector) + "}", "read the selected pods");
    }
  } else if (kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" || kind == "ReplicaSet" ||
             kind == "Job" || kind == "CronJob") {
    if (!spec.targetName.empty()) {
      add("get_workload", "{\"kind\":\"" + kind + "\",\"name\":" + name + "}",
          "read the " + kind + " and its rollout conditions");
    } else {
      add("list_pods", "{\"selector\":" + quoted(spec.targetSelector) + "}", "read the selected pods");
    }
  } else if (kind == "Service") {
    add("get_service", "{\"name\":" + name + "}", "read the service, its endpoints and the pods it selects");
  } else if (kind == "PersistentVolumeClaim") {
    add("get_storage", "{\"name\":" + name + "}", "read the claim, its volume and storage class");
    add("get_events", "{\"kind\":\"PersistentVolumeClaim\",\"name\":" + name + "}", "events about the claim");
  } else if (kind == "Ingress") {
    add("get_ingress", "{\"name\":" + name + "}", "read the ingress and its backends");
  } else if (kind == "HorizontalPodAutoscaler") {
    add("get_hpa", "{\"name\":" + name + "}", "read the autoscaler and its conditions");
  } else if (kind == "Node") {
    add("get_nodes", "{\"names\":[" + name + "]}", "read the node's conditions, capacity and taints");
  } else {
    add("list_pods", "{}", "list the pods of the namespace");
  }

  std::string q = spec.question;
  std::transform(q.begin(), q.end(), q.begin(), [](unsigned char c) { return std::tolower(c); });
  if (mentions(q, {"quota", "limitrange", "limit range", "forbidden: exceeded"})) {
    add("get_quotas", "{}", "the question mentions quotas");
  }
  if (kind != "PersistentVolumeClaim" && mentions(q, {"volume", "pvc", "storage", "disk", "mount"})) {
    add("get_storage", "{}", "the question mentions storage");
  }
  if (kind != "HorizontalPodAutoscaler" && mentions(q, {"autoscal", "hpa", "scale up", "scaling"})) {
    add("get_hpa", "{}", "the question mentions autoscaling");
  }
  if (kind != "Ingress" && mentions(q, {"ingress", "404", "502", "503", "url", "route"})) {
    add("get_ingress", "{}", "the question mentions ingress or HTTP errors");
  }

  // "What is in configmap/app-config?" (or configmap "app-config"): reading
  // values needs a person's approval; the gated call is planned and the run
  // waits for it. The name must be explicit (a slash or quotes).
  // RE2: linear in the question's length, no recursion.
  static const re2::RE2 configMapName(R"re((?i)configmaps?(?:/|\s+["'`])([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?))re");
  if (std::string name; re2::RE2::PartialMatch(q, configMapName, &name)) {
    add("read_configmap_data", "{\"name\":" + quoted(name) + "}", "the question asks about this ConfigMap's data");
  }

  // A phrase in quotes ("why do we log \"connection reset\"?"): search the
  // target's logs for it, literally. Not a ConfigMap's name asked about above.
  static const re2::RE2 quotedPhrase(
      R"re((?:^|[\s(:,])(?:"([^"\x00-\x1f]{3,120})"|`([^`\x00-\x1f]{3,120})`|'([^'\x00-\x1f]{3,120})'|\x{201C}([^\x{201D}\x00-\x1f]{3,120})\x{201D}))re");
  std::string p1, p2, p3, p4;
  if (re2::RE2::PartialMatch(spec.question, quotedPhrase, &p1, &p2, &p3, &p4)) {
    std::string phrase = !p1.empty() ? p1 : !p2.empty() ? p2 : !p3.empty() ? p3 : p4;
    std::string lowerPhrase = phrase;
    std::transform(lowerPhrase.begin(), lowerPhrase.end(), lowerPhrase.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    bool configMapName = std::any_of(plan.begin(), plan.end(), [&](const PlannedCall& c) {
      return c.tool == "read_configmap_data" && c.argsJson == "{\"name\":" + quoted(lowerPhrase) + "}";
    });
    std::string scope;
    if (kind == "Pod" && !spec.targetName.empty()) {
      scope = ",\"kind\":\"Pod\",\"name\":" + name;
    } else if ((kind == "Deployment" || kind == "StatefulSet" || kind == "DaemonSet" || kind == "ReplicaSet" ||
                kind == "Job") && !spec.targetName.empty()) {
      scope = ",\"kind\":\"" + kind + "\",\"name\":" + name;
    } else if (!spec.targetSelector.empty()) {
      scope = ",\"selector\":" + quoted(spec.targetSelector);
    }
    if (!configMapName && phrase.find_first_not_of(" \t") != std::string::npos) {
      add("search_logs", "{\"pattern\":" + quoted(literalPattern(phrase)) + scope + "}",
          "the question quotes a phrase: search the logs for it");
    }
  }

  plan.erase(std::remove_if(plan.begin(), plan.end(), [&](const PlannedCall& c) { return !spec.toolAllowed(c.tool); }),
             plan.end());
  return plan;
}

}  // namespace opscopilot::agent
