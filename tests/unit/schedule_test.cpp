#include <gtest/gtest.h>

#include "operator/controller/approval.h"
#include "operator/controller/cron.h"
#include "operator/controller/schedule_plan.h"

using namespace opscopilot::controller;
using Clock = std::chrono::system_clock;

namespace {

Clock::time_point at(const char* rfc3339) { return *parseRfc3339(rfc3339); }

std::string nextOf(const char* cron, const char* after) {
  std::string err;
  auto s = CronSchedule::parse(cron, &err);
  if (!s) return "invalid: " + err;
  auto n = s->next(at(after));
  if (!n) return "none";
  std::time_t t = Clock::to_time_t(*n);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

schedule::Spec spec(const char* cron) {
  std::string err;
  return schedule::Spec{*CronSchedule::parse(cron, &err)};
}

}  // namespace

TEST(Cron, NextFollowsTheFieldsAsCronJobReadsThem) {
  EXPECT_EQ(nextOf("*/15 * * * *", "2026-12-03T10:07:30Z"), "2026-12-03T10:15:00Z");
  EXPECT_EQ(nextOf("*/15 * * * *", "2026-12-03T10:15:00Z"), "2026-12-03T10:30:00Z") << "strictly after";
  EXPECT_EQ(nextOf("0 9 * * mon-fri", "2026-12-04T09:00:00Z"), "2026-12-07T09:00:00Z") << "Friday to Monday";
  EXPECT_EQ(nextOf("30 2 1 jan,jul *", "2026-12-03T00:00:00Z"), "2027-01-01T02:30:00Z");
  EXPECT_EQ(nextOf("@daily", "2026-12-31T23:59:00Z"), "2027-01-01T00:00:00Z");
  EXPECT_EQ(nextOf("@hourly", "2026-12-03T10:00:00Z"), "2026-12-03T11:00:00Z");
  EXPECT_EQ(nextOf("0 0 29 2 *", "2026-03-01T00:00:00Z"), "2028-02-29T00:00:00Z") << "leap day";
  EXPECT_EQ(nextOf("0 12 * * 7", "2026-12-03T00:00:00Z"), "2026-12-06T12:00:00Z") << "7 is Sunday";
  // Both days restricted: either matches (the 15th, or a Monday).
  EXPECT_EQ(nextOf("0 0 15 * 1", "2026-12-08T00:00:00Z"), "2026-12-14T00:00:00Z");
  EXPECT_EQ(nextOf("0 0 15 * *", "2026-12-08T00:00:00Z"), "2026-12-15T00:00:00Z");
  EXPECT_EQ(nextOf("5/20 * * * *", "2026-12-03T10:06:00Z"), "2026-12-03T10:25:00Z");
  EXPECT_EQ(nextOf("0 0 30 2 *", "2026-12-03T00:00:00Z"), "none");
}

TEST(Cron, AMistakeIsNamedByItsField) {
  EXPECT_EQ(nextOf("* * * *", "2026-12-03T00:00:00Z"),
            "invalid: a schedule has 5 fields (minute hour day-of-month month day-of-week), not 4");
  EXPECT_EQ(nextOf("0 24 * * *", "2026-12-03T00:00:00Z"), "invalid: field 2 (hour): 24 is out of range 0-23");
  EXPECT_EQ(nextOf("0 0 * smarch *", "2026-12-03T00:00:00Z"), "invalid: field 4 (month): \"smarch\" is not a value");
  EXPECT_EQ(nextOf("*/0 * * * *", "2026-12-03T00:00:00Z"), "invalid: field 1 (minute): \"*/0\" has no valid step");
  EXPECT_EQ(nextOf("0 5-2 * * *", "2026-12-03T00:00:00Z"), "invalid: field 2 (hour): \"5-2\" runs backwards");
  EXPECT_EQ(nextOf("@often", "2026-12-03T00:00:00Z").rfind("invalid: \"@often\" is not one of", 0), 0u);
}

TEST(SchedulePlan, RunsTheMostRecentMissedTimeOnlyAndWakesForTheNext) {
  auto s = spec("*/10 * * * *");
  auto p = schedule::decide(s, at("2026-12-03T10:00:00Z"), {}, at("2026-12-03T10:35:00Z"));
  ASSERT_TRUE(p.runFor);
  EXPECT_EQ(*p.runFor, at("2026-12-03T10:30:00Z"));
  EXPECT_EQ(p.missed, 2);
  EXPECT_EQ(p.wakeAt, at("2026-12-03T10:40:00Z"));
  auto none = schedule::decide(s, at("2026-12-03T10:30:00Z"), {}, at("2026-12-03T10:35:00Z"));
  EXPECT_FALSE(none.runFor);
  EXPECT_EQ(none.wakeAt, at("2026-12-03T10:40:00Z"));
}

TEST(SchedulePlan, ConcurrencyDeadlineSuspendAndHistoryAsCronJob) {
  auto s = spec("*/10 * * * *");
  const auto last = at("2026-12-03T10:00:00Z"), now = at("2026-12-03T10:10:05Z");
  std::vector<schedule::OwnedRun> runs = {{"a", schedule::OwnedRun::State::Active, at("2026-12-03T10:00:00Z")}};
  EXPECT_TRUE(schedule::decide(s, last, runs, now).runFor) << "Allow";
  s.concurrency = schedule::Concurrency::Forbid;
  auto forbid = schedule::decide(s, last, runs, now);
  EXPECT_FALSE(forbid.runFor);
  EXPECT_EQ(forbid.skipped, "concurrencyPolicy Forbid, and run a is still active");
  EXPECT_EQ(forbid.due, at("2026-12-03T10:10:00Z")) << "the same due time until it runs: one RunSkipped Event";
  s.concurrency = schedule::Concurrency::Replace;
  auto replace = schedule::decide(s, last, runs, now);
  EXPECT_TRUE(replace.runFor);
  EXPECT_EQ(replace.deleteActive, std::vector<std::string>{"a"});
  s.startingDeadline = std::chrono::seconds(3);
  auto late = schedule::decide(s, last, runs, now);
  EXPECT_FALSE(late.runFor);
  EXPECT_NE(late.skipped.find("startingDeadlineSeconds (3s)"), std::string::npos);
  s.startingDeadline.reset();
  s.suspend = true;
  EXPECT_FALSE(schedule::decide(s, last, runs, now).runFor);
  EXPECT_FALSE(schedule::decide(s, last, runs, now).wakeAt);

  using St = schedule::OwnedRun::State;
  std::vector<schedule::OwnedRun> done;
  for (int i = 0; i < 5; ++i) done.push_back({"ok" + std::to_string(i), St::Succeeded, last + std::chrono::minutes(i)});
  for (int i = 0; i < 3; ++i) done.push_back({"bad" + std::to_string(i), St::Failed, last + std::chrono::minutes(i)});
  auto h = schedule::decide(s, last, done, now);
  EXPECT_EQ(h.deleteHistory, (std::vector<std::string>{"ok0", "ok1", "bad0", "bad1"})) << "3 successful and 1 failed kept";
}

TEST(SchedulePlan, RunNamesAreValidAndStable) {
  const auto t = at("2026-12-03T10:30:00Z");
  EXPECT_EQ(schedule::runName("nightly", t), "nightly-29938230");
  const std::string longName(60, 'a');
  const auto n = schedule::runName(longName, t);
  EXPECT_LE(n.size(), 63u);
  EXPECT_EQ(n, schedule::runName(longName, t));
  EXPECT_NE(n, schedule::runName(std::string(59, 'a') + "b", t));
  EXPECT_EQ(n.substr(n.size() - 9), "-29938230");
}
