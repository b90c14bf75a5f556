// The two write actions, each gated (it runs only once a person approved
// exactly this call, see operator/controller/approval.h) and sent at most
// once (agent::ToolSpec::action):
//   notify         a message to a Slack-compatible incoming webhook
//                  ({"text": ...}) or a generic JSON webhook;
//   create_ticket  an issue through the GitHub issues API (or one compatible
//                  with it: POST /repos/OWNER/REPO/issues) or a generic JSON
//                  webhook.
// Destinations and their credentials come from the operator config and
// Secrets (tools/action_destinations.h); a call names a destination, which
// must be configured for the run's namespace. Every request carries the
// action's Idempotency-Key; the body passes the redactor on its way out
// (post() takes only agent::RedactedText).
#include <rapidjson/document.h>

#include "agent/redacted.h"
#include "tools/action_destinations.h"
#include "tools/kube_tool.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

// The one way an action leaves the process.
kube::Result<net::HttpResponse> post(const ActionDestination& d, const agent::RedactedText& body,
                                     const std::string& idempotencyKey, std::chrono::steady_clock::time_point deadline) {
  net::HttpRequest req;
  req.method = "POST";
  req.target = d.target;
  req.body = body.str();
  req.headers = {{"Content-Type", "application/json"}, {"User-Agent", "opscopilot"}};
  if (!idempotencyKey.empty()) req.headers.emplace_back("Idempotency-Key", idempotencyKey);
  if (!d.authorization.empty()) req.headers.emplace_back("Authorization", d.authorization);
  if (d.type == "github") {
    req.headers.emplace_back("Accept", "application/vnd.github+json");
    req.headers.emplace_back("X-GitHub-Api-Version", "2022-11-28");
  }
  req.deadline = deadline;
  req.timeout = std::max(std::chrono::milliseconds(100),
                         std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()));
  return d.transport->roundTrip(req);
}

void add(rapidjson::Document& d, const char* key, std::string_view value) {
  d.AddMember(rapidjson::StringRef(key), jsonString(value, d.GetAllocator()), d.GetAllocator());
}

// The generic webhook's fields common to both actions.
void envelope(rapidjson::Document& body, const char* kind, const ActionDestination& d, const agent::ToolContext& ctx) {
  add(body, "kind", kind);
  add(body, "destination", d.name);
  add(body, "namespace", ctx.ns);
  add(body, "run", ctx.runName);
  add(body, "idempotencyKey", ctx.idempotencyKey);
}

agent::ToolOutput refused(std::string reason, std::string why) {
  agent::ToolOutput out;
  out.ok = false;
  out.errorReason = std::move(reason);
  out.summary = "not sent: " + why;
  return out;
}

class ActionTool : public agent::Tool {
 public:
  ActionTool(agent::ToolSpec spec, std::shared_ptr<const ActionDestinations> destinations)
      : spec_(std::move(spec)), destinations_(std::move(destinations)) {}
  const agent::ToolSpec& spec() const override { return spec_; }

  agent::ToolOutput run(const agent::ToolContext& ctx, const rapidjson::Value& args) override {
    const std::string name = stringArg(args, "destination").value_or("");
    const ActionDestination* d = destinations_ ? destinations_->find(name) : nullptr;
    if (!d || d->tool != spec_.name) {
      return refused("InvalidArgs", "this operator has no " + spec_.name + " destination named \"" + name + "\"");
    }
    if (!d->allows(ctx.ns)) {
      return refused("Forbidden", "destination \"" + name + "\" is not configured for namespace " + ctx.ns);
    }
    rapidjson::Document body(rapidjson::kObjectType);
    build(*d, ctx, args, body);
    auto sent = post(*d, agent::redactJson(body), ctx.idempotencyKey, ctx.deadline);
    agent::ToolOutput out;
    const std::string to = name + " (" + d->type + ", " + d->display + ")";
    if (!sent.ok()) {
      out.ok = false;
      out.errorReason = sent.error().reason == "Timeout" ? "Timeout" : "Error";
      out.summary = "not confirmed: " + to + " did not answer (" + sent.error().reason +
                    "); not sent again, so that it is never sent twice";
      return out;
    }
    if (sent->status < 200 || sent->status > 299) {
      out.ok = false;
      out.errorReason = sent->status == 401 || sent->status == 403 ? "Forbidden" : "Error";
      out.summary = "refused: " + to + " answered HTTP " + std::to_string(sent->status) + ": " +
                    sent->body.substr(0, 200);
      return out;
    }
    out.summary = confirmation(*d, to, *sent);
    return out;
  }

 protected:
  virtual void build(const ActionDestination& d, const agent::ToolContext& ctx, const rapidjson::Value& args,
                     rapidjson::Document& body) const = 0;
  virtual std::string confirmation(const ActionDestination& d, const std::string& to,
                                   const net::HttpResponse& response) const = 0;

 private:
  agent::ToolSpec spec_;
  std::shared_ptr<const ActionDestinations> destinations_;
};

agent::ToolSpec actionSpec(std::string name, std::string description, std::string schema) {
  agent::ToolSpec s;
  s.name = std::move(name);
  s.description = std::move(description);
  s.argsSchema = std::move(schema);
  s.timeout = std::chrono::milliseconds(15000);
  s.gated = true;
  s.risk = "Medium";
  s.readsCluster = false;
  s.action = true;
  return s;
}

class NotifyTool : public ActionTool {
 public:
  explicit NotifyTool(std::shared_ptr<const ActionDestinations> d)
      : ActionTool(actionSpec("notify",
                              "Sends a message to a notification destination of the operator's config (Slack-compatible "
                              "or JSON webhook), once a person approved it.",
                              R"({"type":"object","additionalProperties":false,"required":["destination","message"],
                                  "properties":{"destination":{"type":"string","minLength":1,"maxLength":63},
                                                "message":{"type":"string","minLength":1,"maxLength":4000}}})"),
                   std::move(d)) {}

 protected:
  void build(const ActionDestination& d, const agent::ToolContext& ctx, const rapidjson::Value& args,
             rapidjson::Document& body) const override {
    const std::string message = stringArg(args, "message").value_or("");
    if (d.type == "slack") {
      add(body, "text", message);
      return;
    }
    envelope(body, "Notification", d, ctx);
    add(body, "message", message);
  }
  std::string confirmation(const ActionDestination&, const std::string& to, const net::HttpResponse& r) const override {
    return "sent to " + to + ": HTTP " + std::to_string(r.status);
  }
};

class CreateTicketTool : public ActionTool {
 public:
  explicit CreateTicketTool(std::shared_ptr<const ActionDestinations> d)
      : ActionTool(actionSpec("create_ticket",
                              "Files a ticket with a ticket destination of the operator's config (GitHub-compatible "
                              "issues API or JSON webhook), once a person approved it.",
                              R"({"type":"object","additionalProperties":false,"required":["destination","title","body"],
                                  "properties":{"destination":{"type":"string","minLength":1,"maxLength":63},
                                                "title":{"type":"string","minLength":1,"maxLength":256},
                                                "body":{"type":"string","minLength":1,"maxLength":16000}}})"),
                   std::move(d)) {}

 protected:
  void build(const ActionDestination& d, const agent::ToolContext& ctx, const rapidjson::Value& args,
             rapidjson::Document& body) const override {
    const std::string title = stringArg(args, "title").value_or("");
    std::string text = stringArg(args, "body").value_or("");
    if (d.type == "github") {
      // GitHub has no idempotency key: the body carries it, so a person (or
      // a search) can tell one action's issue from another's.
      text += "\n\n<!-- opscopilot idempotency-key: " + ctx.idempotencyKey + " -->";
      add(body, "title", title);
      add(body, "body", text);
      return;
    }
    envelope(body, "Ticket", d, ctx);
    add(body, "title", title);
    add(body, "body", text);
  }
  std::string confirmation(const ActionDestination& d, const std::string& to, const net::HttpResponse& r) const override {
    rapidjson::Document reply;
    reply.Parse(r.body.c_str(), r.body.size());
    std::string id, url;
    if (!reply.HasParseError() && reply.IsObject()) {
      for (const char* k : {"number", "id", "key"}) {
        auto it = reply.FindMember(k);
        if (it == reply.MemberEnd()) continue;
        if (it->value.IsInt64()) id = std::to_string(it->value.GetInt64());
        if (it->value.IsString()) id = it->value.GetString();
        if (!id.empty()) break;
      }
      for (const char* k : {"html_url", "url"}) {
        auto it = reply.FindMember(k);
        if (it != reply.MemberEnd() && it->value.IsString()) {
          url = it->value.GetString();
          break;
        }
      }
    }
    std::string out = "created ticket";
    if (!id.empty()) out += (d.type == "github" ? " #" : " ") + id.substr(0, 64);
    if (!d.repository.empty()) out += " in " + d.repository;
    out += " with " + to + ": HTTP " + std::to_string(r.status);
    if (!url.empty()) out += ", " + url.substr(0, 300);
    return out;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeNotifyTool(ClientPtr, const ToolSettings& settings) {
  return std::make_unique<NotifyTool>(settings.actions);
}

std::unique_ptr<agent::Tool> makeCreateTicketTool(ClientPtr, const ToolSettings& settings) {
  return std::make_unique<CreateTicketTool>(settings.actions);
}

}  // namespace opscopilot::tools
