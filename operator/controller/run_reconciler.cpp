#include "operator/controller/run_reconciler.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <ctime>
#include <random>

#include "agent/graph.h"
#include "agent/run_state_json.h"
#include "agent/sink_redaction.h"
#include "operator/controller/approval.h"
#include "operator/controller/json_log.h"
#include "tools/selector.h"

namespace opscopilot::controller {

const kube::ResourceRef kDiagnosticRuns{"opscopilot.io", "v1alpha1", "diagnosticruns", true};
const kube::ResourceRef kApprovalRequests{"opscopilot.io", "v1alpha1", "approvalrequests", true};

namespace {

using Clock = std::chrono::system_clock;
using Alloc = rapidjson::Document::AllocatorType;

// What the Events about a run point at.
EventTarget eventTarget(const kube::Object& run) {
  return {"opscopilot.io/v1alpha1", "DiagnosticRun", std::string(run.ns()), std::string(run.name()), std::string(run.uid())};
}

std::string randomTraceID() {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(rng()),
                static_cast<unsigned long long>(rng()));
  return buf;
}

void setMember(rapidjson::Value& obj, const char* key, rapidjson::Value v, Alloc& a) {
  if (auto it = obj.FindMember(key); it != obj.MemberEnd()) {
    it->value = std::move(v);
  } else {
    obj.AddMember(rapidjson::Value(key, a), std::move(v), a);
  }
}

// Sets one metav1.Condition, keeping lastTransitionTime when status is unchanged.
void setCondition(rapidjson::Value& status, const std::string& type, const std::string& condStatus,
                  const std::string& reason, const std::string& message, std::int64_t generation,
                  const std::string& now, Alloc& a) {
  if (!status.HasMember("conditions") || !status["conditions"].IsArray()) {
    setMember(status, "conditions", rapidjson::Value(rapidjson::kArrayType), a);
  }
  auto& conds = status["conditions"];
  rapidjson::Value* existing = nullptr;
  for (auto& c : conds.GetArray()) {
    if (c.IsObject() && kube::stringMember(c, "type") == type) existing = &c;
  }
  std::string transition = now;
  if (existing && kube::stringMember(*existing, "status") == condStatus) {
    transition = std::string(kube::stringMember(*existing, "lastTransitionTime"));
    if (transition.empty()) transition = now;
  }
  rapidjson::Value c(rapidjson::kObjectType);
  c.AddMember("type", rapidjson::Value(type.c_str(), a), a);
  c.AddMember("status", rapidjson::Value(condStatus.c_str(), a), a);
  c.AddMember("reason", rapidjson::Value(reason.c_str(), a), a);
  c.AddMember("message", rapidjson::Value(message.substr(0, 32768).c_str(), a), a);
  c.AddMember("lastTransitionTime", rapidjson::Value(transition.c_str(), a), a);
  c.AddMember("observedGeneration", generation, a);
  if (existing) {
    *existing = std::move(c);
  } else {
    conds.PushBack(c, a);
  }
}

std::string limitText(const agent::Limits& l) {
  return std::to_string(l.maxSteps) + " steps, " + std::to_string(l.timeout.count()) + "s";
}

}  // namespace


kube::Result<agent::RunSpec> runSpecFrom(const kube::Object& run, const OperatorConfig& config) {
  auto invalid = [](std::string m) { return kube::Error{0, "InvalidSpec", std::move(m)}; };
  const auto* spec = run.at({"spec"});
  if (!spec || !spec->IsObject()) return invalid("spec is missing");
  agent::RunSpec rs;
  rs.ns = std::string(run.ns());
  rs.question = std::string(kube::stringMember(*spec, "question"));
  if (rs.question.empty()) return invalid("spec.question is required");
  if (const auto* t = kube::member(*spec, "target"); t && t->IsObject()) {
    rs.targetKind = std::string(kube::stringMember(*t, "kind"));
    rs.targetName = std::string(kube::stringMember(*t, "name"));
    if (const auto* sel = kube::member(*t, "selector"); sel && sel->IsObject()) {
      rs.targetSelector = tools::selectorToString(*sel);
    }
    if (!rs.targetKind.empty() && rs.targetName.empty() && rs.targetSelector.empty()) {
      return invalid("spec.target needs a name or a selector");
    }
  }
  rs.model = std::string(kube::stringMember(*spec, "model"));
  if (rs.model.empty()) rs.model = config.defaultModel;
  if (!config.models.count(rs.model)) {
    return invalid("spec.model \"" + rs.model + "\" is not a model profile of this operator (configured: " +
                   [&] {
                     std::string names;
                     for (const auto& [n, p] : config.models) names += (names.empty() ? "" : ", ") + n;
                     return names;
                   }() +
                   ")");
  }
  rs.limits = config.defaultLimits;
  if (const auto* l = kube::member(*spec, "limits"); l && l->IsObject()) {
    if (const auto* v = kube::member(*l, "maxSteps"); v && v->IsInt()) rs.limits.maxSteps = v->GetInt();
    if (const auto* v = kube::member(*l, "timeoutSeconds"); v && v->IsInt()) {
      rs.limits.timeout = std::chrono::seconds(v->GetInt());
    }
    if (const auto* v = kube::member(*l, "maxTokens"); v && v->IsInt64()) rs.limits.maxTokens = v->GetInt64();
    if (const auto* v = kube::member(*l, "maxCostUSD"); v && v->IsString()) {
      auto micro = agent::parseMicroUSD(v->GetString());
      if (!micro) return invalid(std::string("spec.limits.maxCostUSD \"") + v->GetString() + "\" is not a decimal amount");
      rs.limits.maxCostMicroUSD = *micro;
    }
  }
  const auto& m = config.maxLimits;
  if (rs.limits.maxSteps > m.maxSteps || rs.limits.timeout > m.timeout || rs.limits.maxTokens > m.maxTokens ||
      rs.limits.maxCostMicroUSD > m.maxCostMicroUSD) {
    return invalid("spec.limits exceed this operator's maximum (" + limitText(m) + ")");
  }
  if (rs.limits.maxSteps < 1) return invalid("spec.limits.maxSteps must be at least 1");
  if (const auto* c = kube::member(*spec, "critic"); c && c->IsBool()) rs.critic = c->GetBool();
  if (const auto* tools = kube::member(*spec, "tools"); tools && tools->IsArray()) {
    for (const auto& t : tools->GetArray()) {
      if (t.IsString()) rs.allowedTools.emplace_back(t.GetString());
    }
  }
  rs.disabledTools = config.disabledTools;
  return rs;
}

kube::ObjectPtr slimForCache(const kube::ObjectPtr& run) {
  const auto phase = run->stringAt({"status", "phase"});
  const bool finished = phase == "Succeeded" || phase == "Failed";
  const bool hasManagedFields = run->at({"metadata", "managedFields"}) != nullptr;
  if (!finished && !hasManagedFields) return run;
  rapidjson::Document doc;
  doc.CopyFrom(run->json(), doc.GetAllocator());
  if (doc.HasMember("metadata") && doc["metadata"].IsObject()) doc["metadata"].RemoveMember("managedFields");
  if (finished && doc.HasMember("status") && doc["status"].IsObject()) {
    for (const char* heavy : {"steps", "evidence", "findings", "answer", "plan", "usage", "conditions"}) {
      doc["status"].RemoveMember(heavy);
    }
  }
  auto slim = kube::Object::parse(kube::serializeJson(doc));
  return slim.ok() ? *slim : run;
}

RunReconciler::RunReconciler(std::shared_ptr<kube::Client> client, const kube::Informer& cache,
                             const agent::ToolRegistry& tools,
                             const std::vector<std::unique_ptr<agent::Analyzer>>& analyzers,
                             const OperatorConfig& config, EventRecorder& events, const std::atomic<bool>& stopping,
                             RequesterPolicy& requesterPolicy,
                             const std::map<std::string, std::unique_ptr<agent::llm::Gateway>>* gateways)
    : client_(std::move(client)),
      cache_(cache),
      tools_(tools),
      analyzers_(analyzers),
      config_(config),
      events_(events),
      stopping_(stopping),
      requesterPolicy_(requesterPolicy),
      gateways_(gateways) {}

void RunReconciler::remember(const std::string& key, const kube::ObjectPtr& run, int steps, bool finished) {
  std::lock_guard lock(writtenMu_);
  written_[key] = Written{std::string(run->uid()), steps, finished};
}

bool RunReconciler::cacheIsBehind(const std::string& key, const kube::Object& run) {
  std::lock_guard lock(writtenMu_);
  auto it = written_.find(key);
  if (it == written_.end() || it->second.uid != run.uid()) return false;
  auto steps = run.intAt({"status", "stepCount"}).value_or(0);
  auto phase = run.stringAt({"status", "phase"});
  const bool finished = phase == "Succeeded" || phase == "Failed";
  return steps < it->second.steps || (it->second.finished && !finished);
}

kube::Result<kube::ObjectPtr> RunReconciler::writeStatus(const kube::ObjectPtr& run, const agent::RunState& state,
                                                         Clock::time_point start, const std::string& targetRef,
                                                         bool freshRun, const approval::Record* record) {
  rapidjson::Document doc;
  doc.CopyFrom(run->json(), doc.GetAllocator());
  auto& a = doc.GetAllocator();
  std::string traceID(run->stringAt({"status", "traceID"}));
  if (freshRun || !doc.HasMember("status") || !doc["status"].IsObject()) {
    setMember(doc, "status", rapidjson::Value(rapidjson::kObjectType), a);
    traceID.clear();
  }
  auto& status = doc["status"];
  agent::writeRunState(state, status, a);
  const auto now = Clock::now();
  const std::string nowText = agent::formatTime(now);
  const auto generation = run->generation();
  setMember(status, "observedGeneration", rapidjson::Value(static_cast<std::int64_t>(generation)), a);
  setMember(status, "startTime", rapidjson::Value(agent::formatTime(start).c_str(), a), a);
  if (traceID.empty()) traceID = randomTraceID();
  setMember(status, "traceID", rapidjson::Value(traceID.c_str(), a), a);
  if (!targetRef.empty()) setMember(status, "targetRef", rapidjson::Value(targetRef.c_str(), a), a);
  if (state.finished()) {
    if (!status.HasMember("completionTime")) setMember(status, "completionTime", rapidjson::Value(nowText.c_str(), a), a);
    setCondition(status, "Succeeded", state.phase == "Succeeded" ? "True" : "False", state.reason, state.message,
                 generation, nowText, a);
  } else {
    status.RemoveMember("completionTime");
    setCondition(status, "Succeeded", "Unknown", "Running",
                 "investigating: " + std::to_string(state.steps.size()) + " steps so far", generation, nowText, a);
  }
  // While a step waits, the condition's message records which
  // ApprovalRequest the controller created for it (name and UID; see
  // approval.h): given, or kept from the previous write for the same step.
  const bool waiting = state.phase == "AwaitingApproval";
  std::string waitingMessage = "no step waits for approval";
  if (waiting) {
    const agent::Step* pending = agent::RunGraph::pendingApproval(state);
    waitingMessage = pending ? "step " + std::to_string(pending->id) + " (" + pending->tool +
                                   ") waits for an ApprovalRequest"
                             : "a step waits for an ApprovalRequest";
    std::optional<approval::Record> kept;
    if (record) {
      kept = *record;
    } else if (!freshRun) {
      kept = approval::recordFrom(*run);
    }
    if (pending && kept && kept->stepID == pending->id && kept->generation == generation) {
      waitingMessage = approval::recordMessage(*kept, pending->tool);
    }
  }
  setCondition(status, "AwaitingApproval", waiting ? "True" : "False", waiting ? "ApprovalPending" : "NoApprovalPending",
               waitingMessage, generation, nowText, a);

  // The sink: every string of the body passes the redactor, whatever wrote it.
  const agent::RedactedText body = agent::redactJson(doc);
  for (int attempt = 0;; ++attempt) {
    statusWrites_.fetch_add(1, std::memory_order_relaxed);
    auto r = client_->updateStatus(kDiagnosticRuns, run->ns(), run->name(), body);
    if (r.ok() || !r.error().isConflict() || attempt > 0) return r;
    // Someone changed the run since we read it. Retry on the fresh copy only
    // when nobody else advanced the investigation meanwhile.
    auto fresh = client_->get(kDiagnosticRuns, run->ns(), run->name());
    if (!fresh.ok()) return fresh.error();
    if ((*fresh)->generation() != generation ||
        (*fresh)->intAt({"status", "stepCount"}) != run->intAt({"status", "stepCount"})) {
      return r.error();
    }
    rapidjson::Document retry;
    retry.Parse(body.str().c_str());
    retry["metadata"]["resourceVersion"].SetString(std::string((*fresh)->resourceVersion()).c_str(), retry.GetAllocator());
    auto again = client_->updateStatus(kDiagnosticRuns, run->ns(), run->name(), agent::redactJson(retry));
    statusWrites_.fetch_add(1, std::memory_order_relaxed);
    return again;
  }
}

ReconcileResult RunReconciler::statusWriteFailed(const std::string& key, const kube::ObjectPtr& run,
                                                 agent::RunState state, Clock::time_point start,
                                                 const std::string& targetRef, const kube::Error& error) {
  if (error.isConflict() || error.isNotFound()) return {std::chrono::milliseconds(50), {}, "Superseded"};
  if (error.isTooLarge() || error.isInvalid()) return endRefusedRun(key, run, std::move(state), start, targetRef, error);
  return {{}, error, "StatusWriteFailed"};
}

ReconcileResult RunReconciler::endRefusedRun(const std::string& key, const kube::ObjectPtr& run, agent::RunState state,
                                             Clock::time_point start, const std::string& targetRef,
                                             const kube::Error& refused) {
  const bool tooLarge = refused.isTooLarge();
  const std::string why = "the API server refused the run's status (" + refused.toString() + ")";
  const auto uid = std::string(run->uid());
  const auto generation = run->generation();
  const EventTarget target = eventTarget(*run);
  const bool prepared = state.phase == "Failed" && (state.reason == "StatusTooLarge" || state.reason == "StatusRejected");
  if (!prepared) {
    // The ending (else prepared here before, and its write is retried).
    state.phase = "Failed";
    state.reason = tooLarge ? "StatusTooLarge" : "StatusRejected";
    state.plan.clear();
    for (auto& step : state.steps) {
      if (step.state == "AwaitingApproval" || step.state == "Running") {
        step.state = "Failed";
        step.error = state.reason + ": the run ended before this step could run";
      }
    }
    std::size_t dropped = 0;
    for (auto& e : state.evidence) {
      if (e.excerpt.empty()) continue;
      e.excerpt = "[excerpt left out: the API server refused the run's status]";
      e.truncated = true;
      ++dropped;
    }
    state.message = why + "; the run ended here, saved without its " + std::to_string(dropped) + " evidence excerpts";
    if (state.answer.empty()) state.answer = "The investigation stopped early: " + why + ".";
  }
  ++state.usage.apiRequests;  // this status write
  auto written = writeStatus(run, state, start, targetRef, false);
  std::size_t steps = state.steps.size();
  if (!written.ok() && (written.error().isTooLarge() || written.error().isInvalid())) {
    // Not even that fits: keep the outcome and what it cost.
    agent::RunState bare;
    bare.phase = state.phase;
    bare.reason = state.reason;
    bare.usage = state.usage;
    ++bare.usage.apiRequests;
    bare.message = why + "; the run ended here, saved without its " + std::to_string(state.steps.size()) +
                   " steps, its evidence and its findings (" + written.error().toString() + ")";
    bare.answer = "The investigation stopped early and could not be saved: " + why + ".";
    written = writeStatus(run, bare, start, targetRef, false);
    steps = 0;
    state = std::move(bare);
  }
  if (!written.ok()) {
    // Kept until the final write lands: the next reconcile retries only it.
    std::lock_guard lock(writtenMu_);
    refusedEnds_[key] = RefusedEnd{uid, generation, state, start, targetRef, refused};
    logError("cannot write the final status of a run whose status was refused; will retry that write only",
             {{"controller", "diagnosticrun"}, {"namespace", run->ns()}, {"name", run->name()},
              {"error", written.error().toString()}});
    if (written.error().isConflict()) return {std::chrono::milliseconds(50), {}, "StatusRefused"};
    return {{}, written.error(), "StatusRefused"};
  }
  {
    std::lock_guard lock(writtenMu_);
    refusedEnds_.erase(key);
  }
  remember(key, *written, static_cast<int>(steps), true);
  events_.record(target, "Warning", state.reason, agent::redactText(state.message));
  logError("run ended: the API server refused its status",
           {{"controller", "diagnosticrun"}, {"namespace", run->ns()}, {"name", run->name()},
            {"reason", state.reason}, {"error", refused.toString()}});
  return {{}, {}, state.reason};
}

ReconcileResult RunReconciler::finishedRun(const kube::ObjectPtr& run) {
  auto ttl = run->intAt({"spec", "ttlSecondsAfterFinished"});
  if (!ttl) return {{}, {}, "Finished"};
  auto done = parseRfc3339(run->stringAt({"status", "completionTime"}));
  if (!done) return {{}, {}, "Finished"};
  auto expiry = *done + std::chrono::seconds(*ttl);
  auto now = Clock::now();
  if (expiry > now) {
    return {std::chrono::duration_cast<std::chrono::milliseconds>(expiry - now) + std::chrono::milliseconds(10), {},
            "WaitingForTTL"};
  }
  kube::DeleteOptions del;
  del.preconditionUID = std::string(run->uid());
  del.propagationPolicy = "Background";
  auto r = client_->remove(kDiagnosticRuns, run->ns(), run->name(), del);
  if (!r.ok() && !r.error().isNotFound()) return {{}, r.error(), "DeleteFailed"};
  logInfo("deleted finished run after its TTL", {{"controller", "diagnosticrun"}, {"namespace", run->ns()}, {"name", run->name()}});
  return {{}, {}, "DeletedAfterTTL"};
}

std::optional<ReconcileResult> RunReconciler::awaitApproval(kube::ObjectPtr& run, agent::RunState& state,
                                                            Clock::time_point start, const std::string& targetRef) {
  const agent::Step* step = agent::RunGraph::pendingApproval(state);
  if (!step) return std::nullopt;
  const auto action = approval::actionFor(*run, *step);
  const std::string name = approval::requestName(action.runName, action.generation, action.stepID);
  const std::string stepText = "step " + std::to_string(step->id) + " (" + step->tool + ")";
  const EventTarget target = eventTarget(*run);

  auto record = approval::recordFrom(*run);
  if (!record || record->stepID != action.stepID || record->generation != action.generation) {
    // Nothing recorded in the cached copy. The cache may not have our last
    // status write yet: ask the API server before concluding that the
    // controller never created a request for this step.
    auto fresh = client_->get(kDiagnosticRuns, run->ns(), run->name());
    if (!fresh.ok()) {
      return ReconcileResult{{}, fresh.error().isNotFound() ? std::nullopt : std::optional(fresh.error()), "Refetch"};
    }
    if ((*fresh)->uid() != run->uid() || (*fresh)->generation() != run->generation() ||
        (*fresh)->intAt({"status", "stepCount"}) != run->intAt({"status", "stepCount"})) {
      return ReconcileResult{std::chrono::milliseconds(50), {}, "Superseded"};
    }
    run = *fresh;
    record = approval::recordFrom(*run);
  }
  // A request this process created whose record never reached the status
  // (the write after the create failed): this process knows its UID, so it
  // is still the controller's own. It is recorded again below.
  std::optional<approval::Record> unrecorded;
  if (!record || record->stepID != action.stepID || record->generation != action.generation) {
    std::lock_guard lock(writtenMu_);
    if (auto it = unrecorded_.find(run->key()); it != unrecorded_.end()) {
      const auto& [runUID, rec] = it->second;
      if (runUID == run->uid() && rec.name == name && rec.stepID == action.stepID && rec.generation == action.generation) {
        unrecorded = rec;
        record = rec;
      }
    }
  }

  kube::ObjectPtr request;
  if (auto got = client_->get(kApprovalRequests, run->ns(), name); got.ok()) {
    request = *got;
  } else if (!got.error().isNotFound()) {
    return ReconcileResult{{}, got.error(), "ApprovalReadFailed"};
  }
  auto decision = approval::decide(action, record, request ? &request->json() : nullptr, Clock::now());
  if (unrecorded && decision.verdict == approval::Verdict::Wait) {
    ++state.usage.apiRequests;  // this status write
    if (auto written = writeStatus(run, state, start, targetRef, false, &*unrecorded); written.ok()) {
      run = *written;
      remember(run->key(), run, static_cast<int>(state.steps.size()), false);
      std::lock_guard lock(writtenMu_);
      unrecorded_.erase(run->key());
    } else {
      logError("cannot record the ApprovalRequest in the run's status yet", {{"controller", "diagnosticrun"},
               {"namespace", run->ns()}, {"name", run->name()}, {"approvalRequest", name},
               {"error", written.error().toString()}});
      return statusWriteFailed(run->key(), run, state, start, targetRef, written.error());
    }
  }

  if (decision.verdict == approval::Verdict::Create) {
    const agent::Tool* tool = tools_.find(step->tool);
    const std::string risk = tool && !tool->spec().risk.empty() ? tool->spec().risk : "Medium";
    const auto expiresAt = Clock::now() + std::chrono::hours(1);
    // The sink: the whole request passes the redactor. Arguments that lost a
    // secret to it no longer match the action, so such a request is Rejected,
    // never run. The summary (it quotes what the model or a tool wrote) is
    // redacted before requestJson cuts it, so no secret is cut in half.
    auto created = client_->create(kApprovalRequests, run->ns(),
                                   agent::redactJsonBody(approval::requestJson(
                                       action, agent::redactForSink(step->summary), risk, expiresAt)));
    if (created.ok()) {
      // Record which request is ours (its UID) before anyone can decide on
      // it; only that object is ever honoured for this step. Should this
      // write fail, this process remembers the UID and records it on the
      // next reconcile; should the process die first, the request stays
      // unrecorded and is refused: the failure mode is "not run", never
      // "run without approval".
      const approval::Record rec{name, std::string((*created)->uid()), action.stepID, action.generation};
      ++state.usage.apiRequests;  // this status write
      auto written = writeStatus(run, state, start, targetRef, false, &rec);
      if (!written.ok()) {
        {
          // Kept in memory, so this process still knows the request as its
          // own; lost with the process, and then the request is refused.
          std::lock_guard lock(writtenMu_);
          unrecorded_[run->key()] = {std::string(run->uid()), rec};
        }
        logError("cannot record the ApprovalRequest in the run's status; will record it again",
                 {{"controller", "diagnosticrun"}, {"namespace", run->ns()}, {"name", run->name()},
                  {"approvalRequest", name}, {"error", written.error().toString()}});
        return statusWriteFailed(run->key(), run, state, start, targetRef, written.error());
      }
      run = *written;
      remember(run->key(), run, static_cast<int>(state.steps.size()), false);
      {
        std::lock_guard lock(writtenMu_);
        unrecorded_.erase(run->key());
      }
      events_.record(target, "Normal", "AwaitingApproval", agent::redactText(stepText + " waits for ApprovalRequest " + name));
      return ReconcileResult{std::chrono::hours(1) + std::chrono::milliseconds(10), {}, "AwaitingApproval"};
    }
    if (created.error().reason != "AlreadyExists") return ReconcileResult{{}, created.error(), "ApprovalCreateFailed"};
    // Someone created it between our read and our create: not ours.
    auto got = client_->get(kApprovalRequests, run->ns(), name);
    if (!got.ok()) return ReconcileResult{{}, got.error(), "ApprovalReadFailed"};
    request = *got;
    decision = approval::decide(action, std::nullopt, &request->json(), Clock::now());
  }

  if (decision.verdict == approval::Verdict::Wait) {
    auto wait = decision.expiresAt ? std::chrono::duration_cast<std::chrono::milliseconds>(*decision.expiresAt - Clock::now())
                                   : std::chrono::milliseconds(std::chrono::hours(1));
    return ReconcileResult{std::max(wait, std::chrono::milliseconds(0)) + std::chrono::milliseconds(10), {}, "AwaitingApproval"};
  }

  agent::ApprovalDecision d;
  d.decidedBy = decision.decidedBy;
  d.comment = decision.comment;
  std::string phase(approval::toString(decision.verdict));
  std::string message;
  switch (decision.verdict) {
    case approval::Verdict::Approved:
      d.outcome = agent::ApprovalDecision::Outcome::Approved;
      message = "approved by " + d.decidedBy;
      break;
    case approval::Verdict::Denied:
      d.outcome = agent::ApprovalDecision::Outcome::Denied;
      message = "denied by " + d.decidedBy;
      break;
    case approval::Verdict::Expired:
      d.outcome = agent::ApprovalDecision::Outcome::Expired;
      message = "expired without a decision";
      break;
    default:
      // Rejected: the step is skipped like a denied one and the run goes on
      // without it. Failing the whole run instead would let anyone who can
      // create an ApprovalRequest (a forged or stale one) abort other
      // people's investigations; skipping keeps the rest of the evidence
      // and answer, and the step, an Event and the request's status say why.
      d.outcome = agent::ApprovalDecision::Outcome::Denied;
      d.decidedBy.clear();
      d.comment.clear();
      message = decision.why;
      break;
  }
  agent::RunGraph::decide(state, d);
  if (decision.verdict == approval::Verdict::Rejected) {
    agent::Step& s = state.steps.back();  // the approval step (decide adds none)
    s.summary = s.tool + " did not run: " + decision.why;
    s.error = "ApprovalRequestRejected: " + decision.why;
    events_.record(target, "Warning", "ApprovalRequestRejected", agent::redactText(stepText + " did not run: " + decision.why));
    logInfo("approval request rejected", {{"controller", "diagnosticrun"}, {"namespace", run->ns()},
                                          {"name", run->name()}, {"approvalRequest", name}, {"why", decision.why}});
  }
  // The request's status says what the controller made of it. A request
  // already judged keeps its phase (the controller's own request from an
  // earlier generation stays Approved or Denied); the UID in the patch makes
  // it apply to exactly the object that was judged.
  const auto current = request ? request->stringAt({"status", "phase"}) : std::string_view();
  const bool judged = !current.empty() && current != "Pending";
  if (request && current != phase && !(decision.verdict == approval::Verdict::Rejected && judged)) {
    rapidjson::Document patch(rapidjson::kObjectType);
    auto& a = patch.GetAllocator();
    rapidjson::Value meta(rapidjson::kObjectType), st(rapidjson::kObjectType);
    meta.AddMember("uid", rapidjson::Value(std::string(request->uid()).c_str(), a), a);
    st.AddMember("phase", rapidjson::Value(phase.c_str(), a), a);
    st.AddMember("message", rapidjson::Value(agent::redactForSink(message).substr(0, 2000).c_str(), a), a);
    if (decision.verdict == approval::Verdict::Approved || decision.verdict == approval::Verdict::Denied) {
      st.AddMember("decidedAt", rapidjson::Value(agent::formatTime(Clock::now()).c_str(), a), a);
    }
    patch.AddMember("metadata", meta, a);
    patch.AddMember("status", st, a);
    auto r = client_->patch(kApprovalRequests, run->ns(), name, kube::PatchType::Merge, agent::redactJson(patch), {},
                            "status");
    if (!r.ok()) logError("cannot update the ApprovalRequest status", {{"name", name}, {"error", r.error().toString()}});
  }
  return std::nullopt;
}

ReconcileResult RunReconciler::reconcile(const std::string& key) {
  kube::ObjectPtr run = cache_.get(key);
  if (!run) {
    std::lock_guard lock(writtenMu_);
    written_.erase(key);
    refusedEnds_.erase(key);
    unrecorded_.erase(key);
    return {{}, {}, "Gone"};
  }
  if (cacheIsBehind(key, *run)) {
    auto fresh = client_->get(kDiagnosticRuns, run->ns(), run->name());
    if (!fresh.ok()) return {{}, fresh.error().isNotFound() ? std::nullopt : std::optional(fresh.error()), "Refetch"};
    run = *fresh;
  }
  if (run->isBeingDeleted()) return {{}, {}, "Deleting"};

  std::optional<RefusedEnd> refused;
  {
    std::lock_guard lock(writtenMu_);
    if (auto it = refusedEnds_.find(key); it != refusedEnds_.end()) {
      if (it->second.uid == run->uid() && it->second.generation == run->generation()) {
        refused = it->second;
      } else {
        refusedEnds_.erase(it);
      }
    }
  }
  if (refused) return endRefusedRun(key, run, refused->state, refused->start, refused->targetRef, refused->refused);

  const auto generation = run->generation();
  const auto observed = run->intAt({"status", "observedGeneration"}).value_or(0);
  const auto phase = run->stringAt({"status", "phase"});
  const bool sameGeneration = observed == generation;
  if ((phase == "Succeeded" || phase == "Failed") && sameGeneration) return finishedRun(run);

  const EventTarget target = eventTarget(*run);
  const bool freshRun = !sameGeneration;
  agent::RunState state;
  if (!freshRun) {
    if (const auto* st = run->at({"status"})) state = agent::readRunState(*st);
  }
  Clock::time_point start = Clock::now();
  if (!freshRun) {
    if (auto t = parseRfc3339(run->stringAt({"status", "startTime"}))) start = *t;
  }

  auto spec = runSpecFrom(*run, config_);
  if (spec.ok()) {
    // Whose rights bound the run's reads: the requester's, when admission
    // vouches for spec.requester (requester.h).
    auto verdict = requesterPolicy_.check(*run);
    if (verdict.transient) return {{}, kube::Error{0, "RequesterPolicyUnreadable", verdict.why}, "RequesterPolicyUnreadable"};
    if (verdict.trusted) {
      spec->requester = requesterFrom(*run);
    } else if (config_.whenRequesterUnverified == OperatorConfig::WhenUnverified::Refuse) {
      spec = kube::Error{0, "RequesterUnverified",
                         "the run's requester cannot be verified: " + verdict.why +
                             " (install the requester admission policy, or set requester.whenUnverified: ReaderOnly "
                             "in the operator config to run such runs with the reader identity alone)"};
    } else if (state.steps.empty()) {
      logInfo("run's requester unverified; reading with the reader identity alone (requester.whenUnverified: ReaderOnly)",
              {{"controller", "diagnosticrun"}, {"namespace", run->ns()}, {"name", run->name()}, {"why", verdict.why}});
    }
    if (spec.ok()) spec->runUID = std::string(run->uid());
  }
  if (!spec.ok()) {
    state = agent::RunState{};
    state.phase = "Failed";
    state.reason = spec.error().reason;
    state.message = spec.error().message;
    state.answer = "The run could not start: " + spec.error().message + ".";
    auto w = writeStatus(run, state, start, {}, true);
    if (!w.ok()) return {{}, w.error(), "StatusWriteFailed"};
    remember(key, *w, 0, true);
    events_.record(target, "Warning", state.reason, agent::redactText(spec.error().message));
    return {{}, {}, state.reason};
  }
  const std::string targetRef = spec->targetKind.empty() ? "" : spec->targetKind + "/" +
                                                                    (spec->targetName.empty() ? spec->targetSelector : spec->targetName);
  if (state.steps.empty()) {
    events_.record(target, "Normal", "Started",
                   agent::redactText("Investigating " + spec->targetDescription() + ": " +
                                     agent::redactForSink(spec->question).substr(0, 200)));
  } else {
    logInfo("resuming run", {{"controller", "diagnosticrun"}, {"namespace", run->ns()}, {"name", run->name()},
                             {"steps", std::to_string(state.steps.size())}});
  }

  bool fresh = freshRun;
  // Before each model call, the status records it (usage.llmCallsStarted):
  // a call the provider may charge is on record before it is sent.
  std::optional<kube::Error> checkpointFailed;
  agent::GraphOptions gopts;
  gopts.maxEvidenceBytes = config_.maxExcerptBytes;
  gopts.beforeModelCall = [&](agent::RunState& saved) {
    ++saved.usage.apiRequests;  // this status write
    auto w = writeStatus(run, saved, start, targetRef, fresh);
    if (!w.ok()) {
      checkpointFailed = w.error();
      return false;
    }
    fresh = false;
    run = *w;
    remember(key, run, static_cast<int>(saved.steps.size()), false);
    return true;
  };
  agent::RunGraph graph(tools_, analyzers_, planner_, gopts);
  if (const auto& profile = config_.models.at(spec->model); profile.provider != "builtin") {
    agent::llm::Gateway* gateway = nullptr;
    if (gateways_) {
      if (auto it = gateways_->find(spec->model); it != gateways_->end()) gateway = it->second.get();
    }
    if (gateway) {
      graph.useModel(gateway, {spec->model, {profile.maxToolResultTokens, profile.maxPromptTokens}, 3});
    }
  }
  if (auto waiting = awaitApproval(run, state, start, targetRef)) return *waiting;
  const auto wallStart = std::chrono::steady_clock::now();
  const auto durationBefore = state.usage.durationMs;
  while (true) {
    if (stopping_.load()) return {{}, {}, "Checkpointed"};
    auto adv = graph.advance(*spec, state, start);
    state.usage.durationMs = durationBefore + std::chrono::duration_cast<std::chrono::milliseconds>(
                                                  std::chrono::steady_clock::now() - wallStart)
                                                  .count();
    ++state.usage.apiRequests;  // this status write
    auto written = writeStatus(run, state, start, targetRef, fresh);
    fresh = false;
    if (!written.ok()) return statusWriteFailed(key, run, std::move(state), start, targetRef, written.error());
    run = *written;
    remember(key, run, static_cast<int>(state.steps.size()), state.finished());
    if (adv == agent::Advance::Interrupted) {
      // Shutdown; or the save before a model call failed, and the call was
      // not made: try again.
      if (checkpointFailed) return {{}, *checkpointFailed, "CheckpointFailed"};
      return {{}, {}, "Checkpointed"};
    }
    if (adv == agent::Advance::Finished) break;
    if (adv == agent::Advance::AwaitingApproval) {
      if (auto waiting = awaitApproval(run, state, start, targetRef)) return *waiting;
    }
  }

  if (state.reason == "Completed") {
    events_.record(target, "Normal", "Completed", agent::redactText(state.message));
  } else {
    events_.record(target, "Warning", state.reason, agent::redactText(state.message));
  }
  logInfo("run finished", {{"controller", "diagnosticrun"}, {"namespace", run->ns()}, {"name", run->name()},
                           {"reason", state.reason}, {"steps", std::to_string(state.steps.size())}});
  auto ttl = finishedRun(run);
  ttl.outcome = state.reason;
  return ttl;
}

}  // namespace opscopilot::controller
