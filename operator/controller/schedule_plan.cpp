#include "operator/controller/schedule_plan.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>

namespace opscopilot::controller::schedule {

Plan decide(const Spec& spec, Clock::time_point last, const std::vector<OwnedRun>& runs, Clock::time_point now) {
  Plan plan;
  // History: finished runs beyond their limit, oldest first.
  for (auto state : {OwnedRun::State::Succeeded, OwnedRun::State::Failed}) {
    std::vector<const OwnedRun*> done;
    for (const auto& r : runs) {
      if (r.state == state) done.push_back(&r);
    }
    std::sort(done.begin(), done.end(), [](const OwnedRun* a, const OwnedRun* b) { return a->created < b->created; });
    const int limit = state == OwnedRun::State::Succeeded ? spec.successfulHistory : spec.failedHistory;
    for (std::size_t i = 0; i + static_cast<std::size_t>(std::max(limit, 0)) < done.size(); ++i) {
      plan.deleteHistory.push_back(done[i]->name);
    }
  }
  if (spec.suspend || !spec.cron) return plan;

  // The most recent due time after last; earlier misses are dropped.
  std::optional<Clock::time_point> due;
  for (auto t = spec.cron->next(last); t && *t <= now; t = spec.cron->next(*t)) {
    if (due) ++plan.missed;
    due = t;
    if (plan.missed > 1000) {  // a schedule idle for long: jump near now
      plan.missed = 0;
      last = now - std::chrono::hours(24 * 31);
      t = spec.cron->next(last);
      due.reset();
      if (!t || *t > now) break;
      due = t;
    }
  }
  plan.wakeAt = spec.cron->next(std::max(now, due.value_or(last)));
  if (!due) return plan;
  plan.due = due;
  if (spec.startingDeadline && now - *due > *spec.startingDeadline) {
    plan.skipped = "missed its start by more than startingDeadlineSeconds (" +
                   std::to_string(spec.startingDeadline->count()) + "s)";
    return plan;
  }
  std::vector<std::string> active;
  for (const auto& r : runs) {
    if (r.state == OwnedRun::State::Active) active.push_back(r.name);
  }
  if (!active.empty() && spec.concurrency == Concurrency::Forbid) {
    plan.skipped = "concurrencyPolicy Forbid, and run " + active.front() + " is still active";
    return plan;
  }
  if (spec.concurrency == Concurrency::Replace) plan.deleteActive = active;
  plan.runFor = due;
  return plan;
}

std::string shortHash(std::string_view text) {
  std::uint32_t h = 2166136261u;
  for (unsigned char c : text) h = (h ^ c) * 16777619u;
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(h));
  return buf;
}

std::string runName(const std::string& scheduleName, Clock::time_point scheduled) {
  const std::string suffix = "-" + std::to_string(std::chrono::duration_cast<std::chrono::minutes>(scheduled.time_since_epoch()).count());
  constexpr std::size_t kMax = 63;
  if (scheduleName.size() + suffix.size() <= kMax) return scheduleName + suffix;
  const std::string hash = shortHash(scheduleName);
  std::string head = scheduleName.substr(0, kMax - suffix.size() - 9);
  while (!head.empty() && (head.back() == '-' || head.back() == '.')) head.pop_back();
  return head + "-" + hash + suffix;
}

}  // namespace opscopilot::controller::schedule
