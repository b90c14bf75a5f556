// The action tools (notify, create_ticket) over real sockets: the production
// tools and Beast transport against a local HTTP server that records what
// arrived. What leaves the process is checked on the wire.
#include <gtest/gtest.h>

#include <mutex>

#include "local_http_server.h"
#include "tools/action_destinations.h"
#include "tools/tool_factories.h"

using namespace opscopilot;
using opscopilot::test::LocalHttpServer;

namespace {

// Answers every request with `reply` and keeps what it received.
struct Receiver {
  std::mutex mu;
  std::vector<std::string> received;
  std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
  LocalHttpServer server{[this](LocalHttpServer::Conn& c, const std::string& request) {
    std::string r;
    {
      std::lock_guard lock(mu);
      received.push_back(request);
      r = reply;
    }
    c.write(r);
  }};
  std::string last() {
    std::lock_guard lock(mu);
    return received.empty() ? "" : received.back();
  }
};

tools::ActionDestination destination(const Receiver& r, std::string name, std::string tool, std::string type,
                                     std::string target) {
  tools::ActionDestination d;
  d.name = std::move(name);
  d.tool = std::move(tool);
  d.type = std::move(type);
  d.display = r.server.url();
  d.target = std::move(target);
  net::TransportOptions o;
  o.host = "127.0.0.1";
  o.port = std::to_string(r.server.port());
  o.tls = false;
  d.transport = *net::makeHttpTransport(o);
  return d;
}

struct Tools {
  tools::ToolSettings settings;
  std::unique_ptr<agent::Tool> notify, ticket;
  explicit Tools(std::shared_ptr<tools::ActionDestinations> d) {
    settings.actions = std::move(d);
    notify = tools::makeNotifyTool(nullptr, settings);
    ticket = tools::makeCreateTicketTool(nullptr, settings);
  }
};

agent::ToolContext context(std::string ns = "shop") {
  agent::ToolContext ctx;
  ctx.ns = std::move(ns);
  ctx.runName = "why-web";
  ctx.idempotencyKey = "6f1c-3-9";
  ctx.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  return ctx;
}

rapidjson::Document args(const char* json) {
  rapidjson::Document d;
  d.Parse(json);
  return d;
}

}  // namespace

TEST(ActionTools, NotifyPostsSlackTextWithItsIdempotencyKeyAndRedactsOnTheWire) {
  Receiver r;
  auto d = std::make_shared<tools::ActionDestinations>();
  d->add(destination(r, "oncall", "notify", "slack", "/services/T0/B0/XXXX"));
  Tools t(d);
  EXPECT_TRUE(t.notify->spec().gated);
  EXPECT_TRUE(t.notify->spec().action);
  auto out = t.notify->run(context(), args(R"({"destination":"oncall","message":"web fails: password=hunter2"})"));
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_NE(out.summary.find("sent to oncall (slack, "), std::string::npos) << out.summary;
  const auto req = r.last();
  EXPECT_EQ(req.rfind("POST /services/T0/B0/XXXX HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("Idempotency-Key: 6f1c-3-9\r\n"), std::string::npos) << req;
  EXPECT_NE(req.find("{\"text\":\"web fails: password="), std::string::npos) << req;
  EXPECT_EQ(req.find("hunter2"), std::string::npos) << "the body passes the redactor on its way out";
  EXPECT_EQ(req.find("Authorization"), std::string::npos);
}

TEST(ActionTools, NotifyToAGenericWebhookCarriesTheRunAndTheToken) {
  Receiver r;
  auto d = std::make_shared<tools::ActionDestinations>();
  auto dest = destination(r, "ops", "notify", "webhook", "/hook");
  dest.authorization = "Bearer s3cr3t-token";
  d->add(std::move(dest));
  Tools t(d);
  auto out = t.notify->run(context(), args(R"({"destination":"ops","message":"2 problems found"})"));
  ASSERT_TRUE(out.ok) << out.summary;
  const auto req = r.last();
  EXPECT_NE(req.find("Authorization: Bearer s3cr3t-token\r\n"), std::string::npos);
  for (const char* field : {R"("kind":"Notification")", R"("namespace":"shop")", R"("run":"why-web")",
                            R"("message":"2 problems found")", R"("idempotencyKey":"6f1c-3-9")"}) {
    EXPECT_NE(req.find(field), std::string::npos) << field << "\n" << req;
  }
}

TEST(ActionTools, CreateTicketFilesAGitHubIssueAndSaysWhichOne) {
  Receiver r;
  const std::string issue = R"({"number":7,"html_url":"https://github.example/o/r/issues/7"})";
  r.reply = "HTTP/1.1 201 Created\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
            std::to_string(issue.size()) + "\r\n\r\n" + issue;
  auto d = std::make_shared<tools::ActionDestinations>();
  auto dest = destination(r, "shop-issues", "create_ticket", "github", "/api/v3/repos/o/r/issues");
  dest.repository = "o/r";
  dest.authorization = "Bearer ghp_x";
  d->add(std::move(dest));
  Tools t(d);
  auto out = t.ticket->run(context(), args(R"({"destination":"shop-issues","title":"web: crash","body":"the answer"})"));
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_NE(out.summary.find("created ticket #7 in o/r"), std::string::npos) << out.summary;
  EXPECT_NE(out.summary.find("https://github.example/o/r/issues/7"), std::string::npos) << out.summary;
  const auto req = r.last();
  EXPECT_EQ(req.rfind("POST /api/v3/repos/o/r/issues HTTP/1.1\r\n", 0), 0u) << req;
  EXPECT_NE(req.find("Accept: application/vnd.github+json\r\n"), std::string::npos);
  EXPECT_NE(req.find(R"("title":"web: crash")"), std::string::npos);
  EXPECT_NE(req.find("<!-- opscopilot idempotency-key: 6f1c-3-9 -->"), std::string::npos) << req;
}

TEST(ActionTools, RefusalsSendNothingAndAFailureSaysWhatTheServerAnswered) {
  Receiver r;
  auto d = std::make_shared<tools::ActionDestinations>();
  auto ops = destination(r, "ops", "notify", "webhook", "/hook");
  ops.namespaces = {"payments"};
  d->add(std::move(ops));
  d->add(destination(r, "shop-issues", "create_ticket", "webhook", "/tickets"));
  Tools t(d);
  auto unknown = t.notify->run(context(), args(R"({"destination":"everyone","message":"hi"})"));
  EXPECT_FALSE(unknown.ok);
  EXPECT_EQ(unknown.errorReason, "InvalidArgs");
  auto wrongTool = t.notify->run(context(), args(R"({"destination":"shop-issues","message":"hi"})"));
  EXPECT_FALSE(wrongTool.ok) << "a ticket destination is not a notification destination";
  auto otherNamespace = t.notify->run(context("shop"), args(R"({"destination":"ops","message":"hi"})"));
  EXPECT_FALSE(otherNamespace.ok);
  EXPECT_EQ(otherNamespace.errorReason, "Forbidden");
  EXPECT_NE(otherNamespace.summary.find("not configured for namespace shop"), std::string::npos);
  EXPECT_EQ(r.server.requests(), 0);

  r.reply = "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 10\r\nConnection: close\r\n\r\nno tickets";
  auto failed = t.ticket->run(context(), args(R"({"destination":"shop-issues","title":"t","body":"b"})"));
  EXPECT_FALSE(failed.ok);
  EXPECT_NE(failed.summary.find("answered HTTP 500: no tickets"), std::string::npos) << failed.summary;
  EXPECT_EQ(r.server.requests(), 1) << "one attempt: a failed action is not sent again";
}
