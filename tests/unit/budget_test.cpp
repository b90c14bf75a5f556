// Namespace budgets (operator/controller/budget.h): calendar periods and the
// ledger that keeps runs at once within what a namespace may spend.
#include <gtest/gtest.h>

#include "agent/graph.h"
#include "operator/controller/approval.h"
#include "operator/controller/budget.h"

using namespace opscopilot;
using namespace opscopilot::controller;

namespace {

std::chrono::system_clock::time_point at(const char* rfc3339) { return *parseRfc3339(rfc3339); }

kube::ObjectPtr run(const std::string& ns, const std::string& name, const std::string& created, const std::string& cost,
                    const std::string& reason = "Completed") {
  auto o = kube::Object::parse(R"({"kind":"DiagnosticRun","metadata":{"namespace":")" + ns + R"(","name":")" + name +
                               R"(","creationTimestamp":")" + created + R"("},"status":{"phase":"Succeeded","reason":")" +
                               reason + R"(","usage":{"costUSD":")" + cost + R"("}}})");
  EXPECT_TRUE(o.ok());
  return *o;
}

const BudgetSpec kDollarADay{1'000'000, BudgetPeriod::Day};

TEST(Budget, PeriodsAreCalendarPeriodsInUtc) {
  auto t = at("2026-12-03T05:34:18Z");
  auto day = periodAt(BudgetPeriod::Day, t);
  EXPECT_EQ(agent::formatTime(day.start), "2026-12-03T00:00:00Z");
  EXPECT_EQ(agent::formatTime(day.end), "2026-12-04T00:00:00Z");
  auto week = periodAt(BudgetPeriod::Week, t);  // a Thursday
  EXPECT_EQ(agent::formatTime(week.start), "2026-11-30T00:00:00Z");
  EXPECT_EQ(agent::formatTime(week.end), "2026-12-07T00:00:00Z");
  auto sunday = periodAt(BudgetPeriod::Week, at("2026-12-06T23:59:59Z"));
  EXPECT_EQ(agent::formatTime(sunday.start), "2026-11-30T00:00:00Z");
  auto month = periodAt(BudgetPeriod::Month, t);
  EXPECT_EQ(agent::formatTime(month.start), "2026-12-01T00:00:00Z");
  EXPECT_EQ(agent::formatTime(month.end), "2027-01-01T00:00:00Z");
  EXPECT_EQ(agent::formatTime(periodAt(BudgetPeriod::Day, at("2026-12-31T23:59:59Z")).end), "2027-01-01T00:00:00Z");
}

TEST(Budget, RunsAtOnceShareWhatIsLeftAndAFullBudgetRefusesNewRuns) {
  BudgetLedger ledger;
  const auto now = at("2026-12-03T10:00:00Z");
  std::vector<kube::ObjectPtr> cache = {
      run("shop", "a", "2026-12-03T08:00:00Z", "0.4"),
      run("shop", "old", "2026-12-02T23:59:59Z", "5"),     // yesterday's period
      run("payments", "p", "2026-12-03T08:00:00Z", "3"),  // another namespace
  };
  // c asks for at most 0.50: it gets it, held while it runs.
  auto c = ledger.admit("shop/c", "shop", now, 0, 500'000, kDollarADay, cache, now);
  ASSERT_TRUE(c.allowed);
  EXPECT_EQ(c.capMicroUSD, 500'000);
  EXPECT_EQ(c.leftMicroUSD, 600'000);
  // d has no limit of its own: what is left, 0.10.
  auto d = ledger.admit("shop/d", "shop", now, 0, 0, kDollarADay, cache, now);
  ASSERT_TRUE(d.allowed);
  EXPECT_EQ(d.capMicroUSD, 100'000);
  // Nothing left: e is refused.
  auto e = ledger.admit("shop/e", "shop", now, 0, 0, kDollarADay, cache, now);
  EXPECT_FALSE(e.allowed);
  EXPECT_EQ(e.leftMicroUSD, 0);
  ledger.refused("shop/e", "shop", now);
  // c ends having spent 0.05: the rest is free again.
  ledger.settle("shop/c", 50'000);
  auto f = ledger.admit("shop/f", "shop", now, 0, 0, kDollarADay, cache, now);
  ASSERT_TRUE(f.allowed);
  EXPECT_EQ(f.capMicroUSD, 450'000);
  // A run resumed after a restart keeps its spend as part of its cap.
  auto again = ledger.admit("shop/d", "shop", now, 80'000, 0, kDollarADay, cache, now);
  ASSERT_TRUE(again.allowed);
  EXPECT_EQ(again.capMicroUSD, 80'000 + 100'000 - 0) << "what the others left (0.10) on top of its own 0.08";

  auto tally = ledger.tally("shop", periodAt(BudgetPeriod::Day, now), cache);
  EXPECT_EQ(tally.committedMicroUSD, 400'000 + 50'000 + 180'000 + 450'000);
  EXPECT_EQ(tally.runs, 4);
  EXPECT_EQ(tally.refusedRuns, 1);
  // A deleted run's spend stays charged.
  ledger.settle("shop/f", 20'000);
  cache.erase(cache.begin());  // "a" deleted: the cache no longer has it, and the ledger never held it
  EXPECT_EQ(ledger.tally("shop", periodAt(BudgetPeriod::Day, now), cache).committedMicroUSD, 50'000 + 180'000 + 20'000);
  // The next period starts from zero.
  auto tomorrow = at("2026-12-04T00:00:01Z");
  auto g = ledger.admit("shop/g", "shop", tomorrow, 0, 0, kDollarADay, cache, tomorrow);
  ASSERT_TRUE(g.allowed);
  EXPECT_EQ(g.capMicroUSD, 1'000'000);
}

TEST(Budget, TheStatusIsWrittenOnlyWhenItChanges) {
  auto budget = kube::Object::parse(R"({"apiVersion":"opscopilot.io/v1alpha1","kind":"DiagnosticBudget",
      "metadata":{"name":"default","namespace":"shop","generation":2,"resourceVersion":"7","managedFields":[{}]},
      "spec":{"maxCostUSD":"5.00","period":"Week"}})");
  ASSERT_TRUE(budget.ok());
  auto spec = budgetSpecFrom(**budget);
  ASSERT_TRUE(spec);
  EXPECT_EQ(spec->maxMicroUSD, 5'000'000);
  EXPECT_EQ(spec->period, BudgetPeriod::Week);
  auto bounds = periodAt(BudgetPeriod::Week, at("2026-12-03T10:00:00Z"));
  auto body = budgetStatusUpdate(**budget, bounds, {1'250'000, 3, 1});
  ASSERT_TRUE(body);
  auto written = kube::Object::parse(body->str());
  ASSERT_TRUE(written.ok());
  EXPECT_EQ((*written)->stringAt({"status", "spentUSD"}), "1.2500");
  EXPECT_EQ((*written)->stringAt({"status", "periodStart"}), "2026-11-30T00:00:00Z");
  EXPECT_EQ((*written)->stringAt({"status", "resetsAt"}), "2026-12-07T00:00:00Z");
  EXPECT_EQ((*written)->intAt({"status", "runs"}), 3);
  EXPECT_EQ((*written)->intAt({"status", "refusedRuns"}), 1);
  EXPECT_EQ((*written)->intAt({"status", "observedGeneration"}), 2);
  EXPECT_EQ((*written)->stringAt({"metadata", "resourceVersion"}), "7");
  EXPECT_EQ((*written)->at({"metadata", "managedFields"}), nullptr);
  EXPECT_FALSE(budgetStatusUpdate(**written, bounds, {1'250'000, 3, 1})) << "unchanged: no write";
  auto bad = kube::Object::parse(R"({"metadata":{"name":"default"},"spec":{"maxCostUSD":"lots","period":"Day"}})");
  EXPECT_FALSE(budgetSpecFrom(**bad));
}

}  // namespace

TEST(Budget, ADeletedRunsSpendStaysCharged) {
  BudgetLedger ledger;
  const auto now = at("2026-12-03T10:00:00Z");
  const auto bounds = periodAt(BudgetPeriod::Day, now);
  // Charged by an earlier operator process: the ledger never held it.
  ledger.keepCharged("shop/gone", "shop", at("2026-12-03T09:00:00Z"), 300'000);
  EXPECT_EQ(ledger.tally("shop", bounds, {}).committedMicroUSD, 300'000);
  auto a = ledger.admit("shop/next", "shop", now, 0, 0, kDollarADay, {}, now);
  EXPECT_EQ(a.capMicroUSD, 700'000);
  EXPECT_FALSE(ledger.settle("shop/never-held", 5));
}
