#include "agent/graph.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <future>

#include "agent/json_writer.h"
#include "agent/redaction.h"
#include "agent/run_state_json.h"
#include "operator/net/request_order.h"

namespace opscopilot::agent {

std::string formatTime(std::chrono::system_clock::time_point t) {
  std::time_t tt = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

namespace {

// formatTime's text back ("2026-11-21T10:00:00Z"); nullopt for anything else.
std::optional<std::chrono::system_clock::time_point> parseTime(const std::string& text) {
  std::tm tm{};
  const char* end = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end) return std::nullopt;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

// The time a run spent waiting for people (decided approval steps): not
// counted by the run's time limit.
std::chrono::milliseconds approvalWaits(const RunState& s) {
  std::int64_t ms = 0;
  for (const auto& st : s.steps) {
    if (st.node == Node::Approval && st.state != StepState::AwaitingApproval) ms += st.durationMs;
  }
  return std::chrono::milliseconds(ms);
}

}  // namespace

bool RunGraph::isAction(const std::string& tool) const {
  const Tool* t = tools_.find(tool);
  return t && t->spec().action;
}

int RunGraph::toolSteps(const RunState& s) const {
  return static_cast<int>(std::count_if(s.steps.begin(), s.steps.end(), [&](const Step& st) {
    return st.node == Node::Tool && !isAction(st.tool);
  }));
}

RunGraph::RunGraph(const ToolRegistry& tools, const std::vector<std::unique_ptr<Analyzer>>& analyzers,
                   Planner& planner, GraphOptions options, Clock clock)
    : tools_(tools), analyzers_(analyzers), planner_(planner), options_(options), clock_(std::move(clock)) {}

Step& RunGraph::addStep(RunState& state, Node node) {
  Step s;
  s.id = static_cast<int>(state.steps.size()) + 1;
  s.node = node;
  s.startedAt = formatTime(clock_());
  state.steps.push_back(std::move(s));
  return state.steps.back();
}

std::string RunGraph::limitReached(const RunSpec& spec, const RunState& state,
                                   std::chrono::system_clock::time_point runStart, std::string* message) const {
  if (clock_() - runStart - approvalWaits(state) >= spec.limits.timeout) {
    *message = "the time limit of " + std::to_string(spec.limits.timeout.count()) + "s was reached";
    return "TimedOut";
  }
  const bool readsLeft = std::any_of(state.plan.begin(), state.plan.end(), [&](const PlannedCall& c) { return !isAction(c.tool); });
  if (readsLeft && toolSteps(state) >= spec.limits.maxSteps) {
    *message = "the step limit of " + std::to_string(spec.limits.maxSteps) + " tool calls was reached";
    return "StepLimitReached";
  }
  if (spec.limits.maxTokens > 0 && state.usage.promptTokens + state.usage.completionTokens >= spec.limits.maxTokens) {
    *message = "the token budget of " + std::to_string(spec.limits.maxTokens) + " was spent";
    return "BudgetExceeded";
  }
  auto cost = parseMicroUSD(state.usage.costUSD).value_or(0);
  if (spec.limits.maxCostMicroUSD > 0 && cost >= spec.limits.maxCostMicroUSD) {
    *message = "the cost budget of $" + formatMicroUSD(spec.limits.maxCostMicroUSD) + " was spent";
    return "BudgetExceeded";
  }
  return {};
}

struct RunGraph::WarmUp {
  std::future<int> requests;
};

struct RunGraph::ReadAhead {
  PlannedCall call;
  std::future<std::pair<ToolOutput, std::int64_t>> result;  // the output, and how long the read took (ms)
};

Advance RunGraph::advance(const RunSpec& spec, RunState& state, std::chrono::system_clock::time_point runStart) {
  if (state.finished()) return Advance::Finished;
  if (state.phase == Phase::Pending) state.phase = Phase::Running;
  interrupted_ = false;

  // An action on record as sending: the operator stopped while it was out
  // (runTool saves it before sending). Whether it arrived is unknown; it is
  // never sent again.
  if (!state.steps.empty() && state.steps.back().node == Node::Tool && state.steps.back().state == StepState::Running) {
    Step& s = state.steps.back();
    s.state = StepState::Failed;
    s.reason = "OutcomeUnknown";
    s.error = "the operator stopped while this was being sent; it is not sent again, so that it is never sent twice";
    s.summary = s.tool + " may or may not have arrived: " + s.error;
    return Advance::Continue;
  }

  if (state.steps.empty()) {
    plan(spec, state);
    return Advance::Continue;
  }
  std::string limitMessage;
  if (auto reason = limitReached(spec, state, runStart, &limitMessage); !reason.empty()) {
    finalize(spec, state, Phase::Succeeded, reason, limitMessage);
    return Advance::Finished;
  }
  if (pendingApproval(state)) return Advance::AwaitingApproval;
  if (!state.plan.empty()) {
    const PlannedCall& next = state.plan.front();
    const Tool* tool = tools_.find(next.tool);
    const Step& last = state.steps.back();
    const bool approved = last.node == Node::Approval && last.state == StepState::Succeeded && last.tool == next.tool &&
                          last.argsJson == next.argsJson;
    if (tool && tool->spec().gated && spec.toolAllowed(next.tool) && !approved && !state.alreadyCalled(next) &&
        actionRefusal(spec, next).empty()) {
      auto& step = addStep(state, Node::Approval);
      step.tool = next.tool;
      step.argsJson = next.argsJson;
      step.state = StepState::AwaitingApproval;
      step.summary = next.tool + " needs a person's approval (risk " + tool->spec().risk + "): " + next.reason;
      state.phase = Phase::AwaitingApproval;
      return Advance::AwaitingApproval;
    }
    runTool(spec, state, runStart);
    if (interrupted_) return Advance::Interrupted;
    // Reads started beside it: their steps follow, in plan order.
    while (!ahead_.empty() && !state.finished() && !state.plan.empty() && state.plan.front() == ahead_.front()->call) {
      runTool(spec, state, runStart);
    }
    dropReadsAhead(state);
    return state.finished() ? Advance::Finished : Advance::Continue;
  }
  // The actions were proposed (and have run or been refused): the end.
  if (std::any_of(state.steps.begin(), state.steps.end(),
                  [](const Step& s) { return s.node == Node::Planner && s.reason == "ProposeActions"; })) {
    finalize(spec, state, Phase::Succeeded, "Completed", "");
    return Advance::Finished;
  }
  if (planFollowUps(spec, state)) return Advance::Continue;
  if (modelMode(state)) {
    const Step& last = state.steps.back();
    const int rounds = static_cast<int>(std::count_if(state.steps.begin(), state.steps.end(),
                                                      [](const Step& s) { return s.node == Node::Planner; })) - 1;
    const bool criticWantsMore = last.node == Node::Critic && last.verdict == Verdict::NeedsEvidence;
    const bool plannerDone = last.node == Node::Planner && rounds > 0;
    const bool planNext = criticWantsMore || (!plannerDone && last.node != Node::Critic && rounds < modelOptions_.maxPlannerRounds);
    if (planNext || last.node != Node::Critic) {
      // A node cut by shutdown is undone, so the run resumes with it later.
      RunState before = state;
      interrupted_ = false;
      nodeStart_ = &before;
      if (planNext) {
        modelPlan(spec, state, runStart);
      } else {
        modelCritique(spec, state, runStart);
      }
      nodeStart_ = nullptr;
      if (interrupted_) {
        before.usage = state.usage;
        state = std::move(before);
        return Advance::Interrupted;
      }
      // A critic that accepted the draft leaves nothing to read or ask: the
      // next node (follow-ups or actions planned, or the answer) makes no
      // call, so it is taken now, and the critic's result and charge are
      // written with what follows, in one status write.
      if (!planNext && !state.finished() && state.plan.empty() && state.steps.back().node == Node::Critic &&
          state.steps.back().verdict != Verdict::NeedsEvidence) {
        return advance(spec, state, runStart);
      }
      return state.finished() ? Advance::Finished : Advance::Continue;
    }
    if (planActions(spec, state)) return Advance::Continue;
    finalize(spec, state, Phase::Succeeded, "Completed", "");
    return Advance::Finished;
  }
  const bool critiqued = !state.steps.empty() && state.steps.back().node == Node::Critic;
  if (spec.critic && !critiqued && state.critiques < options_.maxCritiques + 1) {
    critique(spec, state);
    return Advance::Continue;
  }
  if (planActions(spec, state)) return Advance::Continue;
  finalize(spec, state, Phase::Succeeded, "Completed", "");
  return Advance::Finished;
}

bool asksAboutRecurrence(std::string_view question) {
  std::string q(question);
  std::transform(q.begin(), q.end(), q.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (std::string_view w : {"again", "still", "keeps", "keep ", "recurr", "repeat", "every time", "each time",
                             "this week", "before", "often", "last time", "flapp", "how many times", "history"}) {
    if (q.find(w) != std::string::npos) return true;
  }
  return false;
}

bool RunGraph::planFollowUps(const RunSpec& spec, RunState& state) const {
  std::vector<const Finding*> problems;
  for (const auto& f : state.findings) {
    if (f.severity >= Severity::Low) problems.push_back(&f);
  }
  if (problems.empty()) return false;
  int stepsLeft = spec.limits.maxSteps - toolSteps(state);
  auto wanted = [&](const std::string& tool) {
    if (stepsLeft <= 0 || !tools_.find(tool) || !spec.toolAllowed(tool)) return false;
    if (std::any_of(state.steps.begin(), state.steps.end(), [&](const Step& s) { return s.tool == tool; })) return false;
    --stepsLeft;
    return true;
  };
  bool planned = false;
  if (wanted("search_runbooks")) {
    std::stable_sort(problems.begin(), problems.end(),
                     [](const Finding* x, const Finding* y) { return x->severity > y->severity; });
    std::string query = truncateText(spec.question, 400, false).text;
    for (std::size_t i = 0; i < problems.size() && i < 3; ++i) {
      query += "\n" + truncateText(problems[i]->title, 400, false).text;
    }
    rapidjson::Document args(rapidjson::kObjectType);
    args.AddMember("query", rapidjson::Value(query.c_str(), static_cast<rapidjson::SizeType>(query.size()), args.GetAllocator()),
                   args.GetAllocator());
    state.plan.push_back(PlannedCall{"search_runbooks", jsonText(args), "look for the team's runbook on what was found"});
    planned = true;
  }
  // Earlier runs are read only when the question asks about a recurrence:
  // listing a target's runs costs the API server in proportion to how many
  // there are (a model may still call the tool).
  if (!spec.targetKind.empty() && !spec.targetName.empty() && asksAboutRecurrence(spec.question) &&
      wanted("recall_past_runs")) {
    rapidjson::Document args(rapidjson::kObjectType);
    auto& a = args.GetAllocator();
    args.AddMember("kind", rapidjson::Value(spec.targetKind.c_str(), a), a);
    args.AddMember("name", rapidjson::Value(spec.targetName.c_str(), a), a);
    state.plan.push_back(PlannedCall{"recall_past_runs", jsonText(args), "is this a repeat? what earlier runs found"});
    planned = true;
  }
  return planned;
}

const Step* RunGraph::pendingApproval(const RunState& state) {
  if (state.steps.empty()) return nullptr;
  const Step& last = state.steps.back();
  return last.node == Node::Approval && last.state == StepState::AwaitingApproval ? &last : nullptr;
}

bool RunGraph::decide(RunState& state, const ApprovalDecision& d, std::chrono::system_clock::time_point now) {
  if (!pendingApproval(state)) return false;
  Step& step = state.steps.back();
  state.phase = Phase::Running;
  if (auto asked = parseTime(step.startedAt)) {
    step.durationMs = std::max<std::int64_t>(0, std::chrono::duration_cast<std::chrono::milliseconds>(now - *asked).count());
  }
  switch (d.outcome) {
    case ApprovalDecision::Outcome::Approved:
      step.state = StepState::Succeeded;
      step.summary = "approved by " + d.decidedBy + (d.comment.empty() ? "" : ": " + d.comment);
      return true;
    case ApprovalDecision::Outcome::Denied:
      step.state = StepState::Skipped;
      step.summary = "denied by " + d.decidedBy + (d.comment.empty() ? "" : ": " + d.comment);
      break;
    case ApprovalDecision::Outcome::Expired:
      step.state = StepState::Skipped;
      step.summary = "the approval request expired without a decision";
      break;
  }
  // The call does not run; the investigation goes on without it.
  if (!state.plan.empty() && state.plan.front().tool == step.tool && state.plan.front().argsJson == step.argsJson) {
    state.plan.erase(state.plan.begin());
  }
  return true;
}

void RunGraph::plan(const RunSpec& spec, RunState& state) {
  auto& step = addStep(state, Node::Planner);
  auto calls = planner_.initialPlan(spec);
  // A follow-up starts from what the earlier run found; the rest of the
  // plan reads again what may have changed since (ToolContext::since).
  if (!spec.previousRun.empty() && tools_.find("recall_previous_run") && spec.toolAllowed("recall_previous_run")) {
    rapidjson::Document args(rapidjson::kObjectType);
    args.AddMember("name", rapidjson::Value(spec.previousRun.c_str(), args.GetAllocator()), args.GetAllocator());
    calls.insert(calls.begin(), PlannedCall{"recall_previous_run", jsonText(args), "the earlier run this follows up"});
  }
  std::string names;
  for (auto c : calls) {
    c.argsJson = canonicalJson(c.argsJson);
    if (std::find(state.plan.begin(), state.plan.end(), c) != state.plan.end()) continue;
    names += (names.empty() ? "" : ", ") + c.tool;
    state.plan.push_back(c);
  }
  step.state = StepState::Succeeded;
  step.summary = calls.empty() ? "nothing to investigate with the allowed tools"
                               : "investigating " + spec.targetDescription() + ": " + names;
}

ToolContext RunGraph::toolContext(const RunSpec& spec, const Tool& tool, std::chrono::system_clock::time_point runStart) const {
  ToolContext ctx;
  ctx.ns = spec.ns;
  ctx.requester = spec.requester;
  if (!spec.previousRun.empty()) ctx.since = spec.previousFinished;
  auto remaining = spec.limits.timeout - std::chrono::duration_cast<std::chrono::seconds>(clock_() - runStart);
  auto budget = std::min<std::chrono::milliseconds>(tool.spec().timeout, remaining);
  if (budget.count() < 100) budget = std::chrono::milliseconds(100);
  ctx.deadline = std::chrono::steady_clock::now() + budget;
  ctx.runName = spec.runName;
  ctx.scratch = options_.scratch;
  return ctx;
}

void RunGraph::readAhead(const RunSpec& spec, const RunState& state, std::chrono::system_clock::time_point runStart) {
  // toolSteps counts the step starting now.
  const int stepsLeft = spec.limits.maxSteps - toolSteps(state);
  for (const PlannedCall& c : state.plan) {
    const int n = static_cast<int>(ahead_.size());
    if (n + 1 >= options_.parallelReads || n >= stepsLeft) break;
    Tool* tool = tools_.find(c.tool);
    if (!tool || tool->spec().gated || tool->spec().action || !spec.toolAllowed(c.tool) || state.alreadyCalled(c)) break;
    auto args = std::make_shared<rapidjson::Document>();
    args->Parse(c.argsJson.c_str());
    if (args->HasParseError() || !args->IsObject() || !tools_.checkArgs(c.tool, *args).empty()) break;
    auto a = std::make_shared<ReadAhead>();
    a->call = c;
    a->result = std::async(std::launch::async, [tool, ctx = toolContext(spec, *tool, runStart), args,
                                                order = net::currentRequestOrder()] {
      net::RequestOrderScope keep(order);  // its requests keep the run's place
      const auto start = std::chrono::steady_clock::now();
      ToolOutput out = tool->run(ctx, *args);
      return std::make_pair(std::move(out), static_cast<std::int64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                std::chrono::steady_clock::now() - start).count()));
    });
    ahead_.push_back(std::move(a));
  }
}

void RunGraph::warmUp(const RunSpec& spec, std::chrono::system_clock::time_point runStart) {
  if (!options_.scratch) return;
  for (const ToolSpec* ts : tools_.specs()) {
    if (!ts->warmUp || ts->gated || ts->action || !spec.toolAllowed(ts->name)) continue;
    Tool* tool = tools_.find(ts->name);
    auto w = std::make_shared<WarmUp>();
    w->requests = std::async(std::launch::async, [tool, ctx = toolContext(spec, *tool, runStart),
                                                  order = net::currentRequestOrder()] {
      net::RequestOrderScope keep(order);  // its requests keep the run's place
      return tool->warmUp(ctx);
    });
    warming_.push_back(std::move(w));
  }
}

void RunGraph::dropReadsAhead(RunState& state) {
  for (auto& a : ahead_) state.usage.apiRequests += a->result.get().first.apiRequests;
  ahead_.clear();
  for (auto& w : warming_) state.usage.apiRequests += w->requests.get();
  warming_.clear();
}

void RunGraph::runTool(const RunSpec& spec, RunState& state, std::chrono::system_clock::time_point runStart) {
  PlannedCall call = state.plan.front();
  state.plan.erase(state.plan.begin());
  const bool firstToolStep = toolSteps(state) == 0;
  const bool repeated = state.alreadyCalled(call);

  auto& step = addStep(state, Node::Tool);
  step.tool = call.tool;
  step.argsJson = call.argsJson;
  const auto steadyStart = std::chrono::steady_clock::now();
  std::optional<std::int64_t> readMs;  // a read made ahead: how long it took
  auto finishStep = [&](StepState s) {
    step.state = s;
    step.durationMs = readMs ? *readMs
                             : std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - steadyStart).count();
  };

  Tool* tool = tools_.find(call.tool);
  rapidjson::Document args;
  args.Parse(call.argsJson.c_str());
  if (!tool || !spec.toolAllowed(call.tool)) {
    step.error = tool ? "tool " + call.tool + " is not allowed for this run" : "unknown tool " + call.tool;
    step.summary = "refused: " + step.error;
    finishStep(StepState::Skipped);
    return;
  }
  if (auto refusal = tool->spec().action ? actionRefusal(spec, call) : std::string(); !refusal.empty()) {
    step.error = refusal;
    step.summary = "refused: " + refusal;
    finishStep(StepState::Skipped);
    return;
  }
  if (repeated) {
    step.error = "repeated identical call refused";
    step.summary = "refused: " + call.tool + " was already called with these arguments";
    finishStep(StepState::Skipped);
    return;
  }
  if (args.HasParseError() || !args.IsObject()) {
    step.error = "arguments are not a JSON object";
    step.summary = "refused: " + step.error;
    finishStep(StepState::Failed);
    return;
  }
  if (auto err = tools_.checkArgs(call.tool, args); !err.empty()) {
    step.error = err;
    step.summary = "refused: invalid arguments: " + err;
    finishStep(StepState::Failed);
    return;
  }

  ToolContext ctx = toolContext(spec, *tool, runStart);

  if (tool->spec().action) {
    // At most once: on record as sending before it is sent. The key is the
    // same for every attempt at this approved action.
    const int approvalStep = state.steps.size() >= 2 ? state.steps[state.steps.size() - 2].id : step.id;
    ctx.idempotencyKey = (spec.runUID.empty() ? spec.ns + "." + spec.runName : spec.runUID) + "-" +
                         std::to_string(spec.generation) + "-" + std::to_string(approvalStep);
    step.state = StepState::Running;
    step.summary = "sending (idempotency key " + ctx.idempotencyKey + ")";
    if (options_.beforeAction && !options_.beforeAction(state)) {
      state.steps.pop_back();
      state.plan.insert(state.plan.begin(), call);
      interrupted_ = true;
      return;
    }
  }

  ToolOutput out;
  if (!ahead_.empty() && ahead_.front()->call == call) {
    auto made = ahead_.front()->result.get();
    ahead_.pop_front();
    out = std::move(made.first);
    readMs = made.second;
  } else {
    if (!tool->spec().action && options_.parallelReads > 1) {
      if (firstToolStep) warmUp(spec, runStart);
      readAhead(spec, state, runStart);
    }
    out = tool->run(ctx, args);
  }
  if (!tool->spec().action) ++state.usage.toolCalls;  // usage counts reads; the answer tells of actions
  state.usage.apiRequests += out.apiRequests;

  StepView view;
  view.tool = call.tool;
  view.args = &args;
  view.data = out.data ? static_cast<const rapidjson::Value*>(out.data.get()) : nullptr;
  view.ok = out.ok;
  view.errorReason = out.errorReason;
  const bool logs = call.tool == "get_pod_logs";
  for (auto& draft : out.evidence) {
    auto redacted = redactSecrets(draft.text);
    auto cut = truncateText(redacted.text, std::min(options_.maxEvidenceBytes, tool->spec().maxOutputBytes), logs);
    EvidenceItem e;
    const char prefix = tool->spec().evidencePrefix;
    e.id = prefix + std::to_string(1 + std::count_if(state.evidence.begin(), state.evidence.end(), [&](const EvidenceItem& x) {
                                         return !x.id.empty() && x.id.front() == prefix;
                                       }));
    e.tool = call.tool;
    e.ref = redactSecrets(draft.ref).text;
    e.injectionSuspected = looksLikeInjection(redacted.text);
    e.excerpt = std::move(cut.text);
    e.truncated = cut.truncated;
    e.redactions = redacted.redactions;
    step.evidence.push_back(e.id);
    view.evidence.push_back({e.id, e.ref});
    state.evidence.push_back(std::move(e));
  }
  step.summary = redactSecrets(out.summary).text;
  if (!out.ok) {
    step.error = out.errorReason;
    step.reason = out.errorReason;
    finishStep(StepState::Failed);
    if (firstToolStep && tool->spec().readsCluster && (out.errorReason == "NotFound" || out.errorReason == "Forbidden")) {
      const std::string reason = out.errorReason == "NotFound" ? "TargetNotFound" : "Forbidden";
      std::string message =
          out.errorReason == "NotFound"
              ? spec.targetDescription() + " was not found in namespace " + spec.ns
          : out.refusedForRequester && spec.requester
              ? spec.requester->username + ", who asked for this run, may not read " + spec.targetDescription() +
                    " in namespace " + spec.ns + "; a run reads only what its requester may read"
              : "the reader identity may not read " + spec.targetDescription() + " in namespace " + spec.ns +
                    "; grant it the opscopilot-reader role";
      finalize(spec, state, Phase::Failed, reason, message);
      return;
    }
  } else {
    finishStep(StepState::Succeeded);
  }

  RunStateSink sink(spec, state);
  for (const auto& analyzer : analyzers_) analyzer->analyze(view, sink);
}

void RunGraph::critique(const RunSpec& spec, RunState& state) {
  auto& step = addStep(state, Node::Critic);
  ++state.critiques;
  int dropped = 0, unsupported = 0;
  for (auto& f : state.findings) {
    auto before = f.evidence.size();
    f.evidence.erase(std::remove_if(f.evidence.begin(), f.evidence.end(),
                                    [&](const std::string& id) { return !state.findEvidence(id); }),
                     f.evidence.end());
    dropped += static_cast<int>(before - f.evidence.size());
    if (f.evidence.empty() && f.severity > Severity::Low) {
      f.severity = Severity::Low;  // a claim without evidence is a hint at most
      f.confidence = std::min(f.confidence, 30);
      ++unsupported;
    }
  }
  // Send the run back once when a crash finding has no container log yet.
  int replanned = 0;
  if (state.critiques <= options_.maxCritiques && spec.toolAllowed("get_pod_logs")) {
    for (const auto& f : state.findings) {
      if (f.severity < Severity::Medium || f.subject.rfind("Pod/", 0) != 0) continue;
      bool hasLogs = std::any_of(f.evidence.begin(), f.evidence.end(), [&](const std::string& id) {
        const auto* e = state.findEvidence(id);
        return e && e->tool == "get_pod_logs";
      });
      const bool crash = f.title.find("crash") != std::string::npos || f.title.find("exit") != std::string::npos;
      if (hasLogs || !crash) continue;
      // subject: Pod/NAME/CONTAINER
      auto rest = f.subject.substr(4);
      auto slash = rest.find('/');
      if (slash == std::string::npos) continue;
      PlannedCall call{"get_pod_logs",
                       canonicalJson("{\"pod\":\"" + rest.substr(0, slash) + "\",\"container\":\"" +
                                     rest.substr(slash + 1) + "\",\"previous\":true}"),
                       "the critic wants the crashed container's log"};
      if (!state.alreadyCalled(call) && std::find(state.plan.begin(), state.plan.end(), call) == state.plan.end()) {
        state.plan.push_back(call);
        ++replanned;
      }
    }
  }
  step.state = StepState::Succeeded;
  step.verdict = replanned ? Verdict::NeedsEvidence : Verdict::Accepted;
  if (replanned) step.need = "the log of a crashed container";
  step.summary = std::to_string(state.findings.size()) + " findings checked";
  if (dropped) step.summary += ", " + std::to_string(dropped) + " citations of missing evidence removed";
  if (unsupported) step.summary += ", " + std::to_string(unsupported) + " unsupported findings downgraded";
  if (replanned) step.summary += "; asked for " + std::to_string(replanned) + " more log reads";
  if (!dropped && !unsupported && !replanned) step.summary += ": every finding cites evidence that exists";
}

void RunGraph::finalize(const RunSpec& spec, RunState& state, Phase phase, const std::string& reason_,
                        const std::string& message_) {
  std::string reason = reason_, message = message_;
  // A run that lost its model finishes on the built-in answer and says so.
  if (reason == "Completed" && model_ && degradedToBuiltin(state)) {
    reason = "ModelUnavailable";
    message = "model profile " + modelOptions_.profile +
              " was unavailable; answered with the built-in analyzers";
  }
  auto& step = addStep(state, Node::Finalizer);
  const bool modelAnswer = reason == "Completed" && model_ && !state.answer.empty();
  if (modelAnswer) {
    // Citations must name evidence that exists; unknown ones are marked.
    std::string checked;
    const std::string& a = state.answer;
    for (std::size_t i = 0; i < a.size();) {
      if (a[i] == '[' && i + 2 < a.size() && (a[i + 1] == 'E' || a[i + 1] == 'R') &&
          std::isdigit(static_cast<unsigned char>(a[i + 2]))) {
        auto close = a.find(']', i);
        if (close != std::string::npos && close - i < 10) {
          std::string id = a.substr(i + 1, close - i - 1);
          checked += state.findEvidence(id) ? "[" + id + "]" : "[" + id + ": no such evidence]";
          i = close + 1;
          continue;
        }
      }
      checked += a[i++];
    }
    state.answer = truncateText(checked, options_.maxAnswerBytes, false).text;
  } else {
    state.answer = truncateText(composeAnswer(spec, state, reason, message), options_.maxAnswerBytes, false).text;
    if (reason == "ModelUnavailable") state.answer = "_" + message + "._\n\n" + state.answer;
  }
  state.answer += actionsReport(state, [this](const std::string& t) { return isAction(t); });
  state.phase = phase;
  state.reason = reason;
  int problems = static_cast<int>(std::count_if(state.findings.begin(), state.findings.end(),
                                                [](const Finding& f) { return f.severity >= Severity::Medium; }));
  if (reason == "ModelUnavailable") {
    state.message = message;
  } else if (reason == "Completed") {
    state.message = problems == 0 ? "No problem found in " + spec.targetDescription()
                                  : std::to_string(problems) + (problems == 1 ? " problem" : " problems") +
                                        " found in " + spec.targetDescription();
  } else {
    state.message = message.empty() ? reason : message;
    if (phase == Phase::Succeeded) state.message = "Partial answer: " + state.message;
  }
  state.plan.clear();
  step.state = StepState::Succeeded;
  step.summary = state.message;
}

}  // namespace opscopilot::agent
