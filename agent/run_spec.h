// RunSpec: what one investigation is asked to do, and within which limits.
// Built by the operator from a DiagnosticRun's spec and the operator config.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "agent/requester.h"

namespace opscopilot::agent {

struct Limits {
  int maxSteps = 8;                        // tool calls
  std::chrono::seconds timeout{300};       // wall clock from the run's start
  std::int64_t maxTokens = 60000;          // model tokens (prompt + completion)
  std::int64_t maxCostMicroUSD = 500000;   // 0.50 USD
};

// Parses a decimal USD amount ("0.50", "2", "0.0123") into millionths of a
// dollar; nullopt when it is not a plain non-negative decimal.
std::optional<std::int64_t> parseMicroUSD(const std::string& s);
// Formats millionths of a dollar as a decimal string with 4 to 6 digits
// after the point ("0.0123", "0.000150").
std::string formatMicroUSD(std::int64_t micro);

// An action a run proposes once its investigation is done (spec.actions):
// a notification or a ticket, sent only after a person approved exactly it.
struct RunAction {
  std::string tool;         // "notify" or "create_ticket"
  std::string destination;  // a destination of the operator config (actions.destinations)
  bool always = false;      // false (OnProblem): only when a Medium or worse problem was found
};

struct RunSpec {
  std::string ns;
  // The run itself: for messages that point back at it, and the idempotency
  // key of its actions (UID, generation and the approved step).
  std::string runName;
  std::string runUID;
  std::int64_t generation = 0;
  std::string question;
  std::string targetKind;      // empty: the whole namespace
  std::string targetName;
  std::string targetSelector;  // "k=v,k2=v2" when the target uses a selector
  std::string model = "builtin";
  Limits limits;
  bool critic = true;
  std::vector<std::string> allowedTools;  // empty: every registered tool
  std::vector<std::string> disabledTools; // by the operator's config: never allowed
  // Who asked, verified by admission; tool reads are limited to what they may
  // read. nullopt only when the operator is set to run unverified runs with
  // the reader identity alone (requester.whenUnverified: ReaderOnly).
  std::optional<Requester> requester;
  // A follow-up (spec.previousRun): the earlier run of the namespace it
  // starts from, and when that run finished (set by the operator once it
  // has; Events and logs before it are not read again).
  std::string previousRun;
  std::chrono::system_clock::time_point previousFinished{};
  // What to propose once the investigation is done; an action tool may send
  // only to these destinations.
  std::vector<RunAction> actions;

  bool toolAllowed(const std::string& tool) const;
  // "Deployment/checkout", "pods with app=web", or "namespace shop".
  std::string targetDescription() const;
};

}  // namespace opscopilot::agent
