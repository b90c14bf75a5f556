// What a DiagnosticSchedule should do now, as a pure function of its spec,
// its status, the runs it owns and the time, the way the CronJob controller
// decides (pkg/controller/cronjob): the most recent missed time is the one
// to run (earlier misses are dropped), unless it is older than
// startingDeadlineSeconds; concurrencyPolicy Allow, Forbid (skip while a run
// is active) or Replace (delete the active runs first); finished runs beyond
// the history limits are deleted, oldest first. ScheduleReconciler does the I/O.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator/controller/cron.h"

namespace opscopilot::controller::schedule {

using Clock = std::chrono::system_clock;

enum class Concurrency { Allow, Forbid, Replace };

struct Spec {
  std::optional<CronSchedule> cron;  // nullopt: no times (a schedule of Warning Events only)
  bool suspend = false;
  Concurrency concurrency = Concurrency::Allow;
  std::optional<std::chrono::seconds> startingDeadline;
  int successfulHistory = 3;
  int failedHistory = 1;
};

struct OwnedRun {
  std::string name;
  enum class State { Active, Succeeded, Failed } state = State::Active;
  Clock::time_point created;
};

struct Plan {
  std::optional<Clock::time_point> runFor;  // create the run for this scheduled time
  std::vector<std::string> deleteActive;    // Replace: the runs the new one replaces
  std::vector<std::string> deleteHistory;   // finished runs beyond the history limits
  std::string skipped;                      // a due time not run, and why (for an Event); "" when none
  std::optional<Clock::time_point> due;     // the due time considered (run or skipped)
  std::optional<Clock::time_point> wakeAt;  // the next scheduled time (nullopt: none, or suspended)
  int missed = 0;                           // due times not run since the last one (earlier ones dropped)
};

// last: status.lastScheduleTime, or the schedule's creation when it has none.
Plan decide(const Spec& spec, Clock::time_point last, const std::vector<OwnedRun>& runs, Clock::time_point now);

// 8 hex digits of FNV-1a over text: the same everywhere and after a restart
// (names of runs are derived from it).
std::string shortHash(std::string_view text);

// The run's name for a scheduled time: "<schedule>-<minutes since the epoch>"
// as CronJob names its Jobs; the schedule's name is cut (and a hash kept) so
// that the whole stays a valid name of at most 63 characters.
std::string runName(const std::string& scheduleName, Clock::time_point scheduled);

}  // namespace opscopilot::controller::schedule
