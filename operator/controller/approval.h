// The ApprovalRequest lifecycle, as pure functions: what the controller asks
// a person to approve, the request it creates for that, where it records
// which request it created, and the decision on a request it reads back
// (given the run and the request's JSON: Create, Wait, Approved, Denied,
// Expired or Rejected with a reason). RunReconciler does the I/O.
//
// An approval binds to exactly what it approves. The controller honours an
// ApprovalRequest only if it is the very object it created for this run:
//   - its UID is the one the run's status recorded when the controller
//     created it (so a request that existed before the controller asked, or
//     one deleted and recreated by someone else, is refused);
//   - it is controlled by the run (ownerReference with the run's UID and
//     controller: true);
//   - its immutable spec names the run (runRef.name and runRef.uid), the
//     run's current metadata.generation (runGeneration), the step, the tool,
//     the step's arguments, and actionDigest, the SHA-256 of the canonical
//     JSON of all of these; every one is recomputed and compared;
//   - spec.expiresAt is a valid RFC 3339 time.
// Anything else is Rejected: the gated step does not run.
#pragma once

#include <rapidjson/fwd.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/run_state.h"
#include "operator/kube/object.h"

namespace opscopilot::controller {

// Parses an RFC 3339 date-time ("2026-12-02T10:00:00Z",
// "2026-12-02T10:00:00+02:00", "2026-12-02T08:00:00.123456Z"): 'T' (or 't')
// between date and time, optional fractional seconds (kept to the
// nanosecond), and 'Z' (or 'z') or a numeric offset, which is applied.
// Returns nullopt for anything else, including out-of-range fields
// (month 13, February 30, hour 24, offset +24:00) and trailing text.
std::optional<std::chrono::system_clock::time_point> parseRfc3339(std::string_view text);

namespace approval {

using Clock = std::chrono::system_clock;

// The action a pending approval step asks for, bound to one generation of
// one run (by UID, so a run deleted and recreated with the same name is a
// different run).
struct Action {
  std::string ns;
  std::string runName;
  std::string runUID;
  std::int64_t generation = 0;
  int stepID = 0;
  std::string tool;
  std::string argsJson = "{}";  // canonical JSON (sorted members)
};

// The action of run's pending approval step.
Action actionFor(const kube::Object& run, const agent::Step& step);

// "<run>-<generation>-<stepID>": the name the controller gives the request
// for a step of one generation of a run (a spec change gets new names). Read
// from the right, it is never another run's name for another step. A run
// name too long for that keeps a prefix and a hash of the whole name.
std::string requestName(std::string_view runName, std::int64_t generation, int stepID);

// The compact JSON, members sorted by name, of
// {"args": ..., "generation": N, "runUID": "...", "stepID": N, "tool": "..."}.
std::string canonicalActionJson(const Action& action);
// "sha256:" and the lowercase hex SHA-256 of canonicalActionJson(action).
std::string actionDigest(const Action& action);

// The ApprovalRequest the controller creates for action (JSON for a create).
std::string requestJson(const Action& action, std::string_view reason, std::string_view risk,
                        Clock::time_point expiresAt);

// Which request the controller created, as recorded in the run's status:
// the message of the AwaitingApproval condition (status True) names it and
// its UID, and the condition's observedGeneration is the run generation.
//   "step 5 (read_configmap_data) waits for ApprovalRequest why-config-5 (uid 6f1c...)"
// (The DiagnosticRun schema has no dedicated field for it; the condition is
// written only by the controller, through the status subresource, and is
// cleared by every write that is not waiting.)
struct Record {
  std::string name;
  std::string uid;
  int stepID = 0;
  std::int64_t generation = 0;
  bool operator==(const Record&) const = default;
};
std::string recordMessage(const Record& record, std::string_view tool);
// The record in run's status, if its AwaitingApproval condition carries one.
std::optional<Record> recordFrom(const kube::Object& run);

enum class Verdict {
  Create,    // nothing recorded and no request exists: create one
  Wait,      // the controller's request, undecided and not expired
  Approved,  // the controller's request, approved: the step runs
  Denied,    // the controller's request, denied: the step is skipped
  Expired,   // the controller's request, undecided past expiresAt: skipped
  Rejected,  // not the controller's request for this step: skipped, with why
};
std::string_view toString(Verdict v);

struct Decision {
  Verdict verdict = Verdict::Wait;
  std::string why;  // Rejected: one sentence saying why
  std::string decidedBy;
  std::string comment;
  std::optional<Clock::time_point> expiresAt;  // Wait: when to look again
};

// What is wrong with request (an ApprovalRequest's JSON) as a request for
// action: one short phrase per mismatch; empty when it matches in every
// respect (ownership, runRef, runGeneration, stepID, tool, args,
// actionDigest, expiresAt).
std::vector<std::string> bindingProblems(const Action& action, const rapidjson::Value& request);

// The decision on the request named requestName(action) as read from the
// API server (nullptr: it does not exist), given what the run's status
// recorded (nullopt: nothing, or a record for another step or generation).
Decision decide(const Action& action, const std::optional<Record>& record, const rapidjson::Value* request,
                Clock::time_point now);

}  // namespace approval
}  // namespace opscopilot::controller
