#include "operator/controller/schedule_reconciler.h"

#include <rapidjson/document.h>

#include <algorithm>

#include "agent/graph.h"
#include "agent/json_writer.h"
#include "agent/redacted.h"
#include "agent/redaction.h"
#include "operator/controller/approval.h"
#include "operator/controller/json_log.h"
#include "operator/controller/schedule_plan.h"

namespace opscopilot::controller {

const kube::ResourceRef kDiagnosticSchedules{"opscopilot.io", "v1alpha1", "diagnosticschedules", true};

namespace {

const kube::ResourceRef kSelfSubjectReviews{"authentication.k8s.io", "v1", "selfsubjectreviews", false};
using Clock = std::chrono::system_clock;
using Alloc = rapidjson::Document::AllocatorType;

rapidjson::Value str(std::string_view s, Alloc& a) {
  return rapidjson::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

// The controller ownerReference of kind DiagnosticSchedule: {name, uid}.
std::optional<std::pair<std::string, std::string>> scheduleOwner(const kube::Object& run) {
  const auto* refs = run.at({"metadata", "ownerReferences"});
  if (!refs || !refs->IsArray()) return std::nullopt;
  for (const auto& r : refs->GetArray()) {
    if (!r.IsObject()) continue;
    const auto* controller = kube::member(r, "controller");
    if (kube::stringMember(r, "kind") == "DiagnosticSchedule" && controller && controller->IsBool() &&
        controller->GetBool()) {
      return std::make_pair(std::string(kube::stringMember(r, "name")), std::string(kube::stringMember(r, "uid")));
    }
  }
  return std::nullopt;
}

// The parts of a status the controller writes, as one comparable text.
std::string statusSignature(const rapidjson::Value* status) {
  if (!status || !status->IsObject()) return {};
  std::string sig;
  for (const char* k : {"lastScheduleTime", "lastSuccessfulTime", "lastRun", "message"}) {
    sig += std::string(kube::stringMember(*status, k)) + "|";
  }
  if (const auto* g = kube::member(*status, "observedGeneration"); g && g->IsInt64()) sig += std::to_string(g->GetInt64());
  sig += "|";
  if (const auto* active = kube::member(*status, "active"); active && active->IsArray()) {
    for (const auto& a : active->GetArray()) {
      if (a.IsObject()) sig += std::string(kube::stringMember(a, "name")) + ",";
    }
  }
  return sig;
}

}  // namespace

kube::Result<agent::Requester> whoAmI(kube::Client& client) {
  auto review = client.create(kSelfSubjectReviews, "",
                              agent::redactJsonBody(R"({"apiVersion":"authentication.k8s.io/v1","kind":"SelfSubjectReview"})"));
  if (!review.ok()) return review.error();
  const auto* info = (*review)->at({"status", "userInfo"});
  agent::Requester me;
  if (info && info->IsObject()) {
    me.username = std::string(kube::stringMember(*info, "username"));
    me.uid = std::string(kube::stringMember(*info, "uid"));
    me.groups = kube::stringValues(kube::member(*info, "groups"));
  }
  if (me.username.empty()) return kube::Error{0, "InvalidResponse", "the SelfSubjectReview named no user"};
  return me;
}

std::optional<ScheduleRequester> effectiveScheduleRequester(const kube::Object& run, const agent::Requester& self,
                                                            const kube::Informer& schedules, RequesterPolicy& policy) {
  auto owner = scheduleOwner(run);
  auto requester = requesterFrom(run);
  if (!owner || !requester || requester->username != self.username) return std::nullopt;
  ScheduleRequester out;
  auto schedule = schedules.get(std::string(run.ns()) + "/" + owner->first);
  if (!schedule || schedule->uid() != owner->second) {
    out.why = "the run was made by DiagnosticSchedule " + owner->first + ", which is gone";
    return out;
  }
  auto verdict = policy.check(*schedule, true);
  auto scheduleRequester = requesterFrom(*schedule);
  if (!verdict.trusted || !scheduleRequester) {
    out.why = "the requester of DiagnosticSchedule " + owner->first + " cannot be verified: " +
              (verdict.why.empty() ? "it has no spec.requester" : verdict.why);
    return out;
  }
  out.requester = *scheduleRequester;
  return out;
}

ScheduleReconciler::ScheduleReconciler(std::shared_ptr<kube::Client> client, const kube::Informer& schedules,
                                       const kube::Informer& runs, EventRecorder& events, agent::Requester self)
    : client_(std::move(client)), schedules_(schedules), runs_(runs), events_(events), self_(std::move(self)) {}

std::string ScheduleReconciler::ownerKey(const kube::Object& run) {
  auto owner = scheduleOwner(run);
  return owner ? std::string(run.ns()) + "/" + owner->first : std::string();
}

rapidjson::Document ScheduleReconciler::runFromTemplate(const kube::Object& s, const std::string& runName,
                                                        const std::map<std::string, std::string>& annotations,
                                                        const std::optional<std::pair<std::string, std::string>>& target,
                                                        const std::string& questionSuffix) const {
  const std::string name(s.name());
  rapidjson::Document run(rapidjson::kObjectType);
  auto& ra = run.GetAllocator();
  run.AddMember("apiVersion", "opscopilot.io/v1alpha1", ra);
  run.AddMember("kind", "DiagnosticRun", ra);
  rapidjson::Value meta(rapidjson::kObjectType), labels(rapidjson::kObjectType), notes(rapidjson::kObjectType);
  if (const auto* l = s.at({"spec", "runTemplate", "metadata", "labels"}); l && l->IsObject()) labels.CopyFrom(*l, ra);
  if (const auto* n = s.at({"spec", "runTemplate", "metadata", "annotations"}); n && n->IsObject()) notes.CopyFrom(*n, ra);
  if (name.size() <= 63) {
    labels.RemoveMember("opscopilot.io/schedule");
    labels.AddMember("opscopilot.io/schedule", str(name, ra), ra);
  }
  for (const auto& [k, v] : annotations) {
    notes.RemoveMember(k.c_str());
    notes.AddMember(str(k, ra), str(v, ra), ra);
  }
  meta.AddMember("name", str(runName, ra), ra);
  meta.AddMember("namespace", str(s.ns(), ra), ra);
  meta.AddMember("labels", labels, ra);
  meta.AddMember("annotations", notes, ra);
  rapidjson::Value owners(rapidjson::kArrayType), owner(rapidjson::kObjectType);
  owner.AddMember("apiVersion", "opscopilot.io/v1alpha1", ra);
  owner.AddMember("kind", "DiagnosticSchedule", ra);
  owner.AddMember("name", str(name, ra), ra);
  owner.AddMember("uid", str(s.uid(), ra), ra);
  owner.AddMember("controller", true, ra);
  owners.PushBack(owner, ra);
  meta.AddMember("ownerReferences", owners, ra);
  run.AddMember("metadata", meta, ra);
  rapidjson::Value runSpec(rapidjson::kObjectType);
  if (const auto* t = s.at({"spec", "runTemplate", "spec"}); t && t->IsObject()) runSpec.CopyFrom(*t, ra);
  if (target && !runSpec.HasMember("target")) {
    rapidjson::Value t(rapidjson::kObjectType);
    t.AddMember("kind", str(target->first, ra), ra);
    t.AddMember("name", str(target->second, ra), ra);
    runSpec.AddMember("target", t, ra);
  }
  if (!questionSuffix.empty() && runSpec.HasMember("question") && runSpec["question"].IsString()) {
    std::string q = runSpec["question"].GetString();
    q = agent::truncateText(q + questionSuffix, 2000, false).text;
    runSpec["question"] = str(q, ra);
  }
  // Admission requires the creator as requester: this process. The run
  // reads with the schedule's requester instead (effectiveScheduleRequester).
  runSpec.RemoveMember("requester");
  rapidjson::Value requester(rapidjson::kObjectType), groups(rapidjson::kArrayType);
  requester.AddMember("username", str(self_.username, ra), ra);
  for (const auto& g : self_.groups) groups.PushBack(str(g, ra), ra);
  if (!groups.Empty()) requester.AddMember("groups", groups, ra);
  runSpec.AddMember("requester", requester, ra);
  run.AddMember("spec", runSpec, ra);
  return run;
}

ReconcileResult ScheduleReconciler::reconcile(const std::string& key) {
  auto s = schedules_.get(key);
  if (!s) return {{}, {}, "Gone"};
  const std::string ns(s->ns()), name(s->name()), uid(s->uid());
  const EventTarget target{"opscopilot.io/v1alpha1", "DiagnosticSchedule", ns, name, uid};
  const auto now = Clock::now();

  // Its runs, from the cache.
  std::vector<schedule::OwnedRun> owned;
  rapidjson::Document status(rapidjson::kObjectType);
  auto& a = status.GetAllocator();
  rapidjson::Value active(rapidjson::kArrayType);
  std::optional<Clock::time_point> lastSuccess;
  for (const auto& r : runs_.listIn(ns)) {
    auto owner = scheduleOwner(*r);
    if (!owner || owner->second != uid) continue;
    schedule::OwnedRun o;
    o.name = std::string(r->name());
    const auto phase = r->stringAt({"status", "phase"});
    o.state = phase == "Succeeded" ? schedule::OwnedRun::State::Succeeded
              : phase == "Failed"  ? schedule::OwnedRun::State::Failed
                                   : schedule::OwnedRun::State::Active;
    o.created = parseRfc3339(r->stringAt({"metadata", "creationTimestamp"})).value_or(now);
    if (o.state == schedule::OwnedRun::State::Succeeded) {
      if (auto done = parseRfc3339(r->stringAt({"status", "completionTime"}))) lastSuccess = std::max(lastSuccess.value_or(*done), *done);
    }
    owned.push_back(o);
  }

  std::string err;
  const std::string cronText(s->stringAt({"spec", "schedule"}));
  std::optional<CronSchedule> cron;
  if (!cronText.empty()) cron = CronSchedule::parse(cronText, &err);
  const bool invalid = !cronText.empty() && !cron;
  std::string message;
  std::optional<schedule::Plan> plan;
  std::string lastRun(s->stringAt({"status", "lastRun"}));
  std::string lastScheduleTime(s->stringAt({"status", "lastScheduleTime"}));
  if (invalid) {
    message = "the schedule \"" + cronText + "\" is not valid: " + err;
  } else {
    schedule::Spec spec{cron};
    if (const auto* v = s->at({"spec", "suspend"}); v && v->IsBool()) spec.suspend = v->GetBool();
    const auto policy = s->stringAt({"spec", "concurrencyPolicy"});
    spec.concurrency = policy == "Forbid"    ? schedule::Concurrency::Forbid
                       : policy == "Replace" ? schedule::Concurrency::Replace
                                             : schedule::Concurrency::Allow;
    if (const auto* v = s->at({"spec", "startingDeadlineSeconds"}); v && v->IsInt64()) {
      spec.startingDeadline = std::chrono::seconds(v->GetInt64());
    }
    if (const auto* v = s->at({"spec", "successfulRunsHistoryLimit"}); v && v->IsInt()) spec.successfulHistory = v->GetInt();
    if (const auto* v = s->at({"spec", "failedRunsHistoryLimit"}); v && v->IsInt()) spec.failedHistory = v->GetInt();
    const auto last = parseRfc3339(lastScheduleTime).value_or(
        parseRfc3339(s->stringAt({"metadata", "creationTimestamp"})).value_or(now));
    plan = schedule::decide(spec, last, owned, now);

    auto remove = [&](const std::string& run) {
      kube::DeleteOptions del;
      del.propagationPolicy = "Background";
      auto r = client_->remove(kDiagnosticRuns, ns, run, del);
      if (!r.ok() && !r.error().isNotFound()) return std::optional<kube::Error>(r.error());
      owned.erase(std::remove_if(owned.begin(), owned.end(), [&](const auto& o) { return o.name == run; }), owned.end());
      return std::optional<kube::Error>();
    };
    for (const auto& run : plan->deleteHistory) {
      if (auto e = remove(run)) return {{}, e, "DeleteFailed"};
    }
    for (const auto& run : plan->deleteActive) {
      if (auto e = remove(run)) return {{}, e, "DeleteFailed"};
      events_.record(target, "Normal", "RunReplaced", agent::redactText("deleted active run " + run + " (concurrencyPolicy Replace)"));
    }
    if (plan->runFor) {
      const std::string runName = schedule::runName(name, *plan->runFor);
      rapidjson::Document run = runFromTemplate(*s, runName, {{"opscopilot.io/scheduled-at", agent::formatTime(*plan->runFor)}});
      auto created = client_->create(kDiagnosticRuns, ns, agent::redactJson(run));
      if (created.ok()) {
        owned.push_back({runName, schedule::OwnedRun::State::Active, now});
        events_.record(target, "Normal", "RunCreated",
                       agent::redactText("created run " + runName + " for " + agent::formatTime(*plan->runFor) +
                                         (plan->missed ? " (" + std::to_string(plan->missed) + " earlier times missed)" : "")));
      } else if (created.error().reason != "AlreadyExists") {
        // Admission refused it (the template is invalid): say so, and try at the next time.
        message = "could not create run " + runName + ": " + created.error().message;
        events_.record(target, "Warning", "FailedCreate", agent::redactText(message));
        logError("schedule could not create its run", {{"controller", "diagnosticschedule"}, {"schedule", key},
                                                       {"run", runName}, {"error", created.error().toString()}});
        if (created.error().httpCode >= 500 || created.error().httpCode == 0) return {{}, created.error(), "CreateFailed"};
      } else {
        owned.push_back({runName, schedule::OwnedRun::State::Active, now});  // made before a restart
      }
      lastRun = runName;
      lastScheduleTime = agent::formatTime(*plan->runFor);
    }
    if (!plan->skipped.empty() && message.empty()) {
      message = "skipped the run due at " + agent::formatTime(*plan->due) + ": " + plan->skipped;
      // Once per due time: every change of the schedule's runs reconciles it.
      if (s->stringAt({"status", "message"}) != message) {
        events_.record(target, "Normal", "RunSkipped", agent::redactText(message));
      }
    }
    if (spec.suspend) message = "suspended: no new runs";
  }

  for (const auto& o : owned) {
    if (o.state != schedule::OwnedRun::State::Active) continue;
    rapidjson::Value item(rapidjson::kObjectType);
    item.AddMember("name", str(o.name, a), a);
    if (auto obj = runs_.get(ns + "/" + o.name)) item.AddMember("uid", str(obj->uid(), a), a);
    active.PushBack(item, a);
  }
  const auto activeCount = static_cast<int>(active.Size());
  rapidjson::Value st(rapidjson::kObjectType);
  st.AddMember("active", active, a);
  st.AddMember("activeCount", activeCount, a);
  if (!lastScheduleTime.empty()) st.AddMember("lastScheduleTime", str(lastScheduleTime, a), a);
  if (lastSuccess) st.AddMember("lastSuccessfulTime", str(agent::formatTime(*lastSuccess), a), a);
  if (!lastRun.empty()) st.AddMember("lastRun", str(lastRun, a), a);
  st.AddMember("message", str(message.substr(0, 2000), a), a);
  st.AddMember("observedGeneration", rapidjson::Value(static_cast<std::int64_t>(s->generation())), a);
  if (statusSignature(&st) != statusSignature(s->at({"status"}))) {
    status.AddMember("status", st, a);
    auto written = client_->patch(kDiagnosticSchedules, ns, name, kube::PatchType::Merge, agent::redactJson(status), {}, "status");
    if (!written.ok() && !written.error().isNotFound()) return {{}, written.error(), "StatusWriteFailed"};
  }
  if (invalid) {
    if (s->stringAt({"status", "message"}) != message) {
      events_.record(target, "Warning", "InvalidSchedule", agent::redactText(message));
    }
    return {{}, {}, "InvalidSchedule"};
  }
  if (!plan || !plan->wakeAt) return {{}, {}, "Idle"};
  auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(*plan->wakeAt - Clock::now());
  wait = std::clamp(wait, std::chrono::milliseconds(0), std::chrono::milliseconds(std::chrono::hours(24)));
  return {wait + std::chrono::milliseconds(50), {}, plan->runFor ? "Created" : "Waiting"};
}

}  // namespace opscopilot::controller
