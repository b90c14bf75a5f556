// Planner: chooses the calls an investigation starts with. Follow-up calls
// come from the analyzers (AnalysisSink::suggest) and the critic.
#pragma once

#include <vector>

#include "agent/run_spec.h"
#include "agent/run_state.h"

namespace opscopilot::agent {

// Thread safety: one instance serves every worker; initialPlan() is called
// concurrently and keeps no state between calls.
class Planner {
 public:
  virtual ~Planner() = default;
  // The first calls for a run, most important first. The first call reads
  // the target itself, so its failure (NotFound, Forbidden) ends the run.
  virtual std::vector<PlannedCall> initialPlan(const RunSpec& spec) = 0;
};

// The deterministic planner of the `builtin` model profile: picks tools from
// the target's kind and the question's words. No network.
class BuiltinPlanner final : public Planner {
 public:
  std::vector<PlannedCall> initialPlan(const RunSpec& spec) override;
};

}  // namespace opscopilot::agent
