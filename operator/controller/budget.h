// Namespace budgets (DiagnosticBudget "default" in a namespace): what the
// model runs of a namespace may spend together in a calendar period, and the
// ledger that holds them to it. A run counts in the period it was created in.
//
// The ledger: a run admitted with budget gets, as its cost limit, at most
// its own spend so far plus what is left, and that cap is reserved for it
// while it runs; what is committed in a namespace is, per run of the period,
// the larger of what its status says it spent and what it holds reserved. So
// runs at once cannot together pass the budget (each may end at most one
// model call past its own cap, as any run's limit allows). A run's final cost
// stays in the ledger after it ends, until the cache shows it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "agent/redacted.h"
#include "operator/kube/client.h"
#include "operator/kube/object.h"
#include "operator/kube/resource.h"

namespace opscopilot::controller {

extern const kube::ResourceRef kDiagnosticBudgets;

enum class BudgetPeriod { Day, Week, Month };

struct BudgetSpec {
  std::int64_t maxMicroUSD = 0;
  BudgetPeriod period = BudgetPeriod::Day;
};

// The spec of a DiagnosticBudget object; nullopt when it is not one the
// schema admits (the API server refuses those, so only a hand-edited storage
// or an older CRD yields one).
std::optional<BudgetSpec> budgetSpecFrom(const kube::Object& budget);

struct PeriodBounds {
  std::chrono::system_clock::time_point start, end;
};
// The calendar period (UTC) that holds t: a Day from 00:00, a Week from
// Monday 00:00, a Month from the 1st 00:00.
PeriodBounds periodAt(BudgetPeriod period, std::chrono::system_clock::time_point t);

// What a namespace's runs of one period come to.
struct BudgetTally {
  std::int64_t committedMicroUSD = 0;  // spent, plus reserved beyond the spend
  int runs = 0;                        // runs with a cost or a reservation
  int refusedRuns = 0;                 // runs ended BudgetExhausted
};

// Thread safety: every method may be called concurrently.
class BudgetLedger {
 public:
  struct Admission {
    bool allowed = false;
    std::int64_t capMicroUSD = 0;  // the run's cost limit (when allowed)
    std::int64_t leftMicroUSD = 0; // what the others left (0 or less: none)
    PeriodBounds bounds;
  };
  // Admits the run `key` (namespace ns, created at `created`, spent
  // ownMicroUSD so far, its own limit specMaxMicroUSD, 0 for none) against
  // the budget, given the namespace's runs (the cache). Allowed: capped and
  // reserved. Refused when nothing is left and the run has spent nothing of
  // what it would need (a run that already started keeps its spend as cap).
  Admission admit(const std::string& key, const std::string& ns, std::chrono::system_clock::time_point created,
                  std::int64_t ownMicroUSD, std::int64_t specMaxMicroUSD, const BudgetSpec& budget,
                  const std::vector<kube::ObjectPtr>& runs, std::chrono::system_clock::time_point now);
  // The run ended (or was deleted): its reservation becomes what it spent.
  // False when the ledger held nothing for it (no budget applied).
  bool settle(const std::string& key, std::int64_t spentMicroUSD);
  // A run the cache no longer has (deleted) that spent money: what it spent
  // stays charged to its period.
  void keepCharged(const std::string& key, const std::string& ns, std::chrono::system_clock::time_point created,
                   std::int64_t spentMicroUSD);
  // The run was refused for the budget (counted before the cache shows it).
  void refused(const std::string& key, const std::string& ns, std::chrono::system_clock::time_point created);
  // The namespace's period as the ledger sees it; excludeKey's run left out.
  BudgetTally tally(const std::string& ns, const PeriodBounds& bounds, const std::vector<kube::ObjectPtr>& runs,
                    const std::string& excludeKey = {}) const;

 private:
  struct Held {
    std::string ns;
    std::chrono::system_clock::time_point created;
    std::int64_t microUSD = 0;
    bool refused = false;
  };
  void prune(std::chrono::system_clock::time_point now);

  mutable std::mutex mu_;
  std::map<std::string, Held> held_;  // by run key
};

// The DiagnosticBudget with the status it should show for its period, as the
// body of a status PUT; nullopt when its status already says so.
std::optional<agent::RedactedText> budgetStatusUpdate(const kube::Object& budget, const PeriodBounds& bounds,
                                                      const BudgetTally& tally);

}  // namespace opscopilot::controller
