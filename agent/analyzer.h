// Analyzer: turns what one tool step read into findings and follow-up calls.
// Analyzers run right after each tool step, so what they conclude is in the
// run's status before the next step starts (a resumed run needs nothing else).
#pragma once

#include <rapidjson/document.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/run_spec.h"
#include "agent/run_state.h"

namespace opscopilot::agent {

// What a finished tool step offers the analyzers.
struct StepView {
  std::string tool;
  const rapidjson::Value* args = nullptr;  // the call's arguments (object)
  const rapidjson::Value* data = nullptr;  // ToolOutput::data, or nullptr
  bool ok = true;
  std::string errorReason;
  // The step's evidence, in the order the tool produced it.
  struct Cited {
    std::string id;   // "E4"
    std::string ref;  // "Pod/web-1"
  };
  std::vector<Cited> evidence;

  // The ID of the evidence whose ref equals ref, or starts with ref followed
  // by a space; "" when none.
  std::string evidenceFor(std::string_view ref) const;
  // All evidence IDs of the step.
  std::vector<std::string> allEvidence() const;
};

struct FindingDraft {
  std::string subject;  // "Pod/web-1/app", "Service/web", ...
  std::string title;
  Severity severity = Severity::Info;
  int confidence = 50;
  std::vector<std::string> evidence;
  std::string remediation;
};

// Where analyzers put their conclusions.
class AnalysisSink {
 public:
  virtual ~AnalysisSink() = default;
  // Adds a finding, or, when this analyzer already has one for the subject,
  // replaces its title/severity/confidence/remediation and adds the evidence.
  virtual void addFinding(std::string_view analyzer, FindingDraft draft) = 0;
  // Findings so far (from every analyzer), to enrich or to avoid repeats.
  virtual const std::vector<Finding>& findings() const = 0;
  // Adds evidence and detail to an existing finding (by ID): appends
  // `detail` to the title (when not empty), raises confidence to at least
  // `confidence`, and replaces the remediation when one is given.
  virtual void enrichFinding(std::string_view findingId, const std::vector<std::string>& evidence,
                             std::string_view detail, int confidence, std::string_view remediation) = 0;
  // Asks the planner to make this call later (ignored when already made or
  // planned, or when the tool is not allowed for the run).
  virtual void suggest(PlannedCall call) = 0;
};

// The sink the run graph gives the analyzers: applies their conclusions to a
// run's state. Findings are numbered F1, F2, ... in order; a finding may only
// cite evidence the state holds (other IDs are dropped); suggested calls are
// canonicalized and planned unless the run may not use the tool, already
// made or planned the call, or already read the pods it names.
class RunStateSink final : public AnalysisSink {
 public:
  RunStateSink(const RunSpec& spec, RunState& state) : spec_(spec), state_(state) {}

  void addFinding(std::string_view analyzer, FindingDraft draft) override;
  const std::vector<Finding>& findings() const override { return state_.findings; }
  void enrichFinding(std::string_view findingId, const std::vector<std::string>& evidence, std::string_view detail,
                     int confidence, std::string_view remediation) override;
  void suggest(PlannedCall call) override;

 private:
  std::vector<std::string> existing(const std::vector<std::string>& ids) const;
  bool podsAlreadyRead(const PlannedCall& call) const;

  const RunSpec& spec_;
  RunState& state_;
};

class Analyzer {
 public:
  virtual ~Analyzer() = default;
  virtual std::string_view name() const = 0;
  // Thread-safe: one instance serves every worker at once, so an analyzer
  // keeps no state between or during calls (the method is const; per-call
  // memory lives on the stack).
  virtual void analyze(const StepView& step, AnalysisSink& sink) const = 0;
};

}  // namespace opscopilot::agent
