// Whose rights a run uses: the requester's access reviews (tools/access_review),
// the tools refusing what the requester may not read, and when the controller
// believes spec.requester (operator/controller/requester). The API server is
// scripted (FakeTransport: I/O only); the reviewer, tools and policy check
// are the production code.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <functional>
#include <mutex>
#include <set>

#include "fake_transport.h"
#include "operator/controller/operator_config.h"
#include "operator/controller/requester.h"
#include "operator/kube/object.h"
#include "tools/builtin_tools.h"

using namespace opscopilot;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

std::string statusJson(int code, const std::string& reason) {
  return R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":")" + reason + R"(","message":"x","code":)" +
         std::to_string(code) + "}";
}

// Answers GETs from routes and SubjectAccessReviews with decide(attributes).
class Api {
 public:
  std::function<bool(const rapidjson::Value& spec)> decide = [](const rapidjson::Value&) { return true; };
  int sarStatus = 201;

  Api() {
    transport_->onRoundTrip = [this](const net::HttpRequest& r) -> net::Result<net::HttpResponse> {
      std::lock_guard l(mu_);
      if (r.method == "POST" && r.target.rfind("/apis/authorization.k8s.io/v1/subjectaccessreviews", 0) == 0) {
        ++sars_;
        rapidjson::Document d;
        d.Parse(r.body.c_str());
        lastSar_ = r.body;
        if (sarStatus != 201) return net::HttpResponse{sarStatus, {}, statusJson(sarStatus, "InternalError")};
        const bool allowed = decide(d["spec"]);
        return net::HttpResponse{201, {}, std::string(R"({"kind":"SubjectAccessReview","status":{"allowed":)") +
                                              (allowed ? "true" : "false") + R"(,"reason":")" +
                                              (allowed ? "RBAC: allowed" : "") + R"("}})"};
      }
      auto it = routes_.find(r.target.substr(0, r.target.find('?')));
      if (it == routes_.end()) return net::HttpResponse{404, {}, statusJson(404, "NotFound")};
      return net::HttpResponse{it->second.first, {}, it->second.second};
    };
    kube::ClientConfig cfg;
    cfg.server = "https://fake.invalid:6443";
    client_ = std::make_shared<kube::Client>(cfg, transport_);
  }
  void on(const std::string& path, const std::string& body, int code = 200) {
    std::lock_guard l(mu_);
    routes_[path] = {code, body};
  }
  int sars() {
    std::lock_guard l(mu_);
    return sars_;
  }
  std::string lastSar() {
    std::lock_guard l(mu_);
    return lastSar_;
  }
  std::vector<std::string> targets() {
    std::vector<std::string> t;
    for (const auto& r : transport_->requests()) t.push_back(r.method + " " + r.target.substr(0, r.target.find('?')));
    return t;
  }
  std::shared_ptr<kube::Client> client() { return client_; }

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<int, std::string>> routes_;
  int sars_ = 0;
  std::string lastSar_;
  std::shared_ptr<test::FakeTransport> transport_ = std::make_shared<test::FakeTransport>();
  std::shared_ptr<kube::Client> client_;
};

std::string attr(const rapidjson::Value& spec, const char* key) {
  const auto& a = spec["resourceAttributes"];
  return a.HasMember(key) ? a[key].GetString() : "";
}

agent::Requester alice() { return {"alice", "u-1", {"dev", "system:authenticated"}, {{"scopes", {"a"}}}}; }

void scriptPod(Api& api) {
  api.on("/api/v1/namespaces/shop/pods/web-1",
         R"({"metadata":{"name":"web-1"},"spec":{"containers":[{"name":"app"}]},
             "status":{"containerStatuses":[{"name":"app","restartCount":3,"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}})");
  api.on("/api/v1/namespaces/shop/pods/web-1/log", "password rotated; connecting to db.shop:5432 failed\n");
}

agent::ToolOutput runTool(Api& api, const std::string& tool, const std::string& args,
                          std::optional<agent::Requester> who, std::shared_ptr<tools::AccessReviewer> reviewer) {
  agent::ToolRegistry registry;
  tools::ToolSettings settings;
  settings.access = std::move(reviewer);
  tools::registerBuiltinTools(registry, api.client(), settings);
  rapidjson::Document d;
  d.Parse(args.c_str());
  agent::ToolContext ctx{"shop", std::chrono::steady_clock::now() + std::chrono::seconds(10), std::move(who)};
  return registry.find(tool)->run(ctx, d);
}

}  // namespace

TEST(AccessReview, AsksForTheExactVerbResourceSubresourceNameAndIdentity) {
  Api api;
  scriptPod(api);
  std::vector<std::string> asked;
  api.decide = [&](const rapidjson::Value& spec) {
    asked.push_back(attr(spec, "verb") + " " + attr(spec, "resource") + "/" + attr(spec, "subresource") + " " +
                    attr(spec, "namespace") + "/" + attr(spec, "name"));
    return true;
  };
  auto reviewer = std::make_shared<tools::AccessReviewer>(api.client());
  auto out = runTool(api, "get_pod_logs", R"({"pod":"web-1"})", alice(), reviewer);
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_THAT(asked, ::testing::ElementsAre("get pods/ shop/web-1", "get pods/log shop/web-1"));
  rapidjson::Document sar;
  sar.Parse(api.lastSar().c_str());
  EXPECT_STREQ(sar["kind"].GetString(), "SubjectAccessReview");
  EXPECT_STREQ(sar["spec"]["user"].GetString(), "alice");
  EXPECT_STREQ(sar["spec"]["uid"].GetString(), "u-1");
  EXPECT_EQ(sar["spec"]["groups"].Size(), 2u);
  EXPECT_STREQ(sar["spec"]["extra"]["scopes"][0].GetString(), "a");
  // The review is the operator's own request: never impersonating anyone.
  EXPECT_EQ(out.apiRequests, 4);  // 2 reviews, the pod, its log
}

TEST(AccessReview, ARefusedLogReadIsEvidenceNamingTheMissingPermissionAndIsNeverMade) {
  Api api;
  scriptPod(api);
  api.decide = [](const rapidjson::Value& spec) { return attr(spec, "subresource") != "log"; };
  auto reviewer = std::make_shared<tools::AccessReviewer>(api.client());
  auto out = runTool(api, "get_pod_logs", R"({"pod":"web-1"})", alice(), reviewer);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.errorReason, "Forbidden");
  ASSERT_EQ(out.evidence.size(), 1u);
  EXPECT_THAT(out.evidence[0].text, HasSubstr("alice, who asked for this run, may not get pods/log \"web-1\" in namespace shop"));
  EXPECT_THAT(out.summary + out.evidence[0].text, Not(HasSubstr("connecting to db")));
  for (const auto& t : api.targets()) EXPECT_THAT(t, Not(HasSubstr("/log"))) << "the log was requested";
}

TEST(AccessReview, DecisionsAreSharedByOneIdentityWithinTheirTtlAndBounded) {
  Api api;
  scriptPod(api);
  tools::AccessReviewer::Options o;
  o.maxEntries = 3;
  auto reviewer = std::make_shared<tools::AccessReviewer>(api.client(), o);
  ASSERT_TRUE(runTool(api, "get_pod_logs", R"({"pod":"web-1"})", alice(), reviewer).ok);
  EXPECT_EQ(api.sars(), 2);
  ASSERT_TRUE(runTool(api, "get_pod_logs", R"({"pod":"web-1"})", alice(), reviewer).ok);
  EXPECT_EQ(api.sars(), 2) << "the same run re-reading the pod reuses its decisions";
  ASSERT_TRUE(runTool(api, "get_pod_logs", R"({"pod":"web-1"})", alice(), reviewer).ok);
  EXPECT_EQ(api.sars(), 2) << "alice's next run reuses the decisions while they are fresh (as the API server's "
                              "webhook authorizer does)";
  // Another identity never gets alice's decision; nor does alice with other
  // groups (the whole identity is the key).
  agent::Requester bob{"bob", "", {"system:authenticated"}, {}};
  ASSERT_TRUE(runTool(api, "get_pod_logs", R"({"pod":"web-1"})", bob, reviewer).ok);
  EXPECT_EQ(api.sars(), 4);
  agent::Requester aliceElsewhere = alice();
  aliceElsewhere.groups.push_back("admins");
  ASSERT_TRUE(runTool(api, "get_pod_logs", R"({"pod":"web-1"})", aliceElsewhere, reviewer).ok);
  EXPECT_EQ(api.sars(), 6);
  // Bounded: 3 entries at most, so alice's first decisions were dropped.
  ASSERT_TRUE(runTool(api, "get_pod_logs", R"({"pod":"web-1"})", alice(), reviewer).ok);
  EXPECT_GT(api.sars(), 6);
}

TEST(AccessReview, ADecisionPastItsTtlIsAskedAgain) {
  Api api;
  scriptPod(api);
  tools::AccessReviewer::Options o;
  o.ttl = std::chrono::milliseconds(0);  // every decision stale at once: a revoked right is seen at once
  auto reviewer = std::make_shared<tools::AccessReviewer>(api.client(), o);
  ASSERT_TRUE(runTool(api, "get_pod_logs", R"({"pod":"web-1"})", alice(), reviewer).ok);
  ASSERT_TRUE(runTool(api, "get_pod_logs", R"({"pod":"web-1"})", alice(), reviewer).ok);
  EXPECT_EQ(api.sars(), 4);
}

TEST(AccessReview, AReviewThatFailsRefusesTheRead) {
  Api api;
  scriptPod(api);
  api.sarStatus = 500;
  auto reviewer = std::make_shared<tools::AccessReviewer>(api.client());
  auto out = runTool(api, "get_pod_logs", R"({"pod":"web-1"})", alice(), reviewer);
  EXPECT_FALSE(out.ok);
  EXPECT_THAT(out.summary, HasSubstr("could not check whether alice, who asked for this run, may get pods \"web-1\""));
  for (const auto& t : api.targets()) EXPECT_THAT(t, Not(HasSubstr("/pods/web-1"))) << t;
}

TEST(AccessReview, ARunWithARequesterButNoReviewerReadsNothing) {
  Api api;
  scriptPod(api);
  auto out = runTool(api, "get_pod_logs", R"({"pod":"web-1"})", alice(), nullptr);
  EXPECT_FALSE(out.ok);
  EXPECT_TRUE(api.targets().empty());
}

TEST(AccessReview, WithoutARequesterOnlyTheReaderDecides) {
  Api api;
  scriptPod(api);
  auto reviewer = std::make_shared<tools::AccessReviewer>(api.client());
  auto out = runTool(api, "get_pod_logs", R"({"pod":"web-1"})", std::nullopt, reviewer);
  EXPECT_TRUE(out.ok);
  EXPECT_EQ(api.sars(), 0);
}

TEST(AccessReview, AListIsReviewedAsAListOfTheNamespace) {
  Api api;
  api.on("/api/v1/namespaces/shop/events", R"({"kind":"EventList","metadata":{},"items":[]})");
  std::string verb;
  api.decide = [&](const rapidjson::Value& spec) {
    verb = attr(spec, "verb") + " " + attr(spec, "resource") + " " + attr(spec, "namespace") + " [" + attr(spec, "name") + "]";
    return false;
  };
  auto reviewer = std::make_shared<tools::AccessReviewer>(api.client());
  auto out = runTool(api, "get_events", R"({})", alice(), reviewer);
  EXPECT_EQ(verb, "list events shop []");
  EXPECT_FALSE(out.ok);
  EXPECT_THAT(out.summary, HasSubstr("alice, who asked for this run, may not list events in namespace shop"));
}

// --- spec.requester and the policy that vouches for it ---------------------

namespace {

const char* kBinding = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicybindings/opscopilot-diagnosticrun-requester";
const char* kPolicy = "/apis/admissionregistration.k8s.io/v1/validatingadmissionpolicies/opscopilot-diagnosticrun-requester";

std::string binding(const std::string& created, const std::string& actions = R"(["Deny"])",
                    const std::string& matchResources = R"({"namespaceSelector":{},"objectSelector":{},"matchPolicy":"Equivalent"})") {
  return R"({"metadata":{"name":"opscopilot-diagnosticrun-requester","creationTimestamp":")" + created +
         R"("},"spec":{"policyName":"opscopilot-diagnosticrun-requester","validationActions":)" + actions +
         R"(,"matchResources":)" + matchResources + "}}";
}

std::string policy(const std::string& created, const std::string& failure = "Fail",
                   const std::string& resources = R"(["diagnosticruns"])") {
  return R"({"metadata":{"name":"opscopilot-diagnosticrun-requester","creationTimestamp":")" + created +
         R"("},"spec":{"failurePolicy":")" + failure +
         R"(","matchConstraints":{"namespaceSelector":{},"objectSelector":{},"resourceRules":[{"apiGroups":["opscopilot.io"],"apiVersions":["*"],"operations":["CREATE"],"resources":)" +
         resources + "}]}}}";
}

kube::ObjectPtr run(const std::string& created, bool withRequester = true) {
  std::string req = withRequester ? R"(,"requester":{"username":"alice","uid":"u-1","groups":["dev","system:authenticated"],"extra":{"scopes":["a"]}})" : "";
  auto o = kube::Object::parse(R"({"metadata":{"name":"r","namespace":"shop","uid":"run-1","creationTimestamp":")" + created +
                               R"("},"spec":{"question":"why?")" + req + "}}");
  return *o;
}

}  // namespace

TEST(Requester, ReadFromTheSpecWithGroupsUidAndExtra) {
  auto r = controller::requesterFrom(*run("2026-01-01T00:00:10Z"));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, alice());
  EXPECT_EQ(controller::describeRequester(*r), "alice (groups: dev, system:authenticated)");
  EXPECT_FALSE(controller::requesterFrom(*run("2026-01-01T00:00:10Z", false)));
}

TEST(RequesterPolicy, TrustedOnlyForRunsCreatedWhileTheDenyingPolicyWasInForce) {
  Api api;
  api.on(kBinding, binding("2026-01-01T00:00:00Z"));
  api.on(kPolicy, policy("2026-01-01T00:00:01Z"));
  controller::RequesterPolicy p(api.client(), "opscopilot-diagnosticrun-requester");
  EXPECT_TRUE(p.check(*run("2026-01-01T00:00:10Z")).trusted);
  auto early = p.check(*run("2026-01-01T00:00:02Z"));
  EXPECT_FALSE(early.trusted);
  EXPECT_THAT(early.why, HasSubstr("created before"));
  auto missing = p.check(*run("2026-01-01T00:00:10Z", false));
  EXPECT_FALSE(missing.trusted);
  EXPECT_THAT(missing.why, HasSubstr("no spec.requester"));
}

TEST(RequesterPolicy, AMissingWeakenedOrNarrowedPolicyIsNotTrusted) {
  struct Case {
    std::string name, bindingBody, policyBody, why;
  };
  const std::string t = "2026-01-01T00:00:00Z";
  std::vector<Case> cases = {
      {"no binding", "", policy(t), "is not installed"},
      {"warn only", binding(t, R"(["Warn","Audit"])"), policy(t), "lacks Deny"},
      {"namespace selector", binding(t, R"(["Deny"])", R"({"namespaceSelector":{"matchLabels":{"x":"y"}}})"),
       policy(t), "namespaceSelector"},
      {"no policy", binding(t), "", "is not installed"},
      {"ignore", binding(t), policy(t, "Ignore"), "failurePolicy Ignore"},
      {"other resource", binding(t), policy(t, "Fail", R"(["approvalrequests"])"), "does not match"},
  };
  for (const auto& c : cases) {
    Api api;
    if (!c.bindingBody.empty()) api.on(kBinding, c.bindingBody);
    if (!c.policyBody.empty()) api.on(kPolicy, c.policyBody);
    controller::RequesterPolicy p(api.client(), "opscopilot-diagnosticrun-requester");
    auto v = p.check(*run("2026-01-01T00:10:00Z"));
    EXPECT_FALSE(v.trusted) << c.name;
    EXPECT_FALSE(v.transient) << c.name;
    EXPECT_THAT(v.why, HasSubstr(c.why)) << c.name;
  }
}

TEST(RequesterPolicy, AnUnreadablePolicyIsTransientAndNotCached) {
  Api api;
  api.on(kBinding, statusJson(500, "InternalError"), 500);
  controller::RequesterPolicy p(api.client(), "opscopilot-diagnosticrun-requester", std::chrono::hours(1));
  auto v = p.check(*run("2026-01-01T00:10:00Z"));
  EXPECT_FALSE(v.trusted);
  EXPECT_TRUE(v.transient);
  api.on(kBinding, binding("2026-01-01T00:00:00Z"));
  api.on(kPolicy, policy("2026-01-01T00:00:00Z"));
  EXPECT_TRUE(p.check(*run("2026-01-01T00:10:00Z")).trusted);
}

TEST(RequesterPolicy, ReadAtMostOncePerTtl) {
  Api api;
  api.on(kBinding, binding("2026-01-01T00:00:00Z"));
  api.on(kPolicy, policy("2026-01-01T00:00:00Z"));
  controller::RequesterPolicy p(api.client(), "opscopilot-diagnosticrun-requester", std::chrono::hours(1));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(p.check(*run("2026-01-01T00:10:00Z")).trusted);
  EXPECT_EQ(api.targets().size(), 2u);
}

TEST(OperatorConfigRequester, DefaultsToRefuseAndAcceptsReaderOnlyExplicitly) {
  auto d = controller::parseOperatorConfig("workers: 2\n", "t");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->whenRequesterUnverified, controller::OperatorConfig::WhenUnverified::Refuse);
  EXPECT_EQ(d->requesterPolicyBinding, "opscopilot-diagnosticrun-requester");
  auto r = controller::parseOperatorConfig("requester:\n  whenUnverified: ReaderOnly\n  policyBinding: mine\n", "t");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->whenRequesterUnverified, controller::OperatorConfig::WhenUnverified::ReaderOnly);
  EXPECT_EQ(r->requesterPolicyBinding, "mine");
  auto bad = controller::parseOperatorConfig("requester:\n  whenUnverified: Sometimes\n", "t");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("requester.whenUnverified must be Refuse or ReaderOnly"));
  auto unknown = controller::parseOperatorConfig("requester:\n  trustEveryone: true\n", "t");
  ASSERT_FALSE(unknown.ok());
  EXPECT_THAT(unknown.error().message, HasSubstr("trustEveryone"));
}
