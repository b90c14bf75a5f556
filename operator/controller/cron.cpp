#include "operator/controller/cron.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <vector>

namespace opscopilot::controller {

namespace {

struct Field {
  const char* name;
  int lo, hi;
  const char* const* names;  // lower-case names for lo.., or nullptr
};

constexpr const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDays[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  while (true) {
    auto p = s.find(sep, start);
    out.push_back(s.substr(start, p == std::string_view::npos ? std::string_view::npos : p - start));
    if (p == std::string_view::npos) return out;
    start = p + 1;
  }
}

// A value of the field: a number or (month, weekday) a name.
bool value(std::string_view s, const Field& f, int* out) {
  if (s.empty()) return false;
  if (std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); })) {
    if (s.size() > 4) return false;
    *out = std::stoi(std::string(s));
    return true;
  }
  if (!f.names || s.size() != 3) return false;
  std::string lower(s);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const int count = f.hi - f.lo + 1 - (f.hi == 7 ? 1 : 0);
  for (int i = 0; i < count; ++i) {
    if (lower == f.names[i]) {
      *out = f.lo + i;
      return true;
    }
  }
  return false;
}

// Sets the bits of one field; "" or the reason it is wrong.
template <std::size_t N>
std::string parseField(std::string_view text, const Field& f, std::bitset<N>& bits, bool* any) {
  *any = text == "*" || text == "?";
  for (auto part : split(text, ',')) {
    int step = 1;
    if (auto slash = part.find('/'); slash != std::string_view::npos) {
      if (!value(part.substr(slash + 1), Field{f.name, 1, 1 << 20, nullptr}, &step) || step < 1) {
        return "\"" + std::string(part) + "\" has no valid step";
      }
      part = part.substr(0, slash);
      *any = false;
    }
    int lo = f.lo, hi = f.hi == 7 ? 6 : f.hi;
    if (part != "*" && part != "?") {
      auto dash = part.find('-');
      if (!value(part.substr(0, dash), f, &lo)) return "\"" + std::string(part) + "\" is not a value";
      hi = lo;
      if (dash != std::string_view::npos && !value(part.substr(dash + 1), f, &hi)) {
        return "\"" + std::string(part) + "\" is not a range";
      }
      if (dash == std::string_view::npos && step > 1) hi = f.hi == 7 ? 6 : f.hi;  // "a/n": from a to the end
    }
    if (lo < f.lo || hi > f.hi || lo > f.hi || hi < f.lo) {
      return std::to_string(lo < f.lo || lo > f.hi ? lo : hi) + " is out of range " + std::to_string(f.lo) + "-" +
             std::to_string(f.hi);
    }
    if (lo > hi) return "\"" + std::string(part) + "\" runs backwards";
    for (int v = lo; v <= hi; v += step) bits.set(static_cast<std::size_t>(f.hi == 7 && v == 7 ? 0 : v));
  }
  return {};
}

}  // namespace

std::optional<CronSchedule> CronSchedule::parse(std::string_view text, std::string* error) {
  std::string t(text);
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
  while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.erase(t.begin());
  static const std::array<std::pair<const char*, const char*>, 7> macros = {{{"@yearly", "0 0 1 1 *"},
                                                                          {"@annually", "0 0 1 1 *"},
                                                                          {"@monthly", "0 0 1 * *"},
                                                                          {"@weekly", "0 0 * * 0"},
                                                                          {"@daily", "0 0 * * *"},
                                                                          {"@midnight", "0 0 * * *"},
                                                                          {"@hourly", "0 * * * *"}}};
  if (!t.empty() && t[0] == '@') {
    auto m = std::find_if(macros.begin(), macros.end(), [&](const auto& p) { return t == p.first; });
    if (m == macros.end()) {
      if (error) *error = "\"" + t + "\" is not one of @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly";
      return std::nullopt;
    }
    t = m->second;
  }
  std::vector<std::string_view> fields;
  std::string_view rest(t);
  while (!rest.empty()) {
    auto end = std::find_if(rest.begin(), rest.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); });
    fields.emplace_back(rest.data(), static_cast<std::size_t>(end - rest.begin()));
    rest.remove_prefix(static_cast<std::size_t>(end - rest.begin()));
    while (!rest.empty() && std::isspace(static_cast<unsigned char>(rest.front()))) rest.remove_prefix(1);
  }
  if (fields.size() != 5) {
    if (error) *error = "a schedule has 5 fields (minute hour day-of-month month day-of-week), not " + std::to_string(fields.size());
    return std::nullopt;
  }
  static const Field specs[] = {{"minute", 0, 59, nullptr},
                                {"hour", 0, 23, nullptr},
                                {"day of month", 1, 31, nullptr},
                                {"month", 1, 12, kMonths},
                                {"day of week", 0, 7, kDays}};
  CronSchedule s;
  bool ignored = false;
  std::string why;
  auto fail = [&](int i) {
    if (error) *error = "field " + std::to_string(i + 1) + " (" + specs[i].name + "): " + why;
    return std::nullopt;
  };
  if (!(why = parseField(fields[0], specs[0], s.minutes_, &ignored)).empty()) return fail(0);
  if (!(why = parseField(fields[1], specs[1], s.hours_, &ignored)).empty()) return fail(1);
  if (!(why = parseField(fields[2], specs[2], s.days_, &s.anyDay_)).empty()) return fail(2);
  if (!(why = parseField(fields[3], specs[3], s.months_, &ignored)).empty()) return fail(3);
  if (!(why = parseField(fields[4], specs[4], s.weekdays_, &s.anyWeekday_)).empty()) return fail(4);
  return s;
}

std::optional<CronSchedule::Clock::time_point> CronSchedule::next(Clock::time_point after) const {
  std::time_t t = Clock::to_time_t(after);
  t = t - t % 60 + 60;  // the next whole minute
  const std::time_t limit = t + std::time_t(5) * 366 * 24 * 3600;
  while (t < limit) {
    std::tm tm{};
    gmtime_r(&t, &tm);
    if (!months_.test(static_cast<std::size_t>(tm.tm_mon + 1))) {
      tm.tm_mon += 1;
      tm.tm_mday = 1;
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
      t = timegm(&tm);
      continue;
    }
    const bool dom = days_.test(static_cast<std::size_t>(tm.tm_mday));
    const bool dow = weekdays_.test(static_cast<std::size_t>(tm.tm_wday));
    const bool dayOk = anyDay_ || anyWeekday_ ? dom && dow : dom || dow;
    if (!dayOk) {
      tm.tm_mday += 1;
      tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
      t = timegm(&tm);
      continue;
    }
    if (!hours_.test(static_cast<std::size_t>(tm.tm_hour))) {
      tm.tm_hour += 1;
      tm.tm_min = tm.tm_sec = 0;
      t = timegm(&tm);
      continue;
    }
    if (!minutes_.test(static_cast<std::size_t>(tm.tm_min))) {
      t += 60;
      continue;
    }
    return Clock::from_time_t(t);
  }
  return std::nullopt;
}

}  // namespace opscopilot::controller
