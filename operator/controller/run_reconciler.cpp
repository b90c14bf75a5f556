#include "operator/controller/run_reconciler.h"
#include "operator/controller/operator_metrics.h"
#include "operator/controller/schedule_reconciler.h"
#include "operator/controller/tracing.h"

#include <rapidjson/document.h>

#include "agent/graph.h"
#include "agent/run_state_json.h"
#include "agent/sink_redaction.h"
#include "operator/controller/approval.h"
#include "operator/controller/json_log.h"
#include "tools/recent_objects.h"

namespace opscopilot::controller {

const kube::ResourceRef kDiagnosticRuns{"opscopilot.io", "v1alpha1", "diagnosticruns", true};
const kube::ResourceRef kApprovalRequests{"opscopilot.io", "v1alpha1", "approvalrequests", true};

using Clock = std::chrono::system_clock;

namespace {

NodeLimits nodeLimits(const OperatorConfig& config) {
  NodeLimits l;
  l.maxNodes = config.maxNodes;
  l.perNamespace = config.maxNodesPerNamespace;
  for (const auto& [name, p] : config.models) {
    if (p.maxConcurrentCalls > 0) l.perProfile[name] = p.maxConcurrentCalls;
  }
  return l;
}

}  // namespace

struct RunReconciler::ActiveRun {
  std::string key, uid;
  std::int64_t generation = 0;
  agent::RunSpec spec;
  std::string profile;
  Clock::time_point start;  // status.startTime
  std::string targetRef;
  std::chrono::steady_clock::time_point since;   // when this process took the run up
  std::chrono::steady_clock::time_point queued;  // its place among the namespace's runs in the pool
  std::int64_t durationBefore = 0;              // usage.durationMs then
  // What its reads returned, for its later steps (every node gets it).
  const std::shared_ptr<tools::RecentObjects> recent = std::make_shared<tools::RecentObjects>();

  // Held for a status write; guards run and fresh. Taken before mu.
  std::mutex writeMu;
  kube::ObjectPtr run;  // as last written or read
  bool fresh = false;   // the next write replaces an earlier generation's status

  std::mutex mu;  // guards what follows
  agent::RunState state;  // after the last node done
  bool inFlight = false;  // a node is in the pool (waiting for a slot, or running)
  std::optional<std::chrono::steady_clock::time_point> nodeStarted;  // when the node in flight began to run
  std::optional<kube::Error> writeFailed;  // a status write on a pool thread failed
  bool dirty = false;     // state holds more than the last write
  std::chrono::steady_clock::time_point dirtySince;  // the oldest change not written
  bool abandoned = false; // no longer this process's to advance: a node in flight is discarded
  agent::Advance last = agent::Advance::Continue;
  std::optional<kube::Error> checkpointFailed;
  int writesDuringNode = 0;  // status writes while the node ran (its copy of usage lacks them)
};

EventTarget eventTargetFor(const kube::Object& run) {
  return {"opscopilot.io/v1alpha1", "DiagnosticRun", std::string(run.ns()), std::string(run.name()), std::string(run.uid())};
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
      gateways_(gateways),
      pool_(nodeLimits(config)) {}

void RunReconciler::remember(const std::string& key, const kube::ObjectPtr& run, int steps, bool finished) {
  kube::ObjectPtr final = finished ? slimForCache(run) : nullptr;
  std::lock_guard lock(writtenMu_);
  written_[key] = Written{std::string(run->uid()), steps, finished, std::move(final)};
}

bool RunReconciler::cacheIsBehind(const std::string& key, const kube::Object& run, kube::ObjectPtr* mine) {
  std::lock_guard lock(writtenMu_);
  auto it = written_.find(key);
  if (it == written_.end() || it->second.uid != run.uid()) return false;
  auto steps = run.intAt({"status", "stepCount"}).value_or(0);
  auto phase = run.stringAt({"status", "phase"});
  const bool finished = phase == "Succeeded" || phase == "Failed";
  const bool behind = steps < it->second.steps || (it->second.finished && !finished);
  if (!behind) {
    it->second.final.reset();  // the cache has it now
  } else if (mine) {
    *mine = it->second.final;
  }
  return behind;
}

kube::Result<kube::ObjectPtr> RunReconciler::writeStatus(const kube::ObjectPtr& run, const agent::RunState& state,
                                                         Clock::time_point start, const std::string& targetRef,
                                                         bool freshRun, const approval::Record* record) {
  const agent::RedactedText body = statusBody(*run, StatusWrite{state, start, targetRef, freshRun, record});
  const auto generation = run->generation();
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

ReconcileResult RunReconciler::reconcile(const std::string& key) {
  kube::ObjectPtr run = cache_.get(key);
  ActivePtr active = findActive(key);
  if (!run) {
    if (active) dropActive(key, active);
    std::lock_guard lock(writtenMu_);
    written_.erase(key);
    refusedEnds_.erase(key);
    unrecorded_.erase(key);
    return {{}, {}, "Gone"};
  }
  if (active) {
    // The run in memory is this run, unless it was deleted, recreated
    // (another UID) or given a new spec (generation) meanwhile.
    if (active->uid != run->uid() || run->generation() > active->generation || run->isBeingDeleted()) {
      dropActive(key, active);
    } else {
      return step(key, active);
    }
  }
  if (kube::ObjectPtr mine; cacheIsBehind(key, *run, &mine)) {
    if (mine) {
      run = mine;  // our own final write: nothing newer can be behind an event older than it
    } else {
      auto fresh = client_->get(kDiagnosticRuns, run->ns(), run->name());
      if (!fresh.ok()) return {{}, fresh.error().isNotFound() ? std::nullopt : std::optional(fresh.error()), "Refetch"};
      run = *fresh;
    }
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
  if (refused) return endRefusedRun(key, run, refused->state, refused->start, refused->targetRef, refused->refused, true);

  const auto generation = run->generation();
  const auto observed = run->intAt({"status", "observedGeneration"}).value_or(0);
  const auto phase = run->stringAt({"status", "phase"});
  const bool sameGeneration = observed == generation;
  if ((phase == "Succeeded" || phase == "Failed") && sameGeneration) return finishedRun(run);

  const EventTarget target = eventTargetFor(*run);
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
      // A run a DiagnosticSchedule made names this process (its creator) as
      // requester; it reads with the schedule's requester instead.
      if (schedules_) {
        if (auto sr = effectiveScheduleRequester(*run, self_, *schedules_, requesterPolicy_); sr && sr->requester) {
          spec->requester = sr->requester;
        } else if (sr && config_.whenRequesterUnverified == OperatorConfig::WhenUnverified::Refuse) {
          spec = kube::Error{0, "RequesterUnverified", "the run's requester cannot be verified: " + sr->why};
        } else if (sr) {
          spec->requester.reset();
        }
      }
    } else if (config_.whenRequesterUnverified == OperatorConfig::WhenUnverified::Refuse) {
      spec = kube::Error{0, "RequesterUnverified",
                         "the run's requester cannot be verified: " + verdict.why +
                             " (install the requester admission policy, or set requester.whenUnverified: ReaderOnly "
                             "in the operator config to run such runs with the reader identity alone)"};
    } else if (state.steps.empty()) {
      logInfo("run's requester unverified; reading with the reader identity alone (requester.whenUnverified: ReaderOnly)",
              {{"controller", "diagnosticrun"}, {"namespace", run->ns()}, {"name", run->name()}, {"why", verdict.why}});
    }
  }
  if (!spec.ok()) {
    state = agent::RunState{};
    state.phase = agent::Phase::Failed;
    state.reason = spec.error().reason;
    state.message = spec.error().message;
    state.answer = "The run could not start: " + spec.error().message + ".";
    auto w = writeStatus(run, state, start, {}, true);
    if (!w.ok()) return {{}, w.error(), "StatusWriteFailed"};
    remember(key, *w, 0, true);
    events_.record(target, "Warning", state.reason, agent::redactText(spec.error().message));
    return {{}, {}, state.reason, state.reason};
  }
  const std::string targetRef = spec->targetKind.empty() ? "" : spec->targetKind + "/" +
                                                                    (spec->targetName.empty() ? spec->targetSelector : spec->targetName);
  if (!spec->previousRun.empty()) {
    if (auto waiting = awaitPreviousRun(key, run, *spec, start)) return *waiting;
  }
  if (auto refused = admitBudget(key, run, *spec, state, start)) return *refused;
  if (state.steps.empty()) {
    events_.record(target, "Normal", "Started",
                   agent::redactText("Investigating " + spec->targetDescription() + ": " +
                                     agent::redactForSink(spec->question).substr(0, 200)));
  } else {
    logInfo("resuming run", {{"controller", "diagnosticrun"}, {"namespace", run->ns()}, {"name", run->name()},
                             {"steps", std::to_string(state.steps.size())}});
  }

  if (auto waiting = awaitApproval(run, state, start, targetRef)) return *waiting;
  return activate(key, run, std::move(state), std::move(*spec), start, targetRef, freshRun);
}

// ---- Runs in progress ---------------------------------------------------------------

RunReconciler::~RunReconciler() { pool_.shutdown(); }

RunReconciler::ActivePtr RunReconciler::findActive(const std::string& key) {
  std::lock_guard lock(activeMu_);
  auto it = active_.find(key);
  return it == active_.end() ? nullptr : it->second;
}

void RunReconciler::dropActive(const std::string& key, const ActivePtr& active) {
  {
    std::lock_guard lock(activeMu_);
    if (auto it = active_.find(key); it != active_.end() && it->second == active) active_.erase(it);
  }
  std::lock_guard lock(active->mu);
  active->abandoned = true;
}

std::size_t RunReconciler::activeRuns() const {
  std::lock_guard lock(activeMu_);
  return active_.size();
}

ReconcileResult RunReconciler::activate(const std::string& key, kube::ObjectPtr run, agent::RunState state,
                                        agent::RunSpec spec, Clock::time_point start, const std::string& targetRef,
                                        bool fresh) {
  auto a = std::make_shared<ActiveRun>();
  a->key = key;
  a->uid = std::string(run->uid());
  a->generation = run->generation();
  a->profile = spec.model;
  a->spec = std::move(spec);
  a->start = start;
  a->targetRef = targetRef;
  a->since = std::chrono::steady_clock::now();
  // A run keeps its place after an approval; a run this process resumes
  // (restarted) goes by when it started.
  a->queued = a->since - std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::max(Clock::duration::zero(), Clock::now() - start));
  a->durationBefore = state.usage.durationMs;
  // A phase change is written at once: the run shows Running as soon as it
  // is taken up (and again after an approval). The write goes beside the
  // first node, not before it; should the node be done first, the write
  // holds it too.
  const bool phaseChange = fresh || run->stringAt({"status", "phase"}) != "Running";
  state.phase = agent::Phase::Running;
  a->state = std::move(state);
  a->dirty = phaseChange;
  a->dirtySince = a->since;
  a->fresh = fresh;
  a->run = std::move(run);
  {
    std::lock_guard lock(activeMu_);
    active_[key] = a;
  }
  if (phaseChange) {
    pool_.submit(
        a->spec.ns, a->profile,
        [this, a] {
          std::lock_guard w(a->writeMu);
          if (auto written = flush(a); !written.ok()) {
            std::lock_guard lock(a->mu);
            a->writeFailed = written.error();  // the worker's next turn ends the run's turn here
          }
        },
        a->queued);
  }
  submitNode(a);
  return {{}, {}, "Started"};
}

kube::Result<bool> RunReconciler::flush(const ActivePtr& a) {
  agent::RunState snapshot;
  {
    std::lock_guard lock(a->mu);
    if (!a->dirty || a->abandoned) return false;
    ++a->state.usage.apiRequests;  // this status write
    if (a->nodeStarted) ++a->writesDuringNode;  // the node's copy of usage lacks it
    snapshot = a->state;
    a->dirty = false;
  }
  auto written = writeStatus(a->run, snapshot, a->start, a->targetRef, a->fresh);
  if (!written.ok()) {
    std::lock_guard lock(a->mu);
    if (!a->dirty) a->dirtySince = std::chrono::steady_clock::now();
    a->dirty = true;
    return written.error();
  }
  a->fresh = false;
  a->run = *written;
  remember(a->key, a->run, static_cast<int>(snapshot.steps.size()), snapshot.finished());
  return true;
}

bool RunReconciler::takeProgressWrite() {
  const double rate = config_.statusProgressWritesPerSecond;
  if (rate <= 0) return true;
  std::lock_guard lock(progressMu_);
  const auto now = std::chrono::steady_clock::now();
  if (progressLast_ == std::chrono::steady_clock::time_point{}) progressTokens_ = rate;
  progressTokens_ = std::min(rate, progressTokens_ + rate * std::chrono::duration<double>(now - progressLast_).count());
  progressLast_ = now;
  if (progressTokens_ < 1) return false;
  progressTokens_ -= 1;
  return true;
}

void RunReconciler::submitNode(const ActivePtr& a) {
  {
    std::lock_guard lock(a->mu);
    a->inFlight = true;
  }
  if (!pool_.submit(a->spec.ns, a->profile, [this, a] { runNode(a); }, a->queued)) {
    std::lock_guard lock(a->mu);  // shutting down: checkpointAll writes what it has
    a->inFlight = false;
    a->last = agent::Advance::Interrupted;
  }
}

namespace {

bool ended(agent::StepState s) {
  return s == agent::StepState::Succeeded || s == agent::StepState::Failed || s == agent::StepState::Skipped;
}

// The steps that changed in one node: their kind gives the node's, and
// those that ended (tool calls among them) are measured and traced.
struct NodeSteps {
  std::optional<agent::Node> node;
  std::vector<const agent::Step*> ended;
};
NodeSteps nodeSteps(const std::map<int, agent::StepState>& before, const agent::RunState& after) {
  NodeSteps out;
  for (const auto& st : after.steps) {
    auto it = before.find(st.id);
    if (it != before.end() && it->second == st.state) continue;
    out.node = st.node;
    if (ended(st.state) && (it == before.end() || !ended(it->second))) out.ended.push_back(&st);
  }
  return out;
}

void observeNode(OperatorMetrics& metrics, const NodeSteps& steps, double seconds) {
  for (const agent::Step* st : steps.ended) {
    if (st->node == agent::Node::Tool) {
      metrics.toolDone(st->tool, agent::toString(st->state), static_cast<double>(st->durationMs) / 1000.0);
    }
  }
  if (steps.node) metrics.nodeDone(agent::toString(*steps.node), seconds);
}

}  // namespace

void RunReconciler::runNode(const ActivePtr& a) {
  // Ends the node's turn: the run's key goes back to the workers.
  auto done = [&](std::optional<kube::Error> writeFailed) {
    {
      std::lock_guard lock(a->mu);
      a->inFlight = false;
      a->nodeStarted.reset();
      if (writeFailed) a->writeFailed = std::move(writeFailed);
    }
    if (requeue_) requeue_(a->key);
  };
  agent::RunState work;
  {
    std::lock_guard lock(a->mu);
    if (a->abandoned) return done(std::nullopt);
    work = a->state;
    a->nodeStarted = std::chrono::steady_clock::now();
  }
  // Before each model call, the status records it (usage.llmCallsStarted):
  // a call the provider may charge is on record before it is sent.
  std::optional<kube::Error> checkpointFailed;
  agent::GraphOptions gopts;
  gopts.maxEvidenceBytes = config_.maxExcerptBytes;
  gopts.scratch = a->recent;
  gopts.beforeModelCall = [&](agent::RunState& saved) {
    std::lock_guard w(a->writeMu);
    {
      std::lock_guard lock(a->mu);
      if (a->abandoned) return false;
    }
    ++saved.usage.apiRequests;  // this status write
    auto written = writeStatus(a->run, saved, a->start, a->targetRef, a->fresh);
    if (!written.ok()) {
      checkpointFailed = written.error();
      return false;
    }
    a->fresh = false;
    a->run = *written;
    remember(a->key, a->run, static_cast<int>(saved.steps.size()), false);
    // What was written is the run's state now (the state before this node,
    // with the call on record), so no later write can take the count back.
    std::lock_guard lock(a->mu);
    a->state = saved;
    a->writesDuringNode = 0;
    a->dirty = false;
    return true;
  };
  gopts.onModelWait = [&](bool waiting) {
    if (waiting) {
      pool_.stepOut(a->spec.ns);
    } else {
      pool_.stepIn(a->spec.ns);
    }
  };
  // An action (notify, create_ticket) is on record as sending before it is
  // sent, the same way: a resumed run never sends it again.
  gopts.beforeAction = gopts.beforeModelCall;
  agent::RunGraph graph(tools_, analyzers_, planner_, gopts);
  if (const auto& profile = config_.models.at(a->spec.model); profile.provider != "builtin" && gateways_) {
    if (auto it = gateways_->find(a->spec.model); it != gateways_->end()) {
      graph.useModel(it->second.get(), {a->spec.model, {profile.maxToolResultTokens, profile.maxPromptTokens}, 3});
    }
  }
  const auto callsBefore = work.usage.llmCallsStarted;
  std::map<int, agent::StepState> stepsBefore;
  if (metrics_ || spans_) {
    for (const auto& st : work.steps) stepsBefore.emplace(st.id, st.state);
  }
  std::vector<ModelCallSpan> calls;
  std::string traceId;
  if (spans_) {
    std::lock_guard w(a->writeMu);  // a worker's progress write may replace a->run meanwhile
    traceId = traceIdFor(a->run->uid(), a->run->generation());
  }
  const auto nodeStart = std::chrono::steady_clock::now();
  agent::Advance adv;
  {
    // The node's model calls, as the gateways report them on this thread.
    ModelCallCapture capture(spans_ ? &calls : nullptr);
    adv = graph.advance(a->spec, work, a->start);
  }
  const auto now = std::chrono::steady_clock::now();
  if (metrics_ || spans_) {
    const NodeSteps changed = nodeSteps(stepsBefore, work);
    if (metrics_) observeNode(*metrics_, changed, std::chrono::duration<double>(now - nodeStart).count());
    if (spans_ && (!changed.ended.empty() || !calls.empty())) {
      spans_->add(nodeSpans(traceId, changed.ended, calls));
    }
  }
  work.usage.durationMs =
      a->durationBefore + std::chrono::duration_cast<std::chrono::milliseconds>(now - a->since).count();
  bool modelCalled = false;
  std::chrono::steady_clock::time_point dirtySince;
  {
    std::lock_guard lock(a->mu);
    a->nodeStarted.reset();
    if (a->abandoned) {
      a->inFlight = false;
      return;
    }
    work.usage.apiRequests += a->writesDuringNode;
    a->writesDuringNode = 0;
    modelCalled = work.usage.llmCallsStarted != callsBefore;
    a->state = std::move(work);
    if (!a->dirty) a->dirtySince = now;
    a->dirty = true;
    dirtySince = a->dirtySince;
    a->last = adv;
    a->checkpointFailed = std::move(checkpointFailed);
  }
  // Written here, before the workers see the node done: a phase change or a
  // model call's result and charge at once; other steps when the oldest
  // has waited 4 intervals unwritten, as the progress budget allows.
  const bool mustWrite = adv != agent::Advance::Continue || modelCalled || stopping_.load();
  if (mustWrite || (now - dirtySince >= 4 * config_.statusWriteInterval && takeProgressWrite())) {
    std::lock_guard w(a->writeMu);
    if (auto written = flush(a); !written.ok()) return done(written.error());
  }
  done(std::nullopt);
}

ReconcileResult RunReconciler::step(const std::string& key, const ActivePtr& a) {
  using std::chrono::ceil;
  using Ms = std::chrono::milliseconds;
  // A node's own writes happen on its pool thread (runNode). Here: steps
  // done before a call that is still out, once the call has run for an
  // interval (the run waits on something slow: show what it did before) or
  // the oldest has waited 4 intervals unwritten, as the progress budget
  // allows; and what follows a node: the next node, the end, an approval.
  const auto interval = config_.statusWriteInterval;
  const auto maxUnwritten = 4 * interval;
  const auto now = std::chrono::steady_clock::now();
  // When to look again for unwritten steps (the oldest unwritten since
  // `oldest`) while a node is out (started at `started`, or about to).
  auto lookAgain = [&](std::chrono::steady_clock::time_point oldest,
                       std::optional<std::chrono::steady_clock::time_point> started) {
    auto next = std::min(oldest + maxUnwritten, started ? *started + interval : now + interval);
    return std::max(ceil<Ms>(next - now), Ms(1));
  };
  // The common turn: a node ended and the next one follows, with nothing
  // to write here. It does not wait for a write in flight (the Running
  // write that goes beside a run's first node, a progress write): that
  // write's outcome is seen on the next turn.
  {
    bool next = false, unwritten = false;
    std::chrono::steady_clock::time_point since;
    {
      std::lock_guard lock(a->mu);
      next = !a->inFlight && a->last == agent::Advance::Continue && !a->writeFailed && !a->checkpointFailed &&
             !stopping_.load();
      unwritten = a->dirty;
      since = a->dirtySince;
    }
    if (next) {
      submitNode(a);
      if (!unwritten) return {{}, {}, "Advanced"};
      // Unwritten steps: look again in an interval, in case the next node is slow.
      return {lookAgain(since, std::nullopt), {}, "Advanced"};
    }
  }
  std::unique_lock w(a->writeMu);
  bool inFlight = false, dirty = false;
  agent::Advance adv = agent::Advance::Continue;
  std::optional<kube::Error> checkpointFailed, writeFailed;
  std::optional<std::chrono::steady_clock::time_point> nodeStarted;
  std::chrono::steady_clock::time_point dirtySince;
  {
    std::lock_guard lock(a->mu);
    inFlight = a->inFlight;
    dirty = a->dirty;
    dirtySince = a->dirtySince;
    nodeStarted = a->nodeStarted;
    adv = a->last;
    if (!inFlight) {
      checkpointFailed = std::move(a->checkpointFailed);
      a->checkpointFailed.reset();
      writeFailed = std::move(a->writeFailed);
      a->writeFailed.reset();
    }
  }
  auto failed = [&](const kube::Error& e) {
    agent::RunState state;
    {
      std::lock_guard lock(a->mu);
      state = a->state;
    }
    w.unlock();
    dropActive(key, a);
    return statusWriteFailed(key, a->run, std::move(state), a->start, a->targetRef, e);
  };
  if (inFlight) {
    if (!dirty) return {{}, {}, "InFlight"};
    const bool slowNode = nodeStarted && now - *nodeStarted >= interval;
    if (!slowNode && now - dirtySince < maxUnwritten) return {lookAgain(dirtySince, nodeStarted), {}, "InFlight"};
    if (!takeProgressWrite()) return {interval, {}, "InFlight"};
    if (auto written = flush(a); !written.ok()) return failed(written.error());
    return {{}, {}, "Written"};
  }
  if (writeFailed) return failed(*writeFailed);
  if (checkpointFailed) {
    // The save before a model call failed and the call was not made.
    w.unlock();
    dropActive(key, a);
    return {{}, *checkpointFailed, "CheckpointFailed"};
  }
  const bool stopping = stopping_.load();
  if (adv == agent::Advance::Interrupted || stopping) {
    if (auto written = flush(a); !written.ok()) return failed(written.error());
    w.unlock();
    dropActive(key, a);
    return {{}, {}, "Checkpointed"};
  }
  if (adv == agent::Advance::Finished || adv == agent::Advance::AwaitingApproval) {
    // runNode wrote it before handing the run back; this writes only what
    // may still be unwritten (nothing, unless that path changes).
    if (auto written = flush(a); !written.ok()) return failed(written.error());
    agent::RunState state;
    {
      std::lock_guard lock(a->mu);
      state = a->state;
    }
    kube::ObjectPtr run = a->run;
    w.unlock();
    dropActive(key, a);
    if (adv == agent::Advance::Finished) return runFinished(key, run, state);
    if (auto waiting = awaitApproval(run, state, a->start, a->targetRef)) return *waiting;
    // Decided at once (a request refused, say): the run goes on.
    return activate(key, run, std::move(state), a->spec, a->start, a->targetRef, false);
  }
  w.unlock();
  submitNode(a);
  // Unwritten steps: look again in an interval, in case the next node is slow.
  if (dirty) return {lookAgain(dirtySince, std::nullopt), {}, "Advanced"};
  return {{}, {}, "Advanced"};
}

std::optional<ReconcileResult> RunReconciler::admitBudget(const std::string& key, const kube::ObjectPtr& run,
                                                         agent::RunSpec& spec, const agent::RunState& state,
                                                         Clock::time_point start) {
  if (!budgets_) return std::nullopt;
  auto profile = config_.models.find(spec.model);
  if (profile == config_.models.end() || profile->second.provider == "builtin") return std::nullopt;  // free
  const std::string ns(run->ns());
  auto budgetObj = budgets_->get(ns + "/default");
  if (!budgetObj) return std::nullopt;
  auto budget = budgetSpecFrom(*budgetObj);
  if (!budget) {
    logError("DiagnosticBudget not understood; runs are not held to it",
             {{"controller", "diagnosticrun"}, {"namespace", ns}});
    return std::nullopt;
  }
  const auto now = Clock::now();
  const auto created = parseRfc3339(run->stringAt({"metadata", "creationTimestamp"})).value_or(now);
  const auto own = agent::parseMicroUSD(state.usage.costUSD).value_or(0);
  auto admission = ledger_.admit(key, ns, created, own, spec.limits.maxCostMicroUSD, *budget, cache_.listIn(ns), now);
  if (admission.allowed) {
    spec.limits.maxCostMicroUSD = admission.capMicroUSD;
    return std::nullopt;
  }
  const char* per = budget->period == BudgetPeriod::Day ? "a day" : budget->period == BudgetPeriod::Week ? "a week" : "a month";
  agent::RunState ended;
  ended.phase = agent::Phase::Failed;
  ended.reason = "BudgetExhausted";
  ended.message = "namespace " + ns + " has spent its DiagnosticBudget of $" + agent::formatMicroUSD(budget->maxMicroUSD) +
                  " " + per + " ($" + agent::formatMicroUSD(budget->maxMicroUSD - admission.leftMicroUSD) +
                  " spent or held by runs in progress); it resets at " + agent::formatTime(admission.bounds.end) +
                  ". The built-in model costs nothing and is not limited (spec.model: builtin)";
  ended.answer = "The run was not started: " + ended.message + ".";
  auto w = writeStatus(run, ended, start, {}, true);
  if (!w.ok()) return ReconcileResult{{}, w.error(), "StatusWriteFailed"};
  remember(key, *w, 0, true);
  ledger_.refused(key, ns, created);
  events_.record(eventTargetFor(*run), "Warning", ended.reason, agent::redactText(ended.message));
  logInfo("run refused: namespace budget spent", {{"controller", "diagnosticrun"}, {"namespace", ns}, {"name", run->name()}});
  publishBudget(ns);
  return ReconcileResult{{}, {}, ended.reason, ended.reason};
}

void RunReconciler::publishBudget(const std::string& ns) {
  if (!budgets_) return;
  auto budgetObj = budgets_->get(ns + "/default");
  if (!budgetObj) return;
  auto budget = budgetSpecFrom(*budgetObj);
  if (!budget) return;
  const auto bounds = periodAt(budget->period, Clock::now());
  auto body = budgetStatusUpdate(*budgetObj, bounds, ledger_.tally(ns, bounds, cache_.listIn(ns)));
  if (!body) return;
  auto written = client_->updateStatus(kDiagnosticBudgets, ns, "default", *body);
  if (!written.ok()) {
    logError("cannot write a DiagnosticBudget's status; the next charge writes it again",
             {{"controller", "diagnosticrun"}, {"namespace", ns}, {"error", written.error().toString()}});
  }
}

void RunReconciler::runDeleted(const kube::Object& run) {
  const auto spent = agent::parseMicroUSD(std::string(run.stringAt({"status", "usage", "costUSD"}))).value_or(0);
  const auto key = std::string(run.ns()) + "/" + std::string(run.name());
  if (ledger_.settle(key, spent) || spent == 0) return;
  auto created = parseRfc3339(run.stringAt({"metadata", "creationTimestamp"}));
  if (created) ledger_.keepCharged(key, std::string(run.ns()), *created, spent);
}

ReconcileResult RunReconciler::runFinished(const std::string& key, const kube::ObjectPtr& run,
                                           const agent::RunState& state) {
  if (budgets_ && ledger_.settle(key, agent::parseMicroUSD(state.usage.costUSD).value_or(0))) {
    publishBudget(std::string(run->ns()));  // a budget applied to the run
  }
  const EventTarget target = eventTargetFor(*run);
  if (state.reason == "Completed") {
    events_.record(target, "Normal", "Completed", agent::redactText(state.message));
  } else {
    events_.record(target, "Warning", state.reason, agent::redactText(state.message));
  }
  logInfo("run finished", {{"controller", "diagnosticrun"}, {"namespace", run->ns()}, {"name", run->name()},
                           {"reason", state.reason}, {"steps", std::to_string(state.steps.size())}});
  if (spans_) {
    spans_->add({runSpan(traceIdFor(run->uid(), run->generation()), *run, state,
                         std::string(run->stringAt({"spec", "model"})), std::chrono::system_clock::now())});
  }
  auto ttl = finishedRun(run);
  ttl.finishedReason = state.reason;
  ttl.finishedPhase = std::string(agent::toString(state.phase));
  return ttl;
}

int RunReconciler::checkpointAll() {
  pool_.shutdown();  // nodes in flight end; those waiting are dropped
  std::vector<ActivePtr> runs;
  {
    std::lock_guard lock(activeMu_);
    for (auto& [key, a] : active_) runs.push_back(a);
    active_.clear();
  }
  int written = 0;
  for (auto& a : runs) {
    std::lock_guard w(a->writeMu);
    auto r = flush(a);
    if (r.ok() && *r) ++written;
    if (!r.ok()) {
      logError("cannot checkpoint a run on shutdown; it resumes from its last write",
               {{"controller", "diagnosticrun"}, {"key", a->key}, {"error", r.error().toString()}});
    }
  }
  return written;
}

}  // namespace opscopilot::controller
