// RunGraph: the bounded investigation. Each call to advance() runs exactly
// one node (planner, one tool call, critic or finalizer) and records it in
// the RunState, which the caller persists before calling again. A run
// therefore resumes from its persisted state without repeating a step.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <vector>

#include "agent/analyzer.h"
#include "agent/llm/llm.h"
#include "agent/prompts.h"
#include "agent/planner.h"
#include "agent/run_spec.h"
#include "agent/run_state.h"
#include "agent/tool.h"

namespace opscopilot::agent {

enum class Advance {
  Continue,          // more nodes to run
  Finished,          // phase is Succeeded or Failed
  AwaitingApproval,  // the last step waits for a person (see pendingApproval)
  Interrupted,       // a model call was cut by shutdown: the node left no step (usage it paid stays)
};

// A person's answer to a step that waits for approval.
struct ApprovalDecision {
  enum class Outcome { Approved, Denied, Expired } outcome = Outcome::Approved;
  std::string decidedBy;
  std::string comment;
};

struct GraphOptions {
  int maxCritiques = 1;          // times the critic may send the run back for more evidence
  std::size_t maxEvidenceBytes = 4096;
  std::size_t maxAnswerBytes = 8192;
  // Called before each model call, with usage.llmCallsStarted already
  // counting it: saves the state (the reconciler writes the status), so that
  // a call the provider may charge is on record before it is sent. false:
  // not saved; the call is not made and the node is undone (Advance::Interrupted).
  std::function<bool(RunState&)> beforeModelCall;
  // Called with true as a model call goes out and with false when it has
  // returned: the node pool does not count a node waiting on its model
  // among those using the API server (the profile's call limit bounds it).
  std::function<void(bool waiting)> onModelWait;
  // Called before an action tool (ToolSpec::action) sends, with its step
  // already in the state as Running: saves the state, so that a run resumed
  // after a crash finds the step and never sends again. false: not saved;
  // nothing is sent and the node is undone (Advance::Interrupted).
  std::function<bool(RunState&)> beforeAction;
  // Planned reads made at once: when a tool step starts, up to this many of
  // the calls planned next (read-only, allowed, not gated, within the step
  // limit) start beside it. Their steps still follow in plan order, each
  // analysed before the next, so the run reads the same and numbers its
  // evidence the same; it waits for one round trip instead of several.
  // Beside the run's first tool step too (a missing target still ends the
  // run; what went beside it is counted, not taken); never for actions. 1:
  // one at a time.
  int parallelReads = 4;
  // Handed to every tool step (ToolContext::scratch).
  std::shared_ptr<RunScratch> scratch;
};

// How a run uses a model (profiles other than builtin).
struct ModelOptions {
  std::string profile;       // for messages: "openai-gpt4o"
  ContextBudget context;
  int maxPlannerRounds = 3;  // model planner calls when the plan runs dry
};

// Thread safety: none needed; a RunGraph lives in one reconcile of one run
// (the tools, analyzers, planner and gateway it uses are shared and safe).
class RunGraph {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;

  RunGraph(const ToolRegistry& tools, const std::vector<std::unique_ptr<Analyzer>>& analyzers, Planner& planner,
           GraphOptions options = {}, Clock clock = [] { return std::chrono::system_clock::now(); });

  // Lets the model behind gateway plan, draft and review (nullptr: builtin).
  // A model that fails (unreachable, circuit open, bad key) degrades the run
  // to the built-in planner and analyzers, with reason ModelUnavailable.
  void useModel(llm::Gateway* gateway, ModelOptions options);

  // The step waiting for approval, or nullptr.
  static const Step* pendingApproval(const RunState& state);
  // Records a person's decision on the pending approval step. Approved: the
  // gated call runs next; denied or expired: it is dropped. The step's
  // durationMs becomes the wait (from its startedAt to now), which the run's
  // time limit does not count. Returns false when no step waits.
  static bool decide(RunState& state, const ApprovalDecision& decision,
                     std::chrono::system_clock::time_point now = std::chrono::system_clock::now());

  // Runs the next node. runStart is when the run started (status.startTime),
  // for the wall-clock limit. Never throws.
  Advance advance(const RunSpec& spec, RunState& state, std::chrono::system_clock::time_point runStart);

 private:
  void plan(const RunSpec& spec, RunState& state);
  void runTool(const RunSpec& spec, RunState& state, std::chrono::system_clock::time_point runStart);
  ToolContext toolContext(const RunSpec& spec, const Tool& tool, std::chrono::system_clock::time_point runStart) const;
  // Starts the planned reads that may go beside the tool step now starting
  // (GraphOptions::parallelReads); runTool takes their results in turn.
  void readAhead(const RunSpec& spec, const RunState& state, std::chrono::system_clock::time_point runStart);
  // Waits for reads started ahead whose steps were not taken (the plan
  // changed) and counts their requests; their results are not used.
  void dropReadsAhead(RunState& state);
  struct ReadAhead;
  std::deque<std::shared_ptr<ReadAhead>> ahead_;
  // Starts, beside the run's first tool step, the read of each allowed tool
  // with ToolSpec::warmUp; dropReadsAhead waits for them and counts their
  // requests.
  void warmUp(const RunSpec& spec, std::chrono::system_clock::time_point runStart);
  struct WarmUp;
  std::vector<std::shared_ptr<WarmUp>> warming_;
  // Once the investigation has found something (a Low+ finding), plans,
  // once each, when the tool is registered and allowed and a step is left:
  // a search of the team's runbooks (search_runbooks) for the question and
  // the top findings, and, for a named target when the question asks about a
  // recurrence (asksAboutRecurrence), what earlier runs on it found
  // (recall_past_runs). True when it planned a call.
  bool planFollowUps(const RunSpec& spec, RunState& state) const;
  // Once the investigation is done: plans the run's spec.actions (each only
  // when its condition holds), their messages made from the draft answer,
  // after a Planner step with reason ProposeActions that says what was
  // proposed and why. True when it added that step (once per run).
  bool planActions(const RunSpec& spec, RunState& state);
  // Why an action call may not run for this run ("" when it may): its
  // destination must be one spec.actions names for that tool.
  std::string actionRefusal(const RunSpec& spec, const PlannedCall& call) const;
  bool isAction(const std::string& tool) const;
  // Tool steps counted against spec.limits.maxSteps (actions are not).
  int toolSteps(const RunState& state) const;
  void critique(const RunSpec& spec, RunState& state);
  void finalize(const RunSpec& spec, RunState& state, Phase phase, const std::string& reason,
                const std::string& message);
  // The reason a limit stops the run now, or "".
  std::string limitReached(const RunSpec& spec, const RunState& state,
                           std::chrono::system_clock::time_point runStart, std::string* message) const;
  Step& addStep(RunState& state, Node node);
  bool modelMode(const RunState& state) const;
  void modelPlan(const RunSpec& spec, RunState& state, std::chrono::system_clock::time_point runStart);
  void modelCritique(const RunSpec& spec, RunState& state, std::chrono::system_clock::time_point runStart);
  // Calls the model for a step, charging usage to the state. On failure,
  // records it on the step and either degrades the run (model unavailable)
  // or finalizes it (budget spent); returns nullopt then.
  std::optional<llm::GatewayCall> callModel(const RunSpec& spec, RunState& state, int stepIndex,
                                            const llm::ChatRequest& request,
                                            std::chrono::system_clock::time_point runStart);

  const ToolRegistry& tools_;
  const std::vector<std::unique_ptr<Analyzer>>& analyzers_;
  Planner& planner_;
  GraphOptions options_;
  Clock clock_;
  llm::Gateway* model_ = nullptr;
  ModelOptions modelOptions_;
  bool interrupted_ = false;  // set by callModel when the gateway was shut down
  // The state before the model node in progress: what beforeModelCall saves
  // (with the usage so far), never a half-made step.
  const RunState* nodeStart_ = nullptr;
};

// True when a model call failed earlier in the run and it continues with the
// built-in planner (a step's error starts with "ModelUnavailable").
bool degradedToBuiltin(const RunState& state);

// The findings, most severe first; among equals the most specific subject
// (a container before its Deployment), then the most confident.
std::vector<const Finding*> rankFindings(const RunState& state);

// The answer's account of the run's actions ("\n\n**Actions**\n- notify to
// oncall: approved by alice; sent ..."), "" when it has none.
std::string actionsReport(const RunState& state, const std::function<bool(const std::string&)>& isAction);

// Writes the markdown answer from the findings and evidence; every claim
// cites evidence IDs present in state.evidence.
std::string composeAnswer(const RunSpec& spec, const RunState& state, const std::string& reason,
                          const std::string& limitMessage);

// RFC 3339 UTC with seconds ("2026-11-21T10:00:00Z").
std::string formatTime(std::chrono::system_clock::time_point t);

// True when the question asks whether something happened before ("again",
// "still", "keeps", "this week", "how many times", ...).
bool asksAboutRecurrence(std::string_view question);

}  // namespace opscopilot::agent
