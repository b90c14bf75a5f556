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

#include <chrono>
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

  // The schedule that controls run, as a key, or "".
  static std::string ownerKey(const kube::Object& run);

 private:
  std::shared_ptr<kube::Client> client_;
  const kube::Informer& schedules_;
  const kube::Informer& runs_;
  EventRecorder& events_;
  agent::Requester self_;
};

}  // namespace opscopilot::controller
