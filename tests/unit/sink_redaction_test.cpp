// Redaction at every sink, enforced by the type system: the sinks accept only
// agent::RedactedText / llm::RedactedChatRequest, which only the redaction
// functions construct (compile-time checks below), and secrets planted in
// what the controller writes never reach the bytes sent (the real sinks over
// a fake transport: only the I/O is faked).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>
#include <rapidjson/document.h>

#include <atomic>
#include <string>
#include <string_view>
#include <type_traits>

#include "agent/llm/llm.h"
#include "agent/redacted.h"
#include "fake_transport.h"
#include "operator/controller/approval.h"
#include "operator/controller/event_recorder.h"
#include "operator/controller/json_log.h"
#include "operator/controller/run_reconciler.h"
#include "operator/kube/client.h"
#include "operator/kube/informer.h"

using namespace opscopilot;
using agent::RedactedText;
using ::testing::HasSubstr;
using ::testing::Not;

// --- compile time: unredacted text cannot reach a sink ------------------------

static_assert(!std::is_default_constructible_v<RedactedText>);
static_assert(!std::is_constructible_v<RedactedText, std::string>);
static_assert(!std::is_constructible_v<RedactedText, std::string_view>);
static_assert(!std::is_constructible_v<RedactedText, const char*>);
static_assert(!std::is_convertible_v<std::string, RedactedText>);
static_assert(!std::is_convertible_v<std::string_view, RedactedText>);
static_assert(!std::is_convertible_v<const char*, RedactedText>);
static_assert(std::is_copy_constructible_v<RedactedText>);  // copies of redacted text stay redacted
static_assert(!std::is_constructible_v<agent::llm::RedactedChatRequest, agent::llm::ChatRequest>);
static_assert(!std::is_convertible_v<agent::llm::ChatRequest, agent::llm::RedactedChatRequest>);

namespace {

template <class Body>
concept CreateTakes = requires(kube::Client& c, Body b) { c.create(kube::resources::kEvents, "ns", b); };
template <class Body>
concept UpdateTakes = requires(kube::Client& c, Body b) { c.update(kube::resources::kLeases, "ns", "n", b); };
template <class Body>
concept UpdateStatusTakes = requires(kube::Client& c, Body b) { c.updateStatus(kube::resources::kLeases, "ns", "n", b); };
template <class Body>
concept PatchTakes = requires(kube::Client& c, Body b) {
  c.patch(kube::resources::kLeases, "ns", "n", kube::PatchType::Merge, b);
};
template <class Message>
concept RecordTakes = requires(controller::EventRecorder& r, Message m) {
  r.record(controller::EventTarget{}, "Normal", "Reason", m);
};
template <class Line>
concept LogWriterTakes = requires(Line l) { controller::writeLogLine(l); };
template <class Request>
concept ProviderTakes = requires(agent::llm::Provider& p, Request r, agent::llm::CallLimits l) { p.chat(r, l); };

static_assert(CreateTakes<RedactedText> && !CreateTakes<std::string> && !CreateTakes<std::string_view> &&
              !CreateTakes<const char*>);
static_assert(UpdateTakes<RedactedText> && !UpdateTakes<std::string> && !UpdateTakes<const char*>);
static_assert(UpdateStatusTakes<RedactedText> && !UpdateStatusTakes<std::string> && !UpdateStatusTakes<const char*>);
static_assert(PatchTakes<RedactedText> && !PatchTakes<std::string> && !PatchTakes<const char*>);
static_assert(RecordTakes<RedactedText> && !RecordTakes<std::string> && !RecordTakes<const char*>);
static_assert(LogWriterTakes<RedactedText> && !LogWriterTakes<std::string> && !LogWriterTakes<const char*>);
static_assert(ProviderTakes<agent::llm::RedactedChatRequest> && !ProviderTakes<agent::llm::ChatRequest>);

// Planted secrets: each is one the redactor removes.
const std::string kGitHubToken = "ghp_" + std::string("A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8");
const std::string kRedisPassword = "hunter2redispw";
const std::string kRedisURL = "redis://:" + kRedisPassword + "@cache:6379/0";

std::shared_ptr<test::FakeTransport> echoingTransport() {
  auto t = std::make_shared<test::FakeTransport>();
  t->onRoundTrip = [](const net::HttpRequest& r) {
    return net::Result<net::HttpResponse>(net::HttpResponse{r.method == "POST" ? 201 : 200, {}, r.body});
  };
  return t;
}

std::shared_ptr<kube::Client> clientOver(std::shared_ptr<test::FakeTransport> t) {
  kube::ClientConfig cfg;
  cfg.server = "https://127.0.0.1:6443";
  return std::make_shared<kube::Client>(cfg, std::move(t));
}

void expectNoPlantedSecret(const std::string& bytes) {
  EXPECT_THAT(bytes, Not(HasSubstr(kGitHubToken)));
  EXPECT_THAT(bytes, Not(HasSubstr(kRedisPassword)));
  EXPECT_THAT(bytes, Not(HasSubstr("A1b2C3d4E5f6")));
}

}  // namespace

// --- the redaction functions ---------------------------------------------------

TEST(RedactedText, JsonBodyRedactsEveryStringAndIsIdempotent) {
  const std::string body = R"({"a":")" + kRedisURL + R"(","n":[1,2.5,true,null],"k":{"password":"plain","t":")" +
                           kGitHubToken + R"("},"kept":"checkout-7d9f"})";
  const RedactedText once = agent::redactJsonBody(body);
  expectNoPlantedSecret(once.str());
  EXPECT_THAT(once.str(), Not(HasSubstr("plain")));
  EXPECT_THAT(once.str(), HasSubstr(R"("n":[1,2.5,true,null])"));
  EXPECT_THAT(once.str(), HasSubstr(R"("kept":"checkout-7d9f")"));
  EXPECT_THAT(once.str(), HasSubstr("redis://:[REDACTED]@cache:6379/0"));
  EXPECT_EQ(agent::redactJsonBody(once.str()).str(), once.str());
  EXPECT_EQ(agent::redactText(once.str()).str(), once.str());
}

TEST(RedactedText, TextThatIsNotJsonIsRedactedAsText) {
  const RedactedText r = agent::redactJsonBody("not json: " + kRedisURL);
  EXPECT_EQ(r.str(), "not json: redis://:[REDACTED]@cache:6379/0");
  EXPECT_EQ(agent::redactJsonBody("").str(), "");
}

// --- the Kubernetes client: bytes sent ----------------------------------------------

TEST(SinkRedaction, EveryClientWriteSendsTheRedactedBody) {
  auto transport = echoingTransport();
  auto client = clientOver(transport);
  const std::string body = R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm"},"data":{"url":")" +
                           kRedisURL + R"(","note":"token )" + kGitHubToken + R"("}})";
  ASSERT_TRUE(client->create(kube::resources::kConfigMaps, "shop", agent::redactJsonBody(body)).ok());
  ASSERT_TRUE(client->update(kube::resources::kConfigMaps, "shop", "cm", agent::redactJsonBody(body)).ok());
  ASSERT_TRUE(client->updateStatus(kube::resources::kConfigMaps, "shop", "cm", agent::redactJsonBody(body)).ok());
  ASSERT_TRUE(
      client->patch(kube::resources::kConfigMaps, "shop", "cm", kube::PatchType::Merge, agent::redactJsonBody(body)).ok());
  const auto sent = transport->requests();
  ASSERT_EQ(sent.size(), 4u);
  for (const auto& r : sent) {
    expectNoPlantedSecret(r.body);
    EXPECT_THAT(r.body, HasSubstr(R"("name":"cm")"));
  }
}

// The ApprovalRequest create body passes the redactor whole: the binding
// fields of an ordinary request come through unchanged (else the controller
// would refuse its own request), a secret quoted in the reason does not, and
// arguments that lost a secret no longer match the action, so that request
// is refused rather than run.
TEST(SinkRedaction, ApprovalRequestBodyIsRedactedWholeAndKeepsItsBinding) {
  controller::approval::Action a;
  a.ns = "shop";
  a.runName = "why-config";
  a.runUID = "3f0c1a52-7d4e-4b8a-9c61-2e5f8d9b0a17";
  a.generation = 2;
  a.stepID = 5;
  a.tool = "read_configmap_data";
  a.argsJson = R"({"name":"app-config"})";
  const auto expires = std::chrono::system_clock::now() + std::chrono::hours(1);

  const std::string plain = controller::approval::requestJson(a, "the question asks about this ConfigMap", "Medium", expires);
  EXPECT_EQ(agent::redactJsonBody(plain).str(), plain);

  const std::string leaky =
      controller::approval::requestJson(a, "the log says DATABASE_URL=" + kRedisURL + " " + kGitHubToken, "Medium", expires);
  const RedactedText safe = agent::redactJsonBody(leaky);
  expectNoPlantedSecret(safe.str());
  rapidjson::Document d;
  d.Parse(safe.str().c_str());
  ASSERT_FALSE(d.HasParseError());
  auto& al = d.GetAllocator();
  d["metadata"].AddMember("uid", "0e8f1c5b-7a3d-4f9e-b2c6-d1a4e7f80c93", al);
  EXPECT_THAT(controller::approval::bindingProblems(a, d), ::testing::IsEmpty());

  a.argsJson = R"({"name":"app-config","password":"hunter2"})";
  const std::string withSecretArgs = controller::approval::requestJson(a, "reason", "Medium", expires);
  rapidjson::Document r;
  r.Parse(agent::redactJsonBody(withSecretArgs).str().c_str());
  r["metadata"].AddMember("uid", "0e8f1c5b-7a3d-4f9e-b2c6-d1a4e7f80c93", r.GetAllocator());
  EXPECT_THAT(controller::approval::bindingProblems(a, r), Not(::testing::IsEmpty()));
}

// --- Events ----------------------------------------------------------------------------

TEST(SinkRedaction, EventRecorderSendsNoPlantedSecret) {
  auto transport = echoingTransport();
  {
    controller::EventRecorder recorder(clientOver(transport));
    const controller::EventTarget target{"opscopilot.io/v1alpha1", "DiagnosticRun", "shop", "why-crashloop", "uid-1"};
    recorder.record(target, "Warning", "Failed", agent::redactText("the container printed " + kRedisURL));
    // A field the recorder does not take as RedactedText still passes the
    // redactor: the whole Event does, on its way to the client.
    recorder.record(target, "Warning", "token " + kGitHubToken, agent::redactText("step 3 failed"));
  }  // the destructor sends what is queued
  const auto sent = transport->requests();
  ASSERT_EQ(sent.size(), 2u);
  for (const auto& r : sent) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/api/v1/namespaces/shop/events");
    expectNoPlantedSecret(r.body);
    EXPECT_THAT(r.body, HasSubstr(R"("name":"why-crashloop")"));
  }
  EXPECT_THAT(sent[0].body, HasSubstr("the container printed redis://:[REDACTED]@cache:6379/0"));
}

// --- log lines -------------------------------------------------------------------------

TEST(SinkRedaction, LogLinesCarryNoPlantedSecret) {
  ::testing::internal::CaptureStderr();
  controller::logInfo("connecting to " + kRedisURL, {{"error", "401 for " + kGitHubToken}, {"password", "hunter2"}});
  const std::string out = ::testing::internal::GetCapturedStderr();
  expectNoPlantedSecret(out);
  EXPECT_THAT(out, Not(HasSubstr("hunter2")));
  EXPECT_THAT(out, HasSubstr(R"("level":"info")"));
  EXPECT_THAT(out, HasSubstr("connecting to redis://:[REDACTED]@cache:6379/0"));
  EXPECT_EQ(out.back(), '\n');
  rapidjson::Document d;
  d.Parse(out.c_str(), out.size() - 1);
  EXPECT_FALSE(d.HasParseError()) << out;
}

// --- prompts ---------------------------------------------------------------------------

namespace {

class RecordingProvider : public agent::llm::Provider {
 public:
  explicit RecordingProvider(std::vector<agent::llm::ChatRequest>* seen) : seen_(seen) {}
  agent::llm::LlmResult<agent::llm::ChatResponse> chat(const agent::llm::RedactedChatRequest& r,
                                                       const agent::llm::CallLimits&) override {
    seen_->push_back(r.get());
    agent::llm::ChatResponse resp;
    resp.content = "ok";
    resp.usage = {10, 2};
    return agent::llm::LlmResult<agent::llm::ChatResponse>::success(resp);
  }

 private:
  std::vector<agent::llm::ChatRequest>* seen_;
};

}  // namespace

TEST(SinkRedaction, GatewayHandsTheProviderOnlyRedactedMessages) {
  std::vector<agent::llm::ChatRequest> seen;
  agent::llm::Gateway gateway(std::make_unique<RecordingProvider>(&seen), {});
  agent::llm::ChatRequest req;
  req.messages.push_back({agent::llm::ChatMessage::Role::System, "you diagnose", {}, {}, {}});
  req.messages.push_back({agent::llm::ChatMessage::Role::User, "the log says " + kRedisURL, {}, {}, {}});
  req.messages.push_back({agent::llm::ChatMessage::Role::Assistant, "", {{"call_1", "get_pod_logs",
                          R"({"pod":"web","token":")" + kGitHubToken + R"("})"}}, {}, {}});
  req.messages.push_back({agent::llm::ChatMessage::Role::Tool, "found " + kGitHubToken, {}, "call_1", "get_pod_logs"});
  agent::llm::Budget budget;
  budget.unlimitedTokens = budget.unlimitedCost = true;
  auto r = gateway.call(req, budget, std::chrono::steady_clock::now() + std::chrono::seconds(10));
  ASSERT_TRUE(r.ok()) << r.error.message;
  ASSERT_EQ(seen.size(), 1u);
  std::string everything;
  for (const auto& m : seen[0].messages) {
    everything += m.content + "\n";
    for (const auto& c : m.toolCalls) everything += c.argsJson + "\n";
  }
  expectNoPlantedSecret(everything);
  EXPECT_THAT(everything, HasSubstr("the log says redis://:[REDACTED]@cache:6379/0"));
  EXPECT_THAT(everything, HasSubstr(R"("pod":"web")"));
}

// --- the run reconciler: status writes and Events -----------------------------------------

// A DiagnosticRun whose question carries secrets, reconciled for real over a
// fake API server: no byte the controller sends (status writes, Events)
// contains them.
TEST(SinkRedaction, ReconcilingARunSendsNoPlantedSecret) {
  const std::string run = R"({"apiVersion":"opscopilot.io/v1alpha1","kind":"DiagnosticRun",
    "metadata":{"name":"why","namespace":"shop","uid":"4c1d2e3f-0000-4000-8000-000000000001","generation":1,
                "resourceVersion":"7"},
    "spec":{"question":"Why does checkout fail? It logs )" + kRedisURL + " with token " + kGitHubToken + R"(",
            "target":{"kind":"Deployment","name":"checkout"}}})";
  auto transport = std::make_shared<test::FakeTransport>();
  std::atomic<int> version{7};
  transport->onRoundTrip = [&](const net::HttpRequest& r) {
    using R = net::Result<net::HttpResponse>;
    if (r.method == "GET" && r.target.find("/diagnosticruns?") != std::string::npos) {
      return R(net::HttpResponse{200, {}, R"({"kind":"DiagnosticRunList","apiVersion":"opscopilot.io/v1alpha1",
        "metadata":{"resourceVersion":"7"},"items":[)" + run + "]}"});
    }
    if (r.method == "GET" && r.target.find("/diagnosticruns/why") != std::string::npos) {
      return R(net::HttpResponse{200, {}, run});
    }
    if (r.method == "PUT" || r.method == "POST" || r.method == "PATCH") {
      rapidjson::Document d;
      d.Parse(r.body.c_str());
      if (d.IsObject() && d.HasMember("metadata")) {
        const std::string rv = std::to_string(++version);
        if (d["metadata"].HasMember("resourceVersion")) d["metadata"].RemoveMember("resourceVersion");
        d["metadata"].AddMember("resourceVersion", rapidjson::Value(rv.c_str(), d.GetAllocator()), d.GetAllocator());
      }
      return R(net::HttpResponse{r.method == "POST" ? 201 : 200, {}, kube::serializeJson(d)});
    }
    return R(net::HttpResponse{404, {}, R"({"kind":"Status","reason":"NotFound","code":404})"});
  };
  // The informer's watch stays open until the informer stops it.
  transport->onStream = [](const net::HttpRequest&, const net::DataHandler&, net::Cancellation& c) {
    c.sleepFor(std::chrono::seconds(30));
    return net::Result<net::HttpResponse>(net::Error{0, "Cancelled", "cancelled"});
  };
  auto client = clientOver(transport);

  kube::WatcherOptions wo;
  wo.resource = controller::kDiagnosticRuns;
  kube::Informer cache(client, wo);
  cache.start();
  ASSERT_TRUE(cache.waitForSync(std::chrono::seconds(10)));
  agent::ToolRegistry tools;
  std::vector<std::unique_ptr<agent::Analyzer>> analyzers;
  controller::OperatorConfig config;
  // No requester policy here (the run names no requester): read as the reader.
  config.whenRequesterUnverified = controller::OperatorConfig::WhenUnverified::ReaderOnly;
  controller::RequesterPolicy requesterPolicy(client, config.requesterPolicyBinding);
  std::atomic<bool> stopping{false};
  controller::ReconcileResult result;
  {
    controller::EventRecorder events(client);
    controller::RunReconciler reconciler(client, cache, tools, analyzers, config, events, stopping, requesterPolicy);
    // The run's nodes run in the reconciler's pool; each one done queues the
    // key again, as the work queue would.
    std::mutex mu;
    std::condition_variable cv;
    int nodesDone = 0;
    reconciler.onNodeDone([&](const std::string&) {
      std::lock_guard lock(mu);
      ++nodesDone;
      cv.notify_all();
    });
    ::testing::internal::CaptureStderr();  // the reconciler's log lines
    for (int turn = 0; turn < 50 && result.finishedReason.empty(); ++turn) {
      int before;
      {
        std::lock_guard lock(mu);
        before = nodesDone;
      }
      result = reconciler.reconcile("shop/why");
      if (!result.finishedReason.empty() || result.error) break;
      std::unique_lock lock(mu);
      cv.wait_for(lock, std::chrono::seconds(10), [&] { return nodesDone > before; });
    }
    expectNoPlantedSecret(::testing::internal::GetCapturedStderr());
    EXPECT_FALSE(result.finishedReason.empty()) << result.outcome;
  }  // the recorder sends what is queued
  cache.stop();

  // The status writes (the whole run, spec included) and the Started Event
  // did carry the question: redacted.
  int statusWrites = 0, events = 0, eventsQuoting = 0;
  for (const auto& r : transport->requests()) {
    expectNoPlantedSecret(r.body);
    const bool quotes = r.body.find("redis://:[REDACTED]@cache") != std::string::npos;
    if (r.method == "PUT" && r.target.find("/diagnosticruns/why/status") != std::string::npos) {
      ++statusWrites;
      EXPECT_TRUE(quotes) << r.body;
    } else if (r.method == "POST" && r.target.find("/events") != std::string::npos) {
      ++events;
      eventsQuoting += quotes;
    }
  }
  EXPECT_GE(statusWrites, 1) << result.outcome;
  EXPECT_GE(events, 2) << result.outcome;  // Started, then Completed or a Warning
  EXPECT_EQ(eventsQuoting, 1) << "the Started Event quotes the question";
}
