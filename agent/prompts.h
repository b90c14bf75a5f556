// Prompts for the model-driven graph. Everything read from the cluster goes
// in as quoted, untrusted data with its evidence ID, already redacted and
// truncated; the prompt as a whole stays within a token budget and says what
// it left out.
#pragma once

#include <string>
#include <vector>

#include "agent/llm/llm.h"
#include "agent/run_spec.h"
#include "agent/run_state.h"
#include "agent/tool.h"

namespace opscopilot::agent {

struct ContextBudget {
  int maxToolResultTokens = 2000;  // per evidence item
  int maxPromptTokens = 6000;      // the whole context part of a prompt
};

// The read-only, non-gated tools the run allows, as model tool definitions.
std::vector<llm::ToolDef> offeredTools(const ToolRegistry& tools, const RunSpec& spec);

// System prompt shared by every model call of a run.
std::string systemPrompt();

// The investigation so far: question, target, findings, and the evidence
// (newest first until the budget is spent), each quoted as untrusted data.
std::string contextBlock(const RunSpec& spec, const RunState& state, const ContextBudget& budget);

llm::ChatRequest plannerRequest(const RunSpec& spec, const RunState& state, const std::vector<llm::ToolDef>& tools,
                                const ContextBudget& budget, const std::string& criticFeedback);
llm::ChatRequest answerRequest(const RunSpec& spec, const RunState& state, const ContextBudget& budget);
llm::ChatRequest criticRequest(const RunSpec& spec, const RunState& state, const std::string& draft,
                               const ContextBudget& budget);

}  // namespace opscopilot::agent
