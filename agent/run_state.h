// The state of one investigation, exactly what is persisted in a
// DiagnosticRun's status. The graph reads and writes only this, so a run
// resumes from its status after a restart without repeating a step.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace opscopilot::agent {

enum class Severity { Info, Low, Medium, High, Critical };
std::string_view toString(Severity s);
Severity severityFrom(std::string_view s);  // unknown -> Info

struct EvidenceItem {
  std::string id;   // "E1"
  std::string tool;
  std::string ref;  // "Pod/checkout-7d9f container app (previous)"
  std::string excerpt;  // redacted, truncated with a visible marker
  bool truncated = false;
  int redactions = 0;
  bool injectionSuspected = false;
};

struct Finding {
  std::string id;  // "F1"
  std::string title;
  Severity severity = Severity::Info;
  int confidence = 0;  // 0..100
  std::vector<std::string> evidence;  // evidence IDs
  std::string remediation;
  std::string analyzer;  // which analyzer made it
  std::string subject;   // what it is about: "Pod/checkout-7d9f/checkout"
};

// A tool call the planner intends to make.
struct PlannedCall {
  std::string tool;
  std::string argsJson = "{}";  // a JSON object
  std::string reason;
  bool operator==(const PlannedCall& o) const { return tool == o.tool && argsJson == o.argsJson; }
};

// Where a run is. Pending: accepted, not started; Succeeded and Failed are final.
enum class Phase { Pending, Running, AwaitingApproval, Succeeded, Failed };
std::string_view toString(Phase p);
Phase phaseFrom(std::string_view s);  // "" or unknown -> Pending

// What a step is: one node of the graph.
enum class Node { Planner, Tool, Critic, Finalizer, Approval };
std::string_view toString(Node n);  // planner, tool, critic, finalizer, approval
Node nodeFrom(std::string_view s);  // unknown -> Tool

enum class StepState { Pending, Running, Succeeded, Failed, Skipped, AwaitingApproval };
std::string_view toString(StepState s);
StepState stepStateFrom(std::string_view s);  // unknown -> Pending

// What a critic step decided about the draft answer.
enum class Verdict { None, Accepted, NeedsEvidence, Kept };
std::string_view toString(Verdict v);          // "", Accepted, NeedsEvidence, Kept
Verdict verdictFrom(std::string_view s);       // unknown -> None

struct Step {
  int id = 0;
  Node node = Node::Tool;
  std::string tool;   // for tool steps
  std::string argsJson = "{}";
  StepState state = StepState::Pending;
  std::string summary;
  std::vector<std::string> evidence;
  std::string startedAt;  // RFC 3339
  std::int64_t durationMs = 0;
  std::int64_t tokens = 0;
  std::string error;   // what went wrong, for a person
  std::string reason;  // why the step failed, CamelCase (ModelUnavailable, BudgetExceeded, ...): what the graph reads
  Verdict verdict = Verdict::None;  // critic steps
  std::string need;    // critic steps that send the run back: the evidence still missing
};

struct Usage {
  std::int64_t llmCalls = 0;
  // Model calls started: counted, and saved (GraphOptions::beforeModelCall),
  // before each call is sent. Above llmCalls by the calls whose answer a
  // crash or restart lost: the provider may have charged them.
  std::int64_t llmCallsStarted = 0;
  std::int64_t promptTokens = 0;
  std::int64_t completionTokens = 0;
  std::string costUSD = "0";
  std::int64_t toolCalls = 0;
  std::int64_t durationMs = 0;
  std::int64_t apiRequests = 0;
};

struct RunState {
  Phase phase = Phase::Pending;
  std::string reason;
  std::string message;
  std::vector<Step> steps;
  std::vector<EvidenceItem> evidence;
  std::vector<Finding> findings;
  std::vector<PlannedCall> plan;  // calls still to make, in order
  std::string answer;
  Usage usage;
  int critiques = 0;

  bool finished() const { return phase == Phase::Succeeded || phase == Phase::Failed; }
  const EvidenceItem* findEvidence(std::string_view id) const;
  // True when a step already called this tool with these arguments.
  bool alreadyCalled(const PlannedCall& call) const;
};

}  // namespace opscopilot::agent
