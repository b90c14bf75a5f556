#include "operator/controller/budget.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <ctime>
#include <set>

#include "agent/graph.h"
#include "agent/run_spec.h"
#include "operator/controller/approval.h"

namespace opscopilot::controller {

const kube::ResourceRef kDiagnosticBudgets{"opscopilot.io", "v1alpha1", "diagnosticbudgets", true};

namespace {

using Clock = std::chrono::system_clock;

Clock::time_point fromUtc(std::tm tm) { return Clock::from_time_t(timegm(&tm)); }

struct RunView {
  std::string key;
  Clock::time_point created;
  std::int64_t spent = 0;
  bool refused = false;
};

std::optional<RunView> viewOf(const kube::Object& run, const std::string& ns) {
  if (run.ns() != ns) return std::nullopt;
  auto created = parseRfc3339(run.stringAt({"metadata", "creationTimestamp"}));
  if (!created) return std::nullopt;
  RunView v;
  v.key = std::string(run.ns()) + "/" + std::string(run.name());
  v.created = *created;
  v.spent = agent::parseMicroUSD(std::string(run.stringAt({"status", "usage", "costUSD"}))).value_or(0);
  v.refused = run.stringAt({"status", "reason"}) == "BudgetExhausted";
  return v;
}

bool within(const PeriodBounds& b, Clock::time_point t) { return t >= b.start && t < b.end; }

}  // namespace

std::optional<BudgetSpec> budgetSpecFrom(const kube::Object& budget) {
  BudgetSpec s;
  auto max = agent::parseMicroUSD(std::string(budget.stringAt({"spec", "maxCostUSD"})));
  if (!max) return std::nullopt;
  s.maxMicroUSD = *max;
  auto period = budget.stringAt({"spec", "period"});
  if (period == "Day") {
    s.period = BudgetPeriod::Day;
  } else if (period == "Week") {
    s.period = BudgetPeriod::Week;
  } else if (period == "Month") {
    s.period = BudgetPeriod::Month;
  } else {
    return std::nullopt;
  }
  return s;
}

PeriodBounds periodAt(BudgetPeriod period, Clock::time_point t) {
  std::time_t tt = Clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  std::tm end = tm;
  switch (period) {
    case BudgetPeriod::Day:
      end.tm_mday += 1;
      break;
    case BudgetPeriod::Week:
      tm.tm_mday -= (tm.tm_wday + 6) % 7;  // back to Monday
      end = tm;
      end.tm_mday += 7;
      break;
    case BudgetPeriod::Month:
      tm.tm_mday = 1;
      end = tm;
      end.tm_mon += 1;
      break;
  }
  return {fromUtc(tm), fromUtc(end)};  // timegm normalizes day 32, month 13
}

BudgetLedger::Admission BudgetLedger::admit(const std::string& key, const std::string& ns, Clock::time_point created,
                                            std::int64_t ownMicroUSD, std::int64_t specMaxMicroUSD,
                                            const BudgetSpec& budget, const std::vector<kube::ObjectPtr>& runs,
                                            Clock::time_point now) {
  Admission a;
  a.bounds = periodAt(budget.period, created);
  std::lock_guard lock(mu_);
  prune(now);
  // What the others of the run's period committed (the lock is held: no
  // other admission can take the same money meanwhile).
  std::int64_t others = 0;
  std::map<std::string, std::int64_t> seen;
  for (const auto& r : runs) {
    auto v = viewOf(*r, ns);
    if (!v || v->key == key || !within(a.bounds, v->created)) continue;
    seen[v->key] = v->spent;
  }
  for (const auto& [k, h] : held_) {
    if (k == key || h.ns != ns || !within(a.bounds, h.created)) continue;
    auto& s = seen[k];
    s = std::max(s, h.microUSD);
  }
  for (const auto& [k, v] : seen) others += v;
  a.leftMicroUSD = budget.maxMicroUSD - others;
  const std::int64_t left = std::max<std::int64_t>(0, a.leftMicroUSD);
  if (left == 0 && ownMicroUSD == 0) return a;  // refused
  a.allowed = true;
  a.capMicroUSD = ownMicroUSD + left;
  if (specMaxMicroUSD > 0) a.capMicroUSD = std::min(a.capMicroUSD, specMaxMicroUSD);
  // The cap is at least what the run spent: it is held either way.
  held_[key] = Held{ns, created, std::max(a.capMicroUSD, ownMicroUSD)};
  return a;
}

bool BudgetLedger::settle(const std::string& key, std::int64_t spentMicroUSD) {
  std::lock_guard lock(mu_);
  auto it = held_.find(key);
  if (it == held_.end()) return false;
  it->second.microUSD = spentMicroUSD;
  return true;
}

void BudgetLedger::keepCharged(const std::string& key, const std::string& ns, Clock::time_point created,
                               std::int64_t spentMicroUSD) {
  std::lock_guard lock(mu_);
  auto& h = held_[key];
  h.ns = ns;
  h.created = created;
  h.microUSD = std::max(h.microUSD, spentMicroUSD);
}

void BudgetLedger::refused(const std::string& key, const std::string& ns, Clock::time_point created) {
  std::lock_guard lock(mu_);
  held_[key] = Held{ns, created, 0, true};
}

BudgetTally BudgetLedger::tally(const std::string& ns, const PeriodBounds& bounds,
                                const std::vector<kube::ObjectPtr>& runs, const std::string& excludeKey) const {
  BudgetTally t;
  std::map<std::string, std::int64_t> committed;
  std::set<std::string> refusedKeys;
  for (const auto& r : runs) {
    auto v = viewOf(*r, ns);
    if (!v || v->key == excludeKey || !within(bounds, v->created)) continue;
    if (v->refused) refusedKeys.insert(v->key);
    if (v->spent > 0) committed[v->key] = v->spent;
  }
  std::lock_guard lock(mu_);
  for (const auto& [k, h] : held_) {
    if (k == excludeKey || h.ns != ns || !within(bounds, h.created)) continue;
    if (h.refused) refusedKeys.insert(k);
    auto& c = committed[k];
    c = std::max(c, h.microUSD);
  }
  t.refusedRuns = static_cast<int>(refusedKeys.size());
  for (const auto& [k, c] : committed) {
    t.committedMicroUSD += c;
    if (c > 0) ++t.runs;
  }
  return t;
}

void BudgetLedger::prune(Clock::time_point now) {
  // A month and a day: no period reaches further back.
  const auto oldest = now - std::chrono::hours(24 * 32);
  for (auto it = held_.begin(); it != held_.end();) {
    it = it->second.created < oldest ? held_.erase(it) : std::next(it);
  }
}

std::optional<agent::RedactedText> budgetStatusUpdate(const kube::Object& budget, const PeriodBounds& bounds,
                                                      const BudgetTally& tally) {
  const std::string start = agent::formatTime(bounds.start), end = agent::formatTime(bounds.end),
                    spent = agent::formatMicroUSD(tally.committedMicroUSD);
  const auto generation = budget.generation();
  if (budget.stringAt({"status", "periodStart"}) == start && budget.stringAt({"status", "resetsAt"}) == end &&
      budget.stringAt({"status", "spentUSD"}) == spent && budget.intAt({"status", "runs"}) == tally.runs &&
      budget.intAt({"status", "refusedRuns"}) == tally.refusedRuns &&
      budget.intAt({"status", "observedGeneration"}) == generation) {
    return std::nullopt;
  }
  rapidjson::Document doc;
  doc.CopyFrom(budget.json(), doc.GetAllocator());
  auto& a = doc.GetAllocator();
  if (doc.HasMember("metadata") && doc["metadata"].IsObject()) doc["metadata"].RemoveMember("managedFields");
  doc.RemoveMember("status");
  rapidjson::Value status(rapidjson::kObjectType);
  status.AddMember("periodStart", rapidjson::Value(start.c_str(), a), a);
  status.AddMember("resetsAt", rapidjson::Value(end.c_str(), a), a);
  status.AddMember("spentUSD", rapidjson::Value(spent.c_str(), a), a);
  status.AddMember("runs", tally.runs, a);
  status.AddMember("refusedRuns", tally.refusedRuns, a);
  status.AddMember("observedGeneration", generation, a);
  doc.AddMember("status", status, a);
  return agent::redactJson(doc);
}

}  // namespace opscopilot::controller
