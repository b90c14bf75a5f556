// ScheduleReconciler: DiagnosticSchedules create DiagnosticRuns on their
// cron schedule, as the CronJob controller creates Jobs (schedule_plan.h
// decides; this does the I/O). Each run is named for its scheduled time
// (so a run created before a crash is found again, never made twice), is
// controlled by the schedule (ownerReference: deleting the schedule deletes
// its runs), carries the template's labels plus opscopilot.io/schedule, and
// has the operator's own identity as spec.requester (admission requires the
// creator's); the run reconciler then reads with the schedule's verified
// requester instead (effectiveScheduleRequester). Status: the active runs,
// lastScheduleTime, lastSuccessfulTime, lastRun, and a message saying why
// the schedule is not running or the last time it skipped.
#pragma once

#include <rapidjson/document.h>

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <string>

#include "agent/requester.h"
#include "operator/controller/event_recorder.h"
#include "operator/controller/requester.h"
#include "operator/controller/run_reconciler.h"
#include "operator/kube/client.h"
#include "operator/kube/informer.h"

namespace opscopilot::controller {

extern const kube::ResourceRef kDiagnosticSchedules;

// The identity the API server gives this process (a SelfSubjectReview).
kube::Result<agent::Requester> whoAmI(kube::Client& client);

// For a run a schedule created (controlled by a DiagnosticSchedule, and its
// spec.requester is `self`, whom admission vouches for as its creator): the
// schedule's requester, if admission vouches for it too; the reason not,
// otherwise. nullopt for any other run.
struct ScheduleRequester {
  std::optional<agent::Requester> requester;  // set when trusted
  std::string why;                            // when not
};
std::optional<ScheduleRequester> effectiveScheduleRequester(const kube::Object& run, const agent::Requester& self,
                                                            const kube::Informer& schedules, RequesterPolicy& policy);

class ScheduleReconciler {
 public:
  ScheduleReconciler(std::shared_ptr<kube::Client> client, const kube::Informer& schedules,
                     const kube::Informer& runs, EventRecorder& events, agent::Requester self);

  // key: "namespace/name" of a DiagnosticSchedule.
  ReconcileResult reconcile(const std::string& key);

  // A Warning Event (from the events cache): starts a run of each schedule
  // of its namespace whose onEvents it matches, once per object per
  // cooldown, within the namespace's hourly cap (schedule_triggers.cpp).
  ReconcileResult onWarningEvent(const kube::Object& event);
  // Warning Events older than this never start a run (on start, the
  // events cache lists the last hour's).
  static constexpr std::chrono::minutes kEventMaxAge{10};

  // The schedule that controls run, as a key, or "".
  static std::string ownerKey(const kube::Object& run);

  // Operator config eventTriggers.maxRunsPerNamespacePerHour.
  void limitTriggers(int perNamespacePerHour) { triggersPerHour_ = perNamespacePerHour; }
  // The namespace's reader identity, to read the labels of an Event's object.
  void useReader(std::string readerUser) { readerUser_ = std::move(readerUser); }

 private:
  // The DiagnosticRun the schedule s makes: its template, named runName,
  // owned by s, with these annotations, the target (kind, name) when the
  // template names none, and the suffix added to the question.
  rapidjson::Document runFromTemplate(const kube::Object& s, const std::string& runName,
                                      const std::map<std::string, std::string>& annotations,
                                      const std::optional<std::pair<std::string, std::string>>& target = std::nullopt,
                                      const std::string& questionSuffix = {}) const;

  std::shared_ptr<kube::Client> client_;
  const kube::Informer& schedules_;
  const kube::Informer& runs_;
  EventRecorder& events_;
  agent::Requester self_;
  int triggersPerHour_ = 12;
  std::string readerUser_ = "system:serviceaccount:{namespace}:opscopilot-reader";
  std::mutex triggerMu_;
  std::map<std::string, std::deque<std::chrono::system_clock::time_point>> triggered_;  // per namespace, last hour
  std::map<std::string, std::chrono::system_clock::time_point> lastForObject_;          // schedule UID + object
};

}  // namespace opscopilot::controller
