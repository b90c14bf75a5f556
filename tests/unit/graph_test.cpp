#include <gtest/gtest.h>

#include <condition_variable>
#include <map>
#include <mutex>

#include "agent/graph.h"
#include "agent/json_writer.h"
#include "agent/run_state_json.h"

using namespace opscopilot::agent;

namespace {

// A tool whose answers come from the test; counts its calls.
class FakeTool : public Tool {
 public:
  FakeTool(std::string name, std::function<ToolOutput(const rapidjson::Value&)> fn) : fn_(std::move(fn)) {
    spec_.name = std::move(name);
    spec_.argsSchema = R"({"type":"object"})";
    spec_.maxOutputBytes = 200;
  }
  const ToolSpec& spec() const override { return spec_; }
  ToolOutput run(const ToolContext&, const rapidjson::Value& args) override {
    ++calls;
    lastArgs = args.IsObject() && args.HasMember("query") && args["query"].IsString() ? args["query"].GetString() : "";
    return fn_(args);
  }
  void setEvidencePrefix(char c) { spec_.evidencePrefix = c; }
  int calls = 0;
  std::string lastArgs;  // the "query" argument of the last call

 private:
  ToolSpec spec_;
  std::function<ToolOutput(const rapidjson::Value&)> fn_;
};

ToolOutput text(std::string ref, std::string body) {
  ToolOutput o;
  o.summary = "read " + ref;
  o.evidence.push_back({std::move(ref), std::move(body)});
  return o;
}

// A run asking "why?" about kind/name in namespace shop.
RunSpec askAbout(const std::string& kind, const std::string& name) {
  RunSpec spec;
  spec.ns = "shop";
  spec.question = "why?";
  spec.targetKind = kind;
  spec.targetName = name;
  return spec;
}

// Advances the run until it stops going on (at most 20 nodes).
RunState runToEnd(RunGraph& g, const RunSpec& spec, std::chrono::system_clock::time_point now) {
  RunState st;
  int advances = 0;
  while (g.advance(spec, st, now) == Advance::Continue) {
    if (++advances >= 20) {
      ADD_FAILURE() << "the run did not end within 20 nodes";
      break;
    }
  }
  return st;
}

// Finds "CRASH" in any evidence and asks for logs once.
class FakeAnalyzer : public Analyzer {
 public:
  std::string_view name() const override { return "fake"; }
  void analyze(const StepView& step, AnalysisSink& sink) const override {
    if (step.tool == "get_workload") {
      sink.addFinding("fake", {"Pod/web-1/app", "Container app in pod web-1 crash-loops: exit code 1", Severity::High, 80,
                               {step.evidenceFor("Pod/web-1")}, "fix the app"});
      sink.suggest({"get_pod_logs", R"({"pod":"web-1","previous":true})", "see why"});
      sink.suggest({"get_pod_logs", R"({"previous":true,"pod":"web-1"})", "same call, other key order"});
    }
    if (step.tool == "get_pod_logs" && !sink.findings().empty()) {
      sink.enrichFinding(sink.findings()[0].id, step.allEvidence(), ": DATABASE_URL is not set", 90, "");
    }
  }
};

struct Harness {
  ToolRegistry tools;
  std::vector<std::unique_ptr<Analyzer>> analyzers;
  BuiltinPlanner planner;
  FakeTool* workload = nullptr;
  FakeTool* logs = nullptr;
  std::chrono::system_clock::time_point now = std::chrono::system_clock::from_time_t(1'700'000'000);
  RunSpec spec;

  Harness() {
    auto w = std::make_unique<FakeTool>("get_workload", [](const rapidjson::Value&) {
      return text("Pod/web-1", "Pod web-1: waiting CrashLoopBackOff; last exit 1");
    });
    auto l = std::make_unique<FakeTool>("get_pod_logs", [](const rapidjson::Value&) {
      return text("Pod/web-1 container app (previous)",
                  std::string(500, 'x') + "\nfatal: DATABASE_URL is not set password=hunter2");
    });
    workload = w.get();
    logs = l.get();
    tools.add(std::move(w));
    tools.add(std::move(l));
    analyzers.push_back(std::make_unique<FakeAnalyzer>());
    spec.ns = "shop";
    spec.question = "why?";
    spec.targetKind = "Deployment";
    spec.targetName = "web";
  }
  RunGraph graph() {
    return RunGraph(tools, analyzers, planner, {}, [this] { return now; });
  }
};

}  // namespace

TEST(RunGraph, RunsPlannerToolsCriticFinalizerAndCitesEvidence) {
  Harness h;
  auto g = h.graph();
  RunState st;
  int advances = 0;
  while (g.advance(h.spec, st, h.now) == Advance::Continue) ASSERT_LT(++advances, 20);
  ASSERT_EQ(st.phase, Phase::Succeeded);
  EXPECT_EQ(st.reason, "Completed");
  std::vector<std::string> nodes;
  for (const auto& s : st.steps) nodes.push_back(std::string(toString(s.node)) + (s.tool.empty() ? "" : ":" + s.tool));
  EXPECT_EQ(nodes, (std::vector<std::string>{"planner", "tool:get_workload", "tool:get_pod_logs", "critic", "finalizer"}));
  EXPECT_EQ(h.logs->calls, 1) << "the same call in another key order is not repeated";
  ASSERT_EQ(st.findings.size(), 1u);
  EXPECT_NE(st.findings[0].title.find("DATABASE_URL"), std::string::npos);
  EXPECT_EQ(st.findings[0].evidence, (std::vector<std::string>{"E1", "E2"}));
  EXPECT_NE(st.answer.find("[E1]"), std::string::npos);
  EXPECT_NE(st.answer.find("[E2]"), std::string::npos);
  const auto& logEvidence = st.evidence[1];
  EXPECT_TRUE(logEvidence.truncated);
  EXPECT_NE(logEvidence.excerpt.find("truncated"), std::string::npos);
  EXPECT_EQ(logEvidence.excerpt.find("hunter2"), std::string::npos);
  EXPECT_EQ(logEvidence.redactions, 1);
  EXPECT_EQ(st.usage.toolCalls, 2);
}

// The reads a step's analysis plans next go out together (each of the three
// waits until all three have started), and their steps, evidence and
// analysis follow in plan order, as when they go one at a time.
TEST(RunGraph, PlannedReadsGoOutTogetherAndTheirStepsFollowInPlanOrder) {
  class PlansThree : public Analyzer {
   public:
    std::string_view name() const override { return "three"; }
    void analyze(const StepView& step, AnalysisSink& sink) const override {
      if (step.tool != "get_workload") return;
      for (const char* t : {"read_a", "read_b", "read_c"}) sink.suggest({t, "{}", "next"});
    }
  };
  for (int parallel : {4, 1}) {
    SCOPED_TRACE("parallelReads " + std::to_string(parallel));
    std::mutex mu;
    std::condition_variable cv;
    int started = 0, inFlight = 0, peak = 0;
    ToolRegistry tools;
    tools.add(std::make_unique<FakeTool>("get_workload", [](const rapidjson::Value&) { return text("Deployment/web", "web"); }));
    for (std::string t : {"read_a", "read_b", "read_c"}) {
      tools.add(std::make_unique<FakeTool>(t, [&, t](const rapidjson::Value&) {
        std::unique_lock lock(mu);
        ++started;
        peak = std::max(peak, ++inFlight);
        cv.notify_all();
        if (parallel > 1) cv.wait_for(lock, std::chrono::seconds(10), [&] { return started >= 3; });
        --inFlight;
        return text("X/" + t, t + " says hello");
      }));
    }
    std::vector<std::unique_ptr<Analyzer>> analyzers;
    analyzers.push_back(std::make_unique<PlansThree>());
    BuiltinPlanner planner;
    GraphOptions o;
    o.parallelReads = parallel;
    const auto now = std::chrono::system_clock::from_time_t(1'700'000'000);
    RunGraph g(tools, analyzers, planner, o, [now] { return now; });
    RunState st = runToEnd(g, askAbout("Deployment", "web"), now);
    EXPECT_EQ(peak, parallel > 1 ? 3 : 1);
    std::vector<std::string> nodes;
    for (const auto& s : st.steps) nodes.push_back(std::string(toString(s.node)) + (s.tool.empty() ? "" : ":" + s.tool));
    EXPECT_EQ(nodes, (std::vector<std::string>{"planner", "tool:get_workload", "tool:read_a", "tool:read_b", "tool:read_c",
                                               "critic", "finalizer"}));
    std::vector<std::string> evidence;
    for (const auto& e : st.evidence) evidence.push_back(e.id + " " + e.ref);
    EXPECT_EQ(evidence, (std::vector<std::string>{"E1 Deployment/web", "E2 X/read_a", "E3 X/read_b", "E4 X/read_c"}));
    EXPECT_EQ(st.usage.toolCalls, 4);
  }
}

// A tool whose every call makes one read whatever its arguments
// (ToolSpec::warmUp) has that read started beside the run's first tool step
// and waited for with it (the first step's read waits until it has
// started), once per run; its requests count in the run's usage. Not for a
// tool the run may not call, nor without a scratch to keep it in.
TEST(RunGraph, AWarmUpReadGoesOutBesideTheFirstToolStepOnce) {
  class WarmTool : public FakeTool {
   public:
    using FakeTool::FakeTool;
    const ToolSpec& spec() const override { return spec_; }
    int warmUp(const ToolContext& ctx) override {
      std::lock_guard lock(mu);
      ++warmUps;
      scratch = ctx.scratch.get();
      cv.notify_all();
      return 2;
    }
    ToolSpec spec_ = [this] {
      ToolSpec s = FakeTool::spec();
      s.warmUp = true;
      return s;
    }();
    std::mutex mu;
    std::condition_variable cv;
    int warmUps = 0;
    const RunScratch* scratch = nullptr;
  };
  for (bool allowed : {true, false}) {
    for (bool withScratch : {true, false}) {
      SCOPED_TRACE(std::string(allowed ? "allowed" : "not allowed") + (withScratch ? ", a scratch" : ", no scratch"));
      ToolRegistry tools;
      auto warmOwned = std::make_unique<WarmTool>("search_runbooks", [](const rapidjson::Value&) { return ToolOutput{}; });
      WarmTool* warm = warmOwned.get();
      tools.add(std::move(warmOwned));
      const bool expectWarmUp = allowed && withScratch;
      tools.add(std::make_unique<FakeTool>("get_workload", [&](const rapidjson::Value&) {
        std::unique_lock lock(warm->mu);
        if (expectWarmUp) warm->cv.wait_for(lock, std::chrono::seconds(10), [&] { return warm->warmUps > 0; });
        return text("Deployment/web", "web");
      }));
      std::vector<std::unique_ptr<Analyzer>> analyzers;
      BuiltinPlanner planner;
      GraphOptions o;
      auto scratch = std::make_shared<RunScratch>();
      if (withScratch) o.scratch = scratch;
      const auto now = std::chrono::system_clock::from_time_t(1'700'000'000);
      RunGraph g(tools, analyzers, planner, o, [now] { return now; });
      RunSpec spec = askAbout("Deployment", "web");
      if (!allowed) spec.allowedTools = {"get_workload"};
      RunState st = runToEnd(g, spec, now);
      EXPECT_EQ(st.phase, Phase::Succeeded);
      EXPECT_EQ(warm->warmUps, expectWarmUp ? 1 : 0);
      EXPECT_EQ(st.usage.apiRequests, expectWarmUp ? 2 : 0);
      if (expectWarmUp) {
        EXPECT_EQ(warm->scratch, scratch.get());
      }
    }
  }
}

TEST(RunGraph, StepLimitStillGivesTheBestAnswerWithItsReason) {
  Harness h;
  h.spec.limits.maxSteps = 1;
  auto g = h.graph();
  RunState st;
  while (g.advance(h.spec, st, h.now) == Advance::Continue) {}
  EXPECT_EQ(st.phase, Phase::Succeeded);
  EXPECT_EQ(st.reason, "StepLimitReached");
  EXPECT_EQ(h.logs->calls, 0);
  EXPECT_NE(st.answer.find("Partial answer"), std::string::npos);
  EXPECT_NE(st.answer.find("crash-loops"), std::string::npos) << st.answer;
  EXPECT_NE(st.message.find("step limit of 1"), std::string::npos);
}

TEST(RunGraph, WallClockTimeoutEndsTheRunWithPartialAnswer) {
  Harness h;
  h.spec.limits.timeout = std::chrono::seconds(10);
  auto g = h.graph();
  RunState st;
  const auto start = h.now;
  ASSERT_EQ(g.advance(h.spec, st, start), Advance::Continue);  // planner
  ASSERT_EQ(g.advance(h.spec, st, start), Advance::Continue);  // get_workload
  h.now += std::chrono::seconds(11);
  EXPECT_EQ(g.advance(h.spec, st, start), Advance::Finished);
  EXPECT_EQ(st.reason, "TimedOut");
  EXPECT_NE(st.answer.find("[E1]"), std::string::npos);
}

TEST(RunGraph, ResumesFromPersistedStatusWithoutRepeatingAStep) {
  Harness h;
  RunState st;
  {
    auto g = h.graph();
    g.advance(h.spec, st, h.now);  // planner
    g.advance(h.spec, st, h.now);  // get_workload
  }
  // The operator dies; a new one reads the status back.
  rapidjson::Document status(rapidjson::kObjectType);
  writeRunState(st, status, status.GetAllocator());
  RunState resumed = readRunState(status);
  auto g2 = h.graph();
  while (g2.advance(h.spec, resumed, h.now) == Advance::Continue) {}
  EXPECT_EQ(h.workload->calls, 1);
  EXPECT_EQ(h.logs->calls, 1);
  EXPECT_EQ(resumed.reason, "Completed");
  int workloadSteps = 0;
  for (const auto& s : resumed.steps) workloadSteps += s.tool == "get_workload";
  EXPECT_EQ(workloadSteps, 1);
}

TEST(RunGraph, TargetNotFoundEndsTheRunAsFailed) {
  Harness h;
  h.tools.add(std::make_unique<FakeTool>("get_workload", [](const rapidjson::Value&) {
    ToolOutput o;
    o.ok = false;
    o.errorReason = "NotFound";
    o.summary = "deployments.apps \"web\" not found";
    o.evidence.push_back({"Deployment/web", "not found: deployments.apps \"web\" not found"});
    return o;
  }));
  auto g = h.graph();
  RunState st;
  while (g.advance(h.spec, st, h.now) == Advance::Continue) {}
  EXPECT_EQ(st.phase, Phase::Failed);
  EXPECT_EQ(st.reason, "TargetNotFound");
  EXPECT_NE(st.answer.find("[E1]"), std::string::npos);
}

// The reads the first plan holds go out together too (a Pod target: the
// pod and its events, each waiting until both have started). When the first
// finds no target, the run ends there: the read beside it is counted, its
// step not taken.
TEST(RunGraph, TheFirstPlansReadsGoOutTogetherAndAMissingTargetStillEndsTheRun) {
  for (bool found : {true, false}) {
    SCOPED_TRACE(found ? "the pod exists" : "no such pod");
    std::mutex mu;
    std::condition_variable cv;
    int started = 0;
    auto together = [&] {
      std::unique_lock lock(mu);
      ++started;
      cv.notify_all();
      return cv.wait_for(lock, std::chrono::seconds(10), [&] { return started >= 2; });
    };
    ToolRegistry tools;
    tools.add(std::make_unique<FakeTool>("list_pods", [&](const rapidjson::Value&) {
      EXPECT_TRUE(together()) << "get_events did not start beside list_pods";
      ToolOutput o = found ? text("Pod/web-1", "web-1 Running") : text("Pod/web-1", "not found");
      o.apiRequests = 1;
      if (!found) {
        o.ok = false;
        o.errorReason = "NotFound";
        o.summary = "pods \"web-1\" not found";
      }
      return o;
    }));
    tools.add(std::make_unique<FakeTool>("get_events", [&](const rapidjson::Value&) {
      EXPECT_TRUE(together()) << "list_pods did not start beside get_events";
      ToolOutput o = text("Event/web-1", "no events");
      o.apiRequests = 1;
      return o;
    }));
    std::vector<std::unique_ptr<Analyzer>> analyzers;
    BuiltinPlanner planner;
    const auto now = std::chrono::system_clock::from_time_t(1'700'000'000);
    RunGraph g(tools, analyzers, planner, {}, [now] { return now; });
    RunState st = runToEnd(g, askAbout("Pod", "web-1"), now);
    std::vector<std::string> reads;
    for (const auto& s : st.steps) {
      if (s.node == Node::Tool) reads.push_back(s.tool);
    }
    if (found) {
      EXPECT_EQ(st.phase, Phase::Succeeded);
      EXPECT_EQ(reads, (std::vector<std::string>{"list_pods", "get_events"}));
    } else {
      EXPECT_EQ(st.phase, Phase::Failed);
      EXPECT_EQ(st.reason, "TargetNotFound");
      EXPECT_EQ(reads, (std::vector<std::string>{"list_pods"}));
    }
    EXPECT_EQ(st.usage.apiRequests, 2) << "both reads are counted";
  }
}

TEST(RunGraph, ToolsOutsideTheAllowlistAndUnknownToolsAreRefused) {
  Harness h;
  h.spec.allowedTools = {"get_workload"};
  auto g = h.graph();
  RunState st;
  while (g.advance(h.spec, st, h.now) == Advance::Continue) {}
  EXPECT_EQ(h.logs->calls, 0) << "the analyzer's suggestion of a disallowed tool is ignored";
  RunState st2;
  st2.phase = Phase::Running;
  st2.steps.push_back(Step{1, Node::Planner});
  st2.plan.push_back({"delete_namespace", "{}", "injected"});
  g.advance(h.spec, st2, h.now);
  EXPECT_EQ(st2.steps.back().state, StepState::Skipped);
  EXPECT_NE(st2.steps.back().error.find("unknown tool"), std::string::npos);
}

TEST(RunGraph, StatusRoundTripKeepsEveryField) {
  Harness h;
  auto g = h.graph();
  RunState st;
  while (g.advance(h.spec, st, h.now) == Advance::Continue) {}
  rapidjson::Document status(rapidjson::kObjectType);
  writeRunState(st, status, status.GetAllocator());
  auto back = readRunState(status);
  rapidjson::Document again(rapidjson::kObjectType);
  writeRunState(back, again, again.GetAllocator());
  EXPECT_TRUE(status == again);
  EXPECT_EQ(status["stepCount"].GetInt(), static_cast<int>(st.steps.size()));
}

TEST(RunStatus, OldestExcerptsAreDroppedVisiblyWhenTheStatusBudgetIsPassed) {
  RunState st;
  for (int i = 1; i <= 100; ++i) {  // 100 excerpts of 4 KiB: 400 KiB, over the 256 KiB budget
    EvidenceItem e;
    e.id = "E" + std::to_string(i);
    e.tool = "get_pod_logs";
    e.ref = "Pod/web-" + std::to_string(i);
    e.excerpt = std::string(4096, 'a' + i % 26);
    st.evidence.push_back(e);
  }
  for (int i = 0; i < 300; ++i) st.findings.push_back(Finding{});
  rapidjson::Document status(rapidjson::kObjectType);
  writeRunState(st, status, status.GetAllocator());
  const auto& ev = status["evidence"];
  ASSERT_EQ(ev.Size(), 100u) << "every evidence ID stays, so citations resolve";
  std::size_t bytes = 0;
  for (const auto& e : ev.GetArray()) bytes += e["excerpt"].GetStringLength();
  EXPECT_LE(bytes, kStatusExcerptBudget);
  EXPECT_EQ(std::string(ev[0]["excerpt"].GetString()).rfind("[excerpt dropped: the run's status keeps at most 256 KiB", 0), 0u);
  EXPECT_TRUE(ev[0]["truncated"].GetBool());
  EXPECT_EQ(ev[99]["excerpt"].GetStringLength(), 4096u) << "the newest excerpts are kept whole";
  EXPECT_FALSE(ev[99]["truncated"].GetBool());
  EXPECT_EQ(status["findings"].Size(), kMaxStatusFindings) << "the CRD's maxItems";

  // Written again from what it reads back, nothing more is dropped.
  auto back = readRunState(status);
  rapidjson::Document again(rapidjson::kObjectType);
  writeRunState(back, again, again.GetAllocator());
  EXPECT_TRUE(again["evidence"] == status["evidence"]);
}

TEST(Money, ParsesAndFormatsMicroDollars) {
  EXPECT_EQ(parseMicroUSD("0.50"), 500000);
  EXPECT_EQ(parseMicroUSD("2"), 2000000);
  EXPECT_EQ(parseMicroUSD("0.0123"), 12300);
  EXPECT_FALSE(parseMicroUSD("abc"));
  EXPECT_FALSE(parseMicroUSD("-1"));
  EXPECT_EQ(formatMicroUSD(12300), "0.0123");
  EXPECT_EQ(formatMicroUSD(150), "0.00015");
  EXPECT_EQ(formatMicroUSD(0), "0.0000");
}

TEST(RunGraph, GatedToolWaitsForApprovalAndRunsOnlyWhenApproved) {
  for (bool approve : {true, false}) {
    Harness h;
    auto gated = std::make_unique<FakeTool>("read_configmap_data", [](const rapidjson::Value&) {
      return text("ConfigMap/app-config", "LOG_LEVEL=debug");
    });
    auto* gatedTool = gated.get();
    const_cast<ToolSpec&>(gated->spec()).gated = true;
    h.tools.add(std::move(gated));
    h.spec.question = "What is in configmap/app-config?";
    auto g = h.graph();
    RunState st;
    Advance a = Advance::Continue;
    for (int i = 0; i < 20 && a == Advance::Continue; ++i) a = g.advance(h.spec, st, h.now);
    ASSERT_EQ(a, Advance::AwaitingApproval);
    EXPECT_EQ(st.phase, Phase::AwaitingApproval);
    ASSERT_NE(RunGraph::pendingApproval(st), nullptr);
    EXPECT_EQ(RunGraph::pendingApproval(st)->tool, "read_configmap_data");
    EXPECT_EQ(g.advance(h.spec, st, h.now), Advance::AwaitingApproval) << "nothing moves without a decision";
    EXPECT_EQ(gatedTool->calls, 0);
    ApprovalDecision d;
    d.outcome = approve ? ApprovalDecision::Outcome::Approved : ApprovalDecision::Outcome::Denied;
    d.decidedBy = "alice";
    ASSERT_TRUE(RunGraph::decide(st, d));
    while (g.advance(h.spec, st, h.now) == Advance::Continue) {}
    EXPECT_EQ(st.phase, Phase::Succeeded);
    EXPECT_EQ(gatedTool->calls, approve ? 1 : 0);
    bool sawApproval = false;
    for (const auto& s : st.steps) {
      if (s.node == Node::Approval) {
        sawApproval = true;
        EXPECT_EQ(s.state, approve ? StepState::Succeeded : StepState::Skipped);
        EXPECT_NE(s.summary.find("alice"), std::string::npos);
      }
    }
    EXPECT_TRUE(sawApproval);
  }
}

namespace {

// The harness with a runbook search whose sections are evidence R1, R2.
FakeTool* addRunbooks(Harness& h) {
  auto r = std::make_unique<FakeTool>("search_runbooks", [](const rapidjson::Value&) {
    ToolOutput o = text("Runbook ops: Crash loops", "1. Check that DATABASE_URL is set in the web Secret.");
    o.evidence.push_back({"Runbook ops: Rollbacks", "1. kubectl rollout undo deployment/web"});
    return o;
  });
  r->setEvidencePrefix('R');
  auto* raw = r.get();
  h.tools.add(std::move(r));
  return raw;
}

}  // namespace

TEST(RunGraph, OnceSomethingIsFoundTheTeamsRunbooksAreSearchedOnceAndNumberedApart) {
  Harness h;
  auto* runbooks = addRunbooks(h);
  h.spec.question = "why is web down?";
  auto g = h.graph();
  RunState st;
  int advances = 0;
  while (g.advance(h.spec, st, h.now) == Advance::Continue) ASSERT_LT(++advances, 20);
  ASSERT_EQ(st.phase, Phase::Succeeded);
  std::vector<std::string> nodes;
  for (const auto& s : st.steps) nodes.push_back(std::string(toString(s.node)) + (s.tool.empty() ? "" : ":" + s.tool));
  EXPECT_EQ(nodes, (std::vector<std::string>{"planner", "tool:get_workload", "tool:get_pod_logs", "tool:search_runbooks",
                                             "critic", "finalizer"}));
  EXPECT_EQ(runbooks->calls, 1);
  // The query: the question, then the findings' titles.
  EXPECT_EQ(runbooks->lastArgs.rfind("why is web down?\n", 0), 0u) << runbooks->lastArgs;
  EXPECT_NE(runbooks->lastArgs.find("DATABASE_URL is not set"), std::string::npos) << runbooks->lastArgs;
  std::vector<std::string> ids;
  for (const auto& e : st.evidence) ids.push_back(e.id);
  EXPECT_EQ(ids, (std::vector<std::string>{"E1", "E2", "R1", "R2"}));
  EXPECT_EQ(st.steps[3].evidence, (std::vector<std::string>{"R1", "R2"}));
  EXPECT_NE(st.findEvidence("R1"), nullptr);
}

TEST(RunGraph, NoRunbookSearchWhenNotAllowedOrNoStepIsLeft) {
  {
    Harness h;
    auto* runbooks = addRunbooks(h);
    h.spec.allowedTools = {"get_workload", "get_pod_logs"};
    auto g = h.graph();
    RunState st;
    while (g.advance(h.spec, st, h.now) == Advance::Continue) {}
    EXPECT_EQ(runbooks->calls, 0);
    EXPECT_EQ(st.reason, "Completed");
  }
  {
    Harness h;
    auto* runbooks = addRunbooks(h);
    h.spec.limits.maxSteps = 2;
    auto g = h.graph();
    RunState st;
    while (g.advance(h.spec, st, h.now) == Advance::Continue) {}
    EXPECT_EQ(runbooks->calls, 0);
    EXPECT_EQ(st.reason, "Completed") << "the investigation itself used the steps it had";
  }
}

TEST(RunGraph, EarlierRunsAreReadOnlyWhenTheQuestionAsksAboutARecurrence) {
  EXPECT_TRUE(asksAboutRecurrence("Why is checkout STILL crash-looping?"));
  EXPECT_TRUE(asksAboutRecurrence("is this the third OOMKilled this week?"));
  EXPECT_TRUE(asksAboutRecurrence("why does it keep restarting"));
  EXPECT_FALSE(asksAboutRecurrence("Why is checkout crash-looping?"));
  EXPECT_FALSE(asksAboutRecurrence("Is web healthy?"));
}

namespace {

// An action tool (gated, sent at most once) that records what it was asked
// to send and with which idempotency key.
class FakeAction : public Tool {
 public:
  explicit FakeAction(std::string name) {
    spec_.name = std::move(name);
    spec_.argsSchema = R"({"type":"object"})";
    spec_.gated = true;
    spec_.risk = "Medium";
    spec_.readsCluster = false;
    spec_.action = true;
  }
  const ToolSpec& spec() const override { return spec_; }
  ToolOutput run(const ToolContext& ctx, const rapidjson::Value& args) override {
    sent.push_back(jsonText(args));
    keys.push_back(ctx.idempotencyKey);
    ToolOutput o;
    o.summary = "sent to " + std::string(args["destination"].GetString()) + ": HTTP 200";
    return o;
  }
  std::vector<std::string> sent;
  std::vector<std::string> keys;

 private:
  ToolSpec spec_;
};

struct ActionHarness : Harness {
  FakeAction* notify = nullptr;
  FakeAction* ticket = nullptr;
  ActionHarness() {
    auto n = std::make_unique<FakeAction>("notify");
    auto t = std::make_unique<FakeAction>("create_ticket");
    notify = n.get();
    ticket = t.get();
    tools.add(std::move(n));
    tools.add(std::move(t));
    spec.runName = "why-web";
    spec.runUID = "6f1c";
    spec.generation = 3;
    spec.actions = {{"notify", "oncall", false}, {"create_ticket", "shop-issues", false}};
  }
  // Advances until the run finishes or waits; returns how it stopped.
  Advance run(RunGraph& g, RunState& st) {
    Advance a = Advance::Continue;
    for (int i = 0; i < 30 && a == Advance::Continue; ++i) a = g.advance(spec, st, now);
    return a;
  }
};

ApprovalDecision decision(ApprovalDecision::Outcome o, std::string who) {
  ApprovalDecision d;
  d.outcome = o;
  d.decidedBy = std::move(who);
  return d;
}

}  // namespace

TEST(RunActions, ProposedOnceTheInvestigationIsDoneEachWaitsForApprovalAndIsSentOnce) {
  ActionHarness h;
  h.spec.limits.maxSteps = 2;  // the two reads use every step: actions do not count
  std::vector<StepState> atCheckpoint;
  GraphOptions o;
  o.beforeAction = [&](RunState& saved) {
    atCheckpoint.push_back(saved.steps.back().state);
    return true;
  };
  RunGraph g(h.tools, h.analyzers, h.planner, o, [&h] { return h.now; });
  RunState st;
  ASSERT_EQ(h.run(g, st), Advance::AwaitingApproval);
  const Step* pending = RunGraph::pendingApproval(st);
  ASSERT_NE(pending, nullptr);
  EXPECT_EQ(pending->tool, "notify");
  EXPECT_NE(pending->argsJson.find("crash-loops"), std::string::npos) << pending->argsJson;
  EXPECT_NE(pending->argsJson.find("kubectl describe diagnosticrun why-web -n shop"), std::string::npos);
  EXPECT_TRUE(h.notify->sent.empty());
  const auto proposed = std::find_if(st.steps.begin(), st.steps.end(), [](const Step& s) { return s.reason == "ProposeActions"; });
  ASSERT_NE(proposed, st.steps.end());
  EXPECT_NE(proposed->summary.find("notify to oncall, create_ticket to shop-issues"), std::string::npos);

  // A person takes an hour: the wait does not count against the time limit.
  h.now += std::chrono::hours(1);
  ASSERT_TRUE(RunGraph::decide(st, decision(ApprovalDecision::Outcome::Approved, "alice"), h.now));
  EXPECT_EQ(st.steps.back().durationMs, 3600000);
  ASSERT_EQ(h.run(g, st), Advance::AwaitingApproval);
  ASSERT_EQ(h.notify->sent.size(), 1u);
  EXPECT_EQ(atCheckpoint, std::vector<StepState>{StepState::Running}) << "on record as sending before it is sent";
  const int approvalStep = st.steps[st.steps.size() - 3].id;
  EXPECT_EQ(h.notify->keys[0], "6f1c-3-" + std::to_string(approvalStep));
  EXPECT_EQ(RunGraph::pendingApproval(st)->tool, "create_ticket");
  EXPECT_NE(RunGraph::pendingApproval(st)->argsJson.find("\"title\":\"Deployment/web: Container app in pod web-1 crash-loops"),
            std::string::npos);

  ASSERT_TRUE(RunGraph::decide(st, decision(ApprovalDecision::Outcome::Denied, "bob"), h.now));
  EXPECT_EQ(h.run(g, st), Advance::Finished);
  EXPECT_TRUE(h.ticket->sent.empty());
  EXPECT_EQ(st.reason, "Completed");
  EXPECT_EQ(h.notify->sent.size(), 1u);
  EXPECT_NE(st.answer.find("**Actions**\n- notify to oncall: approved by alice; sent to oncall: HTTP 200"), std::string::npos)
      << st.answer;
  EXPECT_NE(st.answer.find("- create_ticket to shop-issues: denied by bob"), std::string::npos) << st.answer;
}

TEST(RunActions, OnProblemActionsAreNotProposedWhenNothingWasFoundAndAlwaysOnesAre) {
  ActionHarness h;
  h.spec.actions = {{"notify", "oncall", false}, {"create_ticket", "shop-issues", true}};
  // Healthy: the workload read finds nothing.
  h.tools = ToolRegistry();
  h.tools.add(std::make_unique<FakeTool>("get_workload", [](const rapidjson::Value&) { return text("Deployment/web", "3/3 ready"); }));
  h.tools.add(std::make_unique<FakeAction>("notify"));
  auto t = std::make_unique<FakeAction>("create_ticket");
  auto* ticket = t.get();
  h.tools.add(std::move(t));
  auto g = h.graph();
  RunState st;
  ASSERT_EQ(h.run(g, st), Advance::AwaitingApproval);
  EXPECT_EQ(RunGraph::pendingApproval(st)->tool, "create_ticket");
  EXPECT_NE(RunGraph::pendingApproval(st)->argsJson.find("no problem found"), std::string::npos);
  const auto proposed = std::find_if(st.steps.begin(), st.steps.end(), [](const Step& s) { return s.reason == "ProposeActions"; });
  ASSERT_NE(proposed, st.steps.end());
  EXPECT_NE(proposed->summary.find("not proposed, as nothing Medium or worse was found: notify to oncall"), std::string::npos)
      << proposed->summary;
  ASSERT_TRUE(RunGraph::decide(st, decision(ApprovalDecision::Outcome::Approved, "alice"), h.now));
  EXPECT_EQ(h.run(g, st), Advance::Finished);
  EXPECT_EQ(ticket->sent.size(), 1u);
}

TEST(RunActions, AResumedRunNeverSendsAgainWhatWasOnRecordAsSending) {
  ActionHarness h;
  h.spec.actions = {{"notify", "oncall", false}};
  RunState saved;
  GraphOptions o;
  o.beforeAction = [&](RunState& s) {
    saved = s;  // what the status holds when the operator is killed mid-send
    return true;
  };
  RunGraph g(h.tools, h.analyzers, h.planner, o, [&h] { return h.now; });
  RunState st;
  ASSERT_EQ(h.run(g, st), Advance::AwaitingApproval);
  ASSERT_TRUE(RunGraph::decide(st, decision(ApprovalDecision::Outcome::Approved, "alice"), h.now));
  ASSERT_EQ(h.run(g, st), Advance::Finished);
  ASSERT_EQ(h.notify->sent.size(), 1u);

  // A new operator reads the status written before the send.
  rapidjson::Document status(rapidjson::kObjectType);
  writeRunState(saved, status, status.GetAllocator());
  RunState resumed = readRunState(status);
  ASSERT_EQ(resumed.steps.back().state, StepState::Running);
  auto g2 = h.graph();
  EXPECT_EQ(h.run(g2, resumed), Advance::Finished);
  EXPECT_EQ(h.notify->sent.size(), 1u) << "never sent twice";
  const Step* unknown = nullptr;
  for (const auto& s : resumed.steps) {
    if (s.tool == "notify" && s.node == Node::Tool) unknown = &s;
  }
  ASSERT_NE(unknown, nullptr);
  EXPECT_EQ(unknown->state, StepState::Failed);
  EXPECT_EQ(unknown->reason, "OutcomeUnknown");
  EXPECT_NE(resumed.answer.find("may or may not have arrived"), std::string::npos) << resumed.answer;
}

TEST(RunActions, WhenTheCheckpointFailsNothingIsSentAndTheNodeIsUndone) {
  ActionHarness h;
  h.spec.actions = {{"notify", "oncall", false}};
  bool saves = false;
  GraphOptions o;
  o.beforeAction = [&](RunState&) { return saves; };
  RunGraph g(h.tools, h.analyzers, h.planner, o, [&h] { return h.now; });
  RunState st;
  ASSERT_EQ(h.run(g, st), Advance::AwaitingApproval);
  ASSERT_TRUE(RunGraph::decide(st, decision(ApprovalDecision::Outcome::Approved, "alice"), h.now));
  const auto steps = st.steps.size();
  EXPECT_EQ(g.advance(h.spec, st, h.now), Advance::Interrupted);
  EXPECT_TRUE(h.notify->sent.empty());
  EXPECT_EQ(st.steps.size(), steps);
  saves = true;
  EXPECT_EQ(h.run(g, st), Advance::Finished);
  EXPECT_EQ(h.notify->sent.size(), 1u);
}

TEST(RunActions, AnActionToADestinationTheSpecDoesNotNameIsRefusedWithoutAskingAnyone) {
  ActionHarness h;
  h.spec.actions = {{"notify", "oncall", false}};
  auto g = h.graph();
  RunState st;
  st.plan.push_back({"notify", canonicalJson(R"({"destination":"everyone","message":"hi"})"), "a model's idea"});
  st.steps.push_back(Step{});  // as if planned already
  st.steps.back().id = 1;
  st.steps.back().node = Node::Planner;
  st.steps.back().state = StepState::Succeeded;
  EXPECT_EQ(g.advance(h.spec, st, h.now), Advance::Continue);
  EXPECT_EQ(RunGraph::pendingApproval(st), nullptr);
  EXPECT_EQ(st.steps.back().state, StepState::Skipped);
  EXPECT_NE(st.steps.back().error.find("destination \"everyone\" is not one that this run's spec.actions names for notify "
                                       "(it names oncall)"),
            std::string::npos)
      << st.steps.back().error;
  EXPECT_TRUE(h.notify->sent.empty());
}

TEST(RunActions, WhatAnActionWouldSendIsRedactedBeforeAnyoneIsAskedToApproveIt) {
  ActionHarness h;
  h.spec.actions = {{"notify", "oncall", false}};
  h.analyzers.clear();
  struct Leaky : Analyzer {
    std::string_view name() const override { return "leaky"; }
    void analyze(const StepView& step, AnalysisSink& sink) const override {
      if (step.tool == "get_workload") {
        sink.addFinding("leaky", {"Pod/web-1/app", "web-1 fails", Severity::High, 80, {step.evidenceFor("Pod/web-1")},
                                  "set DATABASE_URL=postgres://app:hunter2@db/app"});
      }
    }
  };
  h.analyzers.push_back(std::make_unique<Leaky>());
  auto g = h.graph();
  RunState st;
  ASSERT_EQ(h.run(g, st), Advance::AwaitingApproval);
  const std::string args = RunGraph::pendingApproval(st)->argsJson;
  EXPECT_EQ(args.find("hunter2"), std::string::npos) << args;
  EXPECT_NE(args.find("Fix: set DATABASE_URL="), std::string::npos) << args;
}
