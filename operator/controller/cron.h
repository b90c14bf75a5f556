// Cron schedules as CronJob reads them: five fields (minute, hour, day of
// month, month, day of week) in UTC, each `*`, a value, a range `a-b`, a step
// `*/n` or `a-b/n`, or a comma list of those; month and weekday names (jan,
// mon); 7 is Sunday too; `?` is `*`; and the macros @yearly (@annually),
// @monthly, @weekly, @daily (@midnight) and @hourly. When both day of month
// and day of week are restricted, a day matching either one matches, as in
// Vixie cron (and robfig/cron, which CronJob uses).
#pragma once

#include <bitset>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace opscopilot::controller {

class CronSchedule {
 public:
  using Clock = std::chrono::system_clock;

  // The schedule, or the reason it is not one ("field 2 (hour): 24 is out of
  // range 0-23").
  static std::optional<CronSchedule> parse(std::string_view text, std::string* error);

  // The first scheduled minute strictly after t; nullopt when there is none
  // in the next five years (e.g. "0 0 30 2 *").
  std::optional<Clock::time_point> next(Clock::time_point t) const;

 private:
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;    // 1..31
  std::bitset<13> months_;  // 1..12
  std::bitset<7> weekdays_; // 0 (Sunday)..6
  bool anyDay_ = false;     // day of month was `*`
  bool anyWeekday_ = false; // day of week was `*`
};

}  // namespace opscopilot::controller
