// How kubectl-opscopilot shows runs to a person: a table of runs, a run as a
// readable tree (get: what it found; describe: everything, evidence
// excerpts and approvals included), and a run followed as it happens (each
// step, evidence item and finding once, as it lands, then the answer).
// Pure functions over the objects the API server returned: no I/O.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "operator/kube/object.h"

namespace opscopilot::cli {

// NAME PHASE REASON STEPS COST AGE QUESTION (NAMESPACE first with allNamespaces).
// now: seconds since the epoch, for AGE.
std::string runTable(const std::vector<kube::ObjectPtr>& runs, bool allNamespaces, std::int64_t now);

// The run as a tree. full (describe): evidence excerpts, usage, conditions
// and the run's ApprovalRequests too.
std::string runTree(const kube::Object& run, const std::vector<kube::ObjectPtr>& approvals, bool full);

// The ApprovalRequest a run waits for now (named by its AwaitingApproval
// condition), or "".
std::string pendingApproval(const kube::Object& run);

// A run's Events as kubectl prints them: LAST SEEN, TYPE, REASON, MESSAGE.
std::string eventTable(const std::vector<kube::ObjectPtr>& events, std::int64_t now);

bool finished(const kube::Object& run);

// Follows one run: each update() returns what is new since the last one.
class RunFollower {
 public:
  std::string update(const kube::Object& run);
  bool done() const { return done_; }
  bool succeeded() const { return succeeded_; }

 private:
  std::map<std::int64_t, std::string> steps_;  // id -> the state printed
  std::set<std::string> evidence_, findings_;
  std::string awaiting_;
  bool done_ = false, succeeded_ = false;
};

}  // namespace opscopilot::cli
