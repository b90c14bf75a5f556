// Event triggers of DiagnosticSchedules (spec.onEvents): a Warning Event
// about an object of the schedule's namespace starts a run on that object.
// Deduplicated per object (one run per cooldown: remembered here, and found
// again after a restart from the runs' opscopilot.io/trigger-object
// annotation) and capped per namespace and hour (operator config).
#include <rapidjson/document.h>

#include <algorithm>
#include <cstdio>

#include "agent/graph.h"
#include "agent/redacted.h"
#include "agent/redaction.h"
#include "operator/controller/approval.h"
#include "operator/controller/json_log.h"
#include "operator/controller/schedule_plan.h"
#include "operator/controller/schedule_reconciler.h"
#include "tools/api_kinds.h"
#include "tools/selector.h"

namespace opscopilot::controller {

namespace {

using Clock = std::chrono::system_clock;

// The kinds a run can target, as the API names them.
const tools::ApiKind* targetKind(std::string_view kind) {
  using namespace tools::kinds;
  for (const tools::ApiKind* k : {&kPod, &kDeployment, &kStatefulSet, &kDaemonSet, &kReplicaSet, &kJob, &kCronJob,
                                  &kService, &kPersistentVolumeClaim, &kIngress, &kHorizontalPodAutoscaler}) {
    if (k->kind == kind) return k;
  }
  return nullptr;
}

// When the Event was last seen: lastTimestamp, eventTime, or its creation.
std::optional<Clock::time_point> seenAt(const kube::Object& e) {
  for (const char* field : {"lastTimestamp", "eventTime"}) {
    if (auto t = parseRfc3339(e.stringAt({field}))) return t;
  }
  if (auto t = parseRfc3339(e.stringAt({"series", "lastObservedTime"}))) return t;
  return parseRfc3339(e.stringAt({"metadata", "creationTimestamp"}));
}

}  // namespace

ReconcileResult ScheduleReconciler::onWarningEvent(const kube::Object& event) {
  if (event.stringAt({"type"}) != "Warning") return {{}, {}, "NotWarning"};
  const std::string ns(event.ns());
  const std::string reason(event.stringAt({"reason"}));
  const std::string kind(event.stringAt({"involvedObject", "kind"}));
  const std::string objectName(event.stringAt({"involvedObject", "name"}));
  const std::string objectNs(event.stringAt({"involvedObject", "namespace"}));
  const tools::ApiKind* apiKind = targetKind(kind);
  if (!apiKind || objectName.empty() || (!objectNs.empty() && objectNs != ns)) return {{}, {}, "NotATarget"};
  const auto now = Clock::now();
  const auto seen = seenAt(event);
  if (!seen || now - *seen > kEventMaxAge) return {{}, {}, "TooOld"};
  const std::string object = kind + "/" + objectName;

  for (const auto& s : schedules_.listIn(ns)) {
    const auto* on = s->at({"spec", "onEvents"});
    if (!on || !on->IsObject()) continue;
    if (const auto* suspend = s->at({"spec", "suspend"}); suspend && suspend->IsBool() && suspend->GetBool()) continue;
    const auto reasons = kube::stringValues(kube::member(*on, "reasons"));
    if (std::find(reasons.begin(), reasons.end(), reason) == reasons.end()) continue;
    const auto kinds = kube::stringValues(kube::member(*on, "kinds"));
    if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), kind) == kinds.end()) continue;
    if (auto created = parseRfc3339(s->stringAt({"metadata", "creationTimestamp"})); created && *seen < *created) continue;
    std::chrono::seconds cooldown(600);
    if (const auto* c = kube::member(*on, "cooldownSeconds"); c && c->IsInt()) cooldown = std::chrono::seconds(c->GetInt());

    // One run per object per cooldown: this process's memory, and the runs
    // the cache holds (which outlive a restart).
    const std::string objectKey = std::string(s->uid()) + "/" + object;
    {
      std::lock_guard lock(triggerMu_);
      if (auto it = lastForObject_.find(objectKey); it != lastForObject_.end() && now - it->second < cooldown) continue;
    }
    bool recent = false;
    for (const auto& r : runs_.listIn(ns)) {
      if (ownerKey(*r) != s->key()) continue;
      if (r->stringAt({"metadata", "annotations", "opscopilot.io/trigger-object"}) != object) continue;
      auto created = parseRfc3339(r->stringAt({"metadata", "creationTimestamp"}));
      if (created && now - *created < cooldown) recent = true;
    }
    if (recent) continue;

    // The selector, on the object's labels as the API server matches them:
    // list that one object with the selector, as the namespace's reader.
    if (const auto* sel = kube::member(*on, "selector"); sel && sel->IsObject()) {
      kube::ListOptions lo;
      lo.labelSelector = tools::selectorToString(*sel);
      lo.fieldSelector = "metadata.name=" + objectName;
      kube::RequestOptions ro;
      std::string reader = readerUser_;
      if (auto p = reader.find("{namespace}"); p != std::string::npos) reader.replace(p, 11, ns);
      ro.impersonate = kube::Impersonation{reader, {}};
      ro.timeout = std::chrono::seconds(10);
      auto page = client_->listPage(apiKind->ref, ns, lo, ro);
      if (!page.ok()) {
        logError("cannot read the labels of an Event's object", {{"controller", "diagnosticschedule"},
                 {"schedule", s->key()}, {"object", object}, {"error", page.error().toString()}});
        continue;
      }
      if (page->items.empty()) continue;
    }

    const EventTarget target{"opscopilot.io/v1alpha1", "DiagnosticSchedule", ns, std::string(s->name()), std::string(s->uid())};
    {
      std::lock_guard lock(triggerMu_);
      auto& times = triggered_[ns];
      while (!times.empty() && now - times.front() > std::chrono::hours(1)) times.pop_front();
      if (static_cast<int>(times.size()) >= triggersPerHour_) {
        lastForObject_[objectKey] = now;  // said once per object and cooldown
        events_.record(target, "Warning", "RunRateLimited",
                       agent::redactText("Warning Event " + reason + " on " + object + " started no run: namespace " + ns +
                                         " had " + std::to_string(times.size()) +
                                         " runs started by Events in the last hour (eventTriggers.maxRunsPerNamespacePerHour)"));
        continue;
      }
      times.push_back(now);
      lastForObject_[objectKey] = now;
    }

    const std::string message = agent::truncateText(std::string(event.stringAt({"message"})), 300, false).text;
    const std::string trigger = "Warning " + reason + " on " + object + ": " + message;
    const std::string runName =
        std::string(s->name()).substr(0, 40) + "-" + schedule::shortHash(object) + "-" +
        std::to_string(std::chrono::duration_cast<std::chrono::minutes>(now.time_since_epoch()).count());
    auto run = runFromTemplate(*s, runName,
                               {{"opscopilot.io/scheduled-at", agent::formatTime(now)},
                                {"opscopilot.io/trigger-object", object},
                                {"opscopilot.io/trigger-event", agent::truncateText(trigger, 500, false).text}},
                               std::make_pair(kind, objectName),
                               // Reason and object only: the Event's message is cluster text, which
                               // a run reads as data (get_events), never as the question.
                               "\n\n(Started by the Warning Event " + reason + " on " + object + ".)");
    auto created = client_->create(kDiagnosticRuns, ns, agent::redactJson(run));
    if (!created.ok() && created.error().reason != "AlreadyExists") {
      events_.record(target, "Warning", "FailedCreate", agent::redactText("could not create run " + runName + ": " +
                                                                          created.error().message));
      if (created.error().httpCode >= 500 || created.error().httpCode == 0) return {{}, created.error(), "CreateFailed"};
      continue;
    }
    events_.record(target, "Normal", "RunTriggered", agent::redactText("created run " + runName + " for " + trigger));
    rapidjson::Document patch(rapidjson::kObjectType);
    auto& a = patch.GetAllocator();
    rapidjson::Value st(rapidjson::kObjectType);
    st.AddMember("lastTriggeredTime", rapidjson::Value(agent::formatTime(now).c_str(), a), a);
    st.AddMember("lastTrigger", rapidjson::Value(agent::truncateText(trigger, 1000, false).text.c_str(), a), a);
    st.AddMember("lastRun", rapidjson::Value(runName.c_str(), a), a);
    patch.AddMember("status", st, a);
    auto w = client_->patch(kDiagnosticSchedules, ns, s->name(), kube::PatchType::Merge, agent::redactJson(patch), {}, "status");
    if (!w.ok() && !w.error().isNotFound()) {
      logError("cannot write a schedule's status", {{"schedule", s->key()}, {"error", w.error().toString()}});
    }
  }
  return {{}, {}, "Handled"};
}

}  // namespace opscopilot::controller
