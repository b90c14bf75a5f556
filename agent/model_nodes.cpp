// The graph's model-driven nodes: a planner that picks tools by function
// calling, and a critic that drafts the answer and has it reviewed.
#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>

#include "agent/graph.h"
#include "agent/run_state_json.h"

namespace opscopilot::agent {

namespace {

constexpr std::string_view kUnavailable = "ModelUnavailable";


}  // namespace

bool degradedToBuiltin(const RunState& state) {
  return std::any_of(state.steps.begin(), state.steps.end(), [](const Step& s) { return s.reason == kUnavailable; });
}

void RunGraph::useModel(llm::Gateway* gateway, ModelOptions options) {
  model_ = gateway;
  modelOptions_ = std::move(options);
}

bool RunGraph::modelMode(const RunState& state) const { return model_ != nullptr && !degradedToBuiltin(state); }

std::optional<llm::GatewayCall> RunGraph::callModel(const RunSpec& spec, RunState& state, int stepIndex,
                                                    const llm::ChatRequest& request,
                                                    std::chrono::system_clock::time_point runStart) {
  llm::Budget budget;
  budget.unlimitedTokens = spec.limits.maxTokens <= 0;
  budget.tokensLeft = spec.limits.maxTokens - state.usage.promptTokens - state.usage.completionTokens;
  budget.unlimitedCost = spec.limits.maxCostMicroUSD <= 0;
  budget.microUSDLeft = spec.limits.maxCostMicroUSD - parseMicroUSD(state.usage.costUSD).value_or(0);
  const auto remaining = spec.limits.timeout - std::chrono::duration_cast<std::chrono::seconds>(clock_() - runStart);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::milliseconds>(remaining);

  ++state.usage.llmCallsStarted;
  if (options_.beforeModelCall) {
    // On record before it is sent: the state before this node, with the
    // usage so far (this call included).
    RunState saved = nodeStart_ ? *nodeStart_ : state;
    saved.usage = state.usage;
    const bool ok = options_.beforeModelCall(saved);
    state.usage.apiRequests = saved.usage.apiRequests;  // the save's own requests
    if (!ok) {
      --state.usage.llmCallsStarted;
      interrupted_ = true;
      return std::nullopt;
    }
  }
  auto result = [&] {
    // Out of the node pool's counts while the model thinks; back in when it
    // has answered, whatever way the call ends.
    struct Waiting {
      const std::function<void(bool)>& f;
      explicit Waiting(const std::function<void(bool)>& fn) : f(fn) { if (f) f(true); }
      ~Waiting() { if (f) f(false); }
    } waiting(options_.onModelWait);
    return model_->call(request, budget, deadline);
  }();
  Step& step = state.steps[static_cast<std::size_t>(stepIndex)];
  if (result.ok()) {
    const auto& c = *result.value;
    ++state.usage.llmCalls;
    state.usage.promptTokens += c.usage.promptTokens;
    state.usage.completionTokens += c.usage.completionTokens;
    state.usage.costUSD = formatMicroUSD(parseMicroUSD(state.usage.costUSD).value_or(0) + c.costMicroUSD);
    step.tokens += c.usage.promptTokens + c.usage.completionTokens;
    return c;
  }
  const auto& e = result.error;
  if (e.kind == llm::LlmError::Kind::Cancelled) {
    interrupted_ = true;
    return std::nullopt;
  }
  // A call that went through but overran the budget still cost what it cost.
  if (e.chargedUsage.promptTokens + e.chargedUsage.completionTokens > 0 || e.chargedMicroUSD > 0) {
    ++state.usage.llmCalls;
    state.usage.promptTokens += e.chargedUsage.promptTokens;
    state.usage.completionTokens += e.chargedUsage.completionTokens;
    state.usage.costUSD = formatMicroUSD(parseMicroUSD(state.usage.costUSD).value_or(0) + e.chargedMicroUSD);
    step.tokens += e.chargedUsage.promptTokens + e.chargedUsage.completionTokens;
  }
  if (e.kind == llm::LlmError::Kind::BudgetExceeded) {
    step.state = StepState::Failed;
    step.error = "BudgetExceeded: " + e.message;
    step.reason = "BudgetExceeded";
    step.summary = "the model call would exceed the run's budget";
    finalize(spec, state, Phase::Succeeded, "BudgetExceeded", "the run's token or cost budget is spent");
    return std::nullopt;
  }
  step.state = StepState::Failed;
  step.error = std::string(kUnavailable) + ": " + e.message;
  step.reason = std::string(kUnavailable);
  step.summary = "model " + modelOptions_.profile + " unavailable (" + e.message +
                 "); continuing with the built-in planner and analyzers";
  return std::nullopt;
}

void RunGraph::modelPlan(const RunSpec& spec, RunState& state, std::chrono::system_clock::time_point runStart) {
  addStep(state, Node::Planner);
  const int index = static_cast<int>(state.steps.size()) - 1;
  std::string feedback;
  for (auto it = state.steps.rbegin(); it != state.steps.rend(); ++it) {
    if (it->node == Node::Critic && it->verdict == Verdict::NeedsEvidence) {
      feedback = it->need;
      break;
    }
  }
  const auto tools = offeredTools(tools_, spec);
  auto call = callModel(spec, state, index, plannerRequest(spec, state, tools, modelOptions_.context, feedback), runStart);
  if (!call) return;
  Step& step = state.steps[static_cast<std::size_t>(index)];
  std::vector<std::string> queued, refused;
  for (const auto& tc : call->response.toolCalls) {
    // The model proposes; the allowlist, the schemas and the namespace decide.
    const bool offered = std::any_of(tools.begin(), tools.end(), [&](const llm::ToolDef& t) { return t.name == tc.name; });
    if (!offered) {
      refused.push_back(tc.name + " (not an offered tool)");
      continue;
    }
    rapidjson::Document args;
    args.Parse(tc.argsJson.c_str());
    if (args.HasParseError() || !args.IsObject()) {
      refused.push_back(tc.name + " (arguments are not a JSON object)");
      continue;
    }
    if (auto err = tools_.checkArgs(tc.name, args); !err.empty()) {
      refused.push_back(tc.name + " (" + err + ")");
      continue;
    }
    PlannedCall pc{tc.name, canonicalJson(tc.argsJson), "chosen by the model"};
    if (state.alreadyCalled(pc) || std::find(state.plan.begin(), state.plan.end(), pc) != state.plan.end()) {
      refused.push_back(tc.name + " (repeated identical call)");
      continue;
    }
    if (queued.size() >= 3) break;
    state.plan.push_back(pc);
    queued.push_back(tc.name);
  }
  step.state = StepState::Succeeded;
  if (queued.empty()) {
    step.summary = "the model needs no more evidence";
  } else {
    step.summary = "the model asked for:";
    for (const auto& q : queued) step.summary += " " + q;
  }
  if (!refused.empty()) {
    step.summary += "; refused:";
    for (const auto& r : refused) step.summary += " " + r;
    step.error = "refused model tool calls";
  }
}

void RunGraph::modelCritique(const RunSpec& spec, RunState& state, std::chrono::system_clock::time_point runStart) {
  addStep(state, Node::Critic);
  const int index = static_cast<int>(state.steps.size()) - 1;
  ++state.critiques;
  auto draft = callModel(spec, state, index, answerRequest(spec, state, modelOptions_.context), runStart);
  if (!draft) return;
  std::string answer = draft->response.content;
  // A draft citing nothing, or citing evidence that does not exist, is not accepted as is.
  int cited = 0, dangling = 0;
  for (std::size_t p = answer.find('['); p != std::string::npos; p = answer.find('[', p + 1)) {
    // [E3] cites what the cluster showed, [R1] a runbook.
    if (p + 2 >= answer.size() || (answer[p + 1] != 'E' && answer[p + 1] != 'R') ||
        !std::isdigit(static_cast<unsigned char>(answer[p + 2]))) {
      continue;
    }
    auto close = answer.find(']', p);
    if (close == std::string::npos) break;
    ++cited;
    if (!state.findEvidence(answer.substr(p + 1, close - p - 1))) ++dangling;
  }
  bool ok = cited > 0 && dangling == 0;
  std::string need;
  if (spec.critic) {
    auto review = callModel(spec, state, index, criticRequest(spec, state, answer, modelOptions_.context), runStart);
    if (!review) return;
    rapidjson::Document verdict;
    std::string text = review->response.content;
    auto open = text.find('{'), close = text.rfind('}');
    if (open != std::string::npos && close != std::string::npos && close > open) {
      verdict.Parse(text.c_str() + open, close - open + 1);
    } else {
      verdict.Parse("null");
    }
    if (!verdict.HasParseError() && verdict.IsObject() && verdict.HasMember("ok") && verdict["ok"].IsBool()) {
      ok = ok && verdict["ok"].GetBool();
      if (verdict.HasMember("need") && verdict["need"].IsString()) need = verdict["need"].GetString();
    }
  }
  Step& step = state.steps[static_cast<std::size_t>(index)];
  step.state = StepState::Succeeded;
  if (!ok && state.critiques <= options_.maxCritiques) {
    if (need.empty()) need = dangling ? "the draft cites evidence that does not exist" : "the draft cites no evidence";
    step.verdict = Verdict::NeedsEvidence;
    step.need = need.substr(0, 300);
    step.summary = "needs more evidence: " + step.need;
    return;
  }
  state.answer = answer;
  step.verdict = ok ? Verdict::Accepted : Verdict::Kept;
  step.summary = ok ? "draft answer accepted: its citations exist and support it"
                    : "draft answer kept after " + std::to_string(state.critiques) + " reviews; unknown citations are marked";
}

}  // namespace opscopilot::agent
