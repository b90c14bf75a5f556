// get_workload: a workload object; for a Deployment also the ReplicaSets it
// owns, for a CronJob the Jobs it owns, newest first.
#include <algorithm>
#include <map>

#include "tools/kube_tool.h"
#include "tools/render.h"
#include "tools/selector.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

constexpr std::size_t kMaxOwnedEvidence = 4;

std::string count(const rapidjson::Value& obj, std::string_view field) {
  return std::to_string(intAt(obj, {"status", field}).value_or(0));
}

bool ownedBy(const kube::Object& o, std::string_view uid) {
  const auto* refs = o.at({"metadata", "ownerReferences"});
  if (!refs || !refs->IsArray()) return false;
  for (const auto& r : refs->GetArray()) {
    if (kube::stringMember(r, "uid") == uid) return true;
  }
  return false;
}

double createdAt(const kube::Object& o) {
  return parseTime(o.stringAt({"metadata", "creationTimestamp"})).value_or(0);
}

std::int64_t revisionOf(const kube::Object& o) {
  auto r = o.annotation("deployment.kubernetes.io/revision");
  try {
    return r.empty() ? 0 : std::stoll(std::string(r));
  } catch (const std::exception&) {
    return 0;
  }
}

std::string renderWorkload(std::string_view kind, const rapidjson::Value& w) {
  std::string out = std::string(kind) + " " + std::string(stringAt(w, {"metadata", "name"})) + ": ";
  auto desired = scalarText(valueAt(w, {"spec", "replicas"}));
  if (desired.empty()) desired = "1";
  if (kind == "Deployment") {
    out += desired + " desired, " + count(w, "updatedReplicas") + " updated, " + count(w, "readyReplicas") +
           " ready, " + count(w, "availableReplicas") + " available, " + count(w, "unavailableReplicas") +
           " unavailable";
    if (auto r = stringAt(w, {"metadata", "annotations", "deployment.kubernetes.io/revision"}); !r.empty()) {
      out += "; revision " + std::string(r);
    }
    if (auto* p = valueAt(w, {"spec", "paused"}); p && p->IsBool() && p->GetBool()) out += "; paused";
  } else if (kind == "StatefulSet") {
    out += desired + " desired, " + count(w, "currentReplicas") + " current, " + count(w, "updatedReplicas") +
           " updated, " + count(w, "readyReplicas") + " ready, " + count(w, "availableReplicas") + " available";
  } else if (kind == "DaemonSet") {
    out += count(w, "desiredNumberScheduled") + " desired, " + count(w, "currentNumberScheduled") + " current, " +
           count(w, "numberReady") + " ready, " + count(w, "numberAvailable") + " available, " +
           count(w, "numberUnavailable") + " unavailable, " + count(w, "numberMisscheduled") + " misscheduled";
  } else if (kind == "ReplicaSet") {
    out += desired + " desired, " + count(w, "replicas") + " current, " + count(w, "readyReplicas") + " ready, " +
           count(w, "availableReplicas") + " available";
    if (auto r = stringAt(w, {"metadata", "annotations", "deployment.kubernetes.io/revision"}); !r.empty()) {
      out += "; revision " + std::string(r);
    }
  } else if (kind == "Job") {
    out += "active " + count(w, "active") + ", succeeded " + count(w, "succeeded") + ", failed " +
           count(w, "failed");
    for (auto f : {"completions", "parallelism", "backoffLimit", "activeDeadlineSeconds"}) {
      if (auto v = scalarText(valueAt(w, {"spec", f})); !v.empty()) out += "; " + std::string(f) + " " + v;
    }
    if (auto s = stringAt(w, {"status", "startTime"}); !s.empty()) out += "; started " + std::string(s);
  } else if (kind == "CronJob") {
    out += "schedule " + quoted(stringAt(w, {"spec", "schedule"}));
    if (auto* s = valueAt(w, {"spec", "suspend"}); s && s->IsBool() && s->GetBool()) out += ", suspended";
    if (auto t = stringAt(w, {"status", "lastScheduleTime"}); !t.empty()) out += "; last scheduled " + std::string(t);
    if (auto t = stringAt(w, {"status", "lastSuccessfulTime"}); !t.empty()) {
      out += "; last successful " + std::string(t);
    }
    const auto* active = valueAt(w, {"status", "active"});
    out += "; " + std::to_string(active && active->IsArray() ? active->Size() : 0) + " active";
  }
  if (auto sel = valueAt(w, {"spec", "selector"}); sel && kind != "Job") {
    if (auto s = selectorToString(*sel); !s.empty()) out += "; selector " + s;
  }
  out += renderConditions(valueAt(w, {"status", "conditions"}), "  ", false);
  const auto* podSpec = kind == "CronJob" ? valueAt(w, {"spec", "jobTemplate", "spec", "template", "spec"})
                                          : valueAt(w, {"spec", "template", "spec"});
  out += renderPodSpec(podSpec, "  ");
  return out;
}

std::string oneLineStatus(std::string_view kind, const rapidjson::Value& w) {
  std::string s;
  if (kind == "Deployment" || kind == "StatefulSet" || kind == "ReplicaSet") {
    auto desired = scalarText(valueAt(w, {"spec", "replicas"}));
    s = count(w, "readyReplicas") + "/" + (desired.empty() ? "1" : desired) + " ready";
  } else if (kind == "DaemonSet") {
    s = count(w, "numberReady") + "/" + count(w, "desiredNumberScheduled") + " ready";
  } else if (kind == "Job") {
    s = "succeeded " + count(w, "succeeded") + ", failed " + count(w, "failed");
  } else {
    s = "schedule " + quoted(stringAt(w, {"spec", "schedule"}));
  }
  if (const auto* conds = valueAt(w, {"status", "conditions"}); conds && conds->IsArray()) {
    for (const auto& c : conds->GetArray()) {
      if (!isAbnormalCondition(c)) continue;
      s += ", " + std::string(kube::stringMember(c, "type")) + " " + std::string(kube::stringMember(c, "status"));
      if (auto r = kube::stringMember(c, "reason"); !r.empty()) s += " (" + std::string(r) + ")";
    }
  }
  return s;
}

class GetWorkloadTool : public KubeTool {
 public:
  GetWorkloadTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings,
                 makeSpec("get_workload",
                          "Reads a workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob) with its "
                          "status and conditions, plus a Deployment's ReplicaSets or a CronJob's Jobs.",
                          R"({"type":"object","properties":{
"kind":{"type":"string","enum":["Deployment","StatefulSet","DaemonSet","ReplicaSet","Job","CronJob"]},
"name":{"type":"string","minLength":1,"maxLength":253}},
"required":["kind","name"],"additionalProperties":false})",
                          settings)) {}

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) override {
    auto kindArg = stringArg(args, "kind");
    if (!kindArg) return invalidArgs("\"kind\" is required");
    const ApiKind* workload = kinds::workloadKind(*kindArg);
    if (!workload) {
      return invalidArgs("\"kind\" must be one of Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob");
    }
    const ApiKind& kind = *workload;
    std::string name;
    if (auto bad = checkRequiredName(args, "name", &name)) return *bad;

    auto data = newData();
    auto& a = data->GetAllocator();
    setMember(*data, "items", rapidjson::Value(rapidjson::kArrayType));
    setMember(*data, "replicaSets", rapidjson::Value(rapidjson::kArrayType));
    setMember(*data, "jobs", rapidjson::Value(rapidjson::kArrayType));

    auto obj = call.get(kind, name);
    if (!obj.ok()) return call.failed(obj.error(), "get", kind, name, data);
    const auto& w = (*obj)->json();
    (*data)["items"].PushBack(trimmed(w, a), a);

    agent::ToolOutput out;
    out.evidence.push_back({std::string(kind.kind) + "/" + name, renderWorkload(kind.kind, w)});
    out.summary = std::string(kind.kind) + " " + name + ": " + oneLineStatus(kind.kind, w);

    if (kind.kind == "Deployment" || kind.kind == "CronJob") {
      bool deployment = kind.kind == "Deployment";
      const ApiKind& ownedKind = deployment ? kinds::kReplicaSet : kinds::kJob;
      kube::ListOptions opts;
      // Owned objects carry the owner's selector labels; the ownerReference
      // check below is what decides.
      if (const auto* sel = valueAt(w, {"spec", "selector"}); deployment && sel) opts.labelSelector = selectorToString(*sel);
      auto owned = call.list(ownedKind, opts);
      if (!owned.ok()) {
        // The workload itself was read: report what is missing, keep ok.
        out.evidence.push_back(call.failureEvidence(owned.error(), "list", ownedKind));
        out.summary += "; " + std::string(ownedKind.ref.resource) + " not readable";
      } else {
        std::vector<kube::ObjectPtr> mine;
        for (auto& o : owned->items) {
          if (ownedBy(*o, (*obj)->uid())) mine.push_back(std::move(o));
        }
        std::stable_sort(mine.begin(), mine.end(), [&](const kube::ObjectPtr& x, const kube::ObjectPtr& y) {
          if (deployment && revisionOf(*x) != revisionOf(*y)) return revisionOf(*x) > revisionOf(*y);
          return createdAt(*x) > createdAt(*y);
        });
        (*data)[deployment ? "replicaSets" : "jobs"] = trimmedArray(mine, a);
        for (std::size_t i = 0; i < mine.size() && i < kMaxOwnedEvidence; ++i) {
          out.evidence.push_back({std::string(ownedKind.kind) + "/" + std::string(mine[i]->name()),
                                  renderWorkload(ownedKind.kind, mine[i]->json())});
        }
        out.summary += "; " + std::to_string(mine.size()) + " " + std::string(ownedKind.kind) +
                       (mine.size() == 1 ? "" : "s");
      }
    }
    out.data = std::move(data);
    return out;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeGetWorkloadTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<GetWorkloadTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
