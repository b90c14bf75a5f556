// The built-in tools against a scripted API server: scope (impersonation,
// namespace), failures as evidence, and the data shapes of tools/README.md.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <map>
#include <mutex>

#include "analysis_harness.h"
#include "fake_transport.h"
#include "agent/graph.h"
#include "operator/kube/object.h"
#include "tools/builtin_tools.h"
#include "tools/tool_factories.h"
#include "tools/recent_objects.h"

using namespace opscopilot;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

constexpr const char* kReader = "system:serviceaccount:shop:opscopilot-reader";

std::string status(int code, const std::string& reason, const std::string& message) {
  return R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":")" + reason + R"(","message":")" +
         message + R"(","code":)" + std::to_string(code) + "}";
}

std::string list(const std::string& kind, const std::vector<std::string>& items) {
  std::string s = R"({"kind":")" + kind + R"(List","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[)";
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? "," : "") + items[i];
  return s + "]}";
}

std::string paramOf(const std::string& target, const std::string& key) {
  auto q = target.find('?');
  if (q == std::string::npos) return {};
  auto p = target.find(key + "=", q);
  if (p == std::string::npos) return {};
  auto e = target.find('&', p);
  return target.substr(p + key.size() + 1, e == std::string::npos ? std::string::npos : e - p - key.size() - 1);
}

// A pod: state "ok" (running, ready), "crash" (CrashLoopBackOff), "pending"
// (unschedulable), "notready".
std::string pod(const std::string& name, const std::string& state, int restarts = 0) {
  std::string containerStatus, phase = "Running", ready = "True", extraCond;
  if (state == "ok") {
    containerStatus = R"({"name":"app","ready":true,"restartCount":)" + std::to_string(restarts) +
                      R"(,"image":"ghcr.io/x/app:1","state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}})";
  } else if (state == "crash") {
    ready = "False";
    containerStatus = R"({"name":"app","ready":false,"restartCount":)" + std::to_string(restarts) +
                      R"(,"image":"ghcr.io/x/app:1","state":{"waiting":{"reason":"CrashLoopBackOff","message":"back-off 5m0s restarting failed container=app"}},
        "lastState":{"terminated":{"exitCode":1,"reason":"Error","finishedAt":"2026-01-01T00:05:00Z"}}})";
  } else if (state == "notready") {
    ready = "False";
    containerStatus = R"({"name":"app","ready":false,"restartCount":0,"image":"ghcr.io/x/app:1","state":{"running":{"startedAt":"2026-01-01T00:00:00Z"}}})";
  } else {
    phase = "Pending";
    ready = "";
    extraCond = R"({"type":"PodScheduled","status":"False","reason":"Unschedulable","message":"0/2 nodes are available: 2 Insufficient cpu."})";
  }
  std::string conds = extraCond;
  if (!ready.empty()) conds = R"({"type":"Ready","status":")" + ready + R"("})";
  return R"({"metadata":{"name":")" + name + R"(","namespace":"shop","uid":"uid-)" + name +
         R"(","labels":{"app":"checkout"},
      "annotations":{"sim.opscopilot.io/state":"x","kubectl.kubernetes.io/last-applied-configuration":"{big}"},
      "managedFields":[{"manager":"kubectl"}]},
    "spec":{)" + (phase == "Pending" ? std::string() : R"("nodeName":"kwok-node-1",)") +
         R"("containers":[{"name":"app","image":"ghcr.io/x/app:1"}]},
    "status":{"phase":")" + phase + R"(","conditions":[)" + conds + R"(])" +
         (containerStatus.empty() ? std::string() : R"(,"containerStatuses":[)" + containerStatus + "]") + "}}";
}

// A scripted API server: answers by path and query when a route names both,
// else by path, 404 for anything unscripted, and records every request.
class FakeApi {
 public:
  FakeApi() {
    transport_->onRoundTrip = [this](const net::HttpRequest& r) {
      std::lock_guard l(mu_);
      if (auto seq = sequences_.find(r.target); seq != sequences_.end() && !seq->second.empty()) {
        auto body = seq->second.front();
        if (seq->second.size() > 1) seq->second.erase(seq->second.begin());
        return net::Result<net::HttpResponse>(net::HttpResponse{200, {}, body});
      }
      auto it = routes_.find(r.target);
      if (it == routes_.end()) it = routes_.find(r.target.substr(0, r.target.find('?')));
      const auto& path = r.target;
      if (it == routes_.end()) {
        return net::Result<net::HttpResponse>(net::HttpResponse{404, {}, status(404, "NotFound", path + " not found")});
      }
      return net::Result<net::HttpResponse>(net::HttpResponse{it->second.first, {}, it->second.second});
    };
    kube::ClientConfig cfg;
    cfg.server = "https://fake.invalid:6443";
    client_ = std::make_shared<kube::Client>(cfg, transport_);
  }

  void on(const std::string& path, const std::string& body, int code = 200) {
    std::lock_guard l(mu_);
    routes_[path] = {code, body};
  }
  // Answers the exact target with these bodies in turn, then the last again.
  void onSequence(const std::string& target, std::vector<std::string> bodies) {
    std::lock_guard l(mu_);
    sequences_[target] = std::move(bodies);
  }
  void forbid(const std::string& path, const std::string& resource) {
    on(path,
       status(403, "Forbidden",
              resource + " is forbidden: User \\\"" + std::string(kReader) + "\\\" cannot list resource \\\"" +
                  resource + "\\\" in API group \\\"\\\" in the namespace \\\"shop\\\""),
       403);
  }

  agent::ToolOutput run(const std::string& tool, const std::string& args, const std::string& ns = "shop",
                        tools::ToolSettings settings = {}, std::shared_ptr<agent::RunScratch> scratch = nullptr) {
    if (registry_.specs().empty() || settings.readerUser != tools::ToolSettings{}.readerUser) {
      registry_ = agent::ToolRegistry{};
      tools::registerBuiltinTools(registry_, client_, settings);
    }
    auto* t = registry_.find(tool);
    EXPECT_NE(t, nullptr) << tool;
    if (!t) return {};
    rapidjson::Document d;
    d.Parse(args.c_str());
    agent::ToolContext ctx{ns, std::chrono::steady_clock::now() + std::chrono::seconds(10)};
    ctx.scratch = std::move(scratch);
    return t->run(ctx, d);
  }

  // The tool's read ahead (Tool::warmUp), into scratch; its requests.
  int warmUp(const std::string& tool, std::shared_ptr<agent::RunScratch> scratch, const std::string& ns = "shop",
             tools::ToolSettings settings = {}) {
    registry_ = agent::ToolRegistry{};
    tools::registerBuiltinTools(registry_, client_, settings);
    agent::ToolContext ctx{ns, std::chrono::steady_clock::now() + std::chrono::seconds(10)};
    ctx.scratch = std::move(scratch);
    return registry_.find(tool)->warmUp(ctx);
  }

  std::vector<net::HttpRequest> requests() { return transport_->requests(); }
  std::shared_ptr<kube::Client> client() { return client_; }

 private:
  std::mutex mu_;
  std::map<std::string, std::pair<int, std::string>> routes_;
  std::map<std::string, std::vector<std::string>> sequences_;
  std::shared_ptr<test::FakeTransport> transport_ = std::make_shared<test::FakeTransport>();
  std::shared_ptr<kube::Client> client_;
  agent::ToolRegistry registry_;
};

std::string serialized(const agent::ToolOutput& out) { return out.data ? kube::serializeJson(*out.data) : ""; }

std::string allText(const agent::ToolOutput& out) {
  std::string s = out.summary + "\n" + serialized(out);
  for (const auto& e : out.evidence) s += "\n" + e.ref + "\n" + e.text;
  return s;
}

std::vector<std::string> namesIn(const rapidjson::Value& arr) {
  std::vector<std::string> names;
  for (const auto& v : arr.GetArray()) names.emplace_back(v["metadata"]["name"].GetString());
  return names;
}

std::vector<std::string> refsOf(const agent::ToolOutput& out) {
  std::vector<std::string> refs;
  for (const auto& e : out.evidence) refs.push_back(e.ref);
  return refs;
}

// A namespace with a bit of everything, for the scope tests.
void scriptShop(FakeApi& api) {
  api.on("/api/v1/namespaces/shop/pods", list("Pod", {pod("checkout-1", "crash", 6), pod("checkout-2", "ok")}));
  api.on("/api/v1/namespaces/shop/pods/checkout-1", pod("checkout-1", "crash", 6));
  api.on("/api/v1/namespaces/shop/pods/checkout-1/log", "boom\n");
  api.on("/apis/apps/v1/namespaces/shop/deployments/checkout",
         R"({"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"checkout","uid":"d1"},
             "spec":{"replicas":2,"selector":{"matchLabels":{"app":"checkout"}}},"status":{"readyReplicas":1}})");
  api.on("/apis/apps/v1/namespaces/shop/replicasets", list("ReplicaSet", {}));
  api.on("/api/v1/namespaces/shop/events", list("Event", {}));
  api.on("/api/v1/namespaces/shop/services/checkout",
         R"({"kind":"Service","metadata":{"name":"checkout"},"spec":{"selector":{"app":"checkout"},"ports":[{"port":80,"targetPort":8080}]}})");
  api.on("/api/v1/namespaces/shop/configmaps/app", R"({"kind":"ConfigMap","metadata":{"name":"app"},"data":{"k":"v"}})");
}

}  // namespace

TEST(BuiltinTools, RegistersEveryToolWithASchemaTimeoutAndLimit) {
  agent::ToolRegistry registry;
  FakeApi api;
  tools::registerBuiltinTools(registry, api.client(), {});
  std::vector<std::string> names;
  for (const auto* s : registry.specs()) {
    names.push_back(s->name);
    rapidjson::Document schema;
    schema.Parse(s->argsSchema.c_str());
    ASSERT_FALSE(schema.HasParseError()) << s->name;
    EXPECT_STREQ(schema["type"].GetString(), "object") << s->name;
    EXPECT_TRUE(schema["properties"].IsObject()) << s->name;
    EXPECT_FALSE(schema["additionalProperties"].GetBool()) << s->name;
    EXPECT_FALSE(s->description.empty());
    EXPECT_GT(s->timeout.count(), 0);
    EXPECT_GT(s->maxOutputBytes, 0u);
    EXPECT_EQ(s->gated, s->name == "read_configmap_data" || s->action) << s->name;
    EXPECT_EQ(s->action, s->name == "notify" || s->name == "create_ticket") << s->name;
  }
  EXPECT_THAT(names, ::testing::UnorderedElementsAre("get_workload", "list_pods", "get_events", "get_pod_logs",
                                                     "get_service", "get_storage", "get_config_refs", "get_quotas",
                                                     "get_hpa", "get_ingress", "get_nodes", "search_logs",
                                                     "search_runbooks", "recall_past_runs", "recall_previous_run", "query_metrics",
                                                     "read_configmap_data", "notify", "create_ticket"));
  EXPECT_EQ(registry.find("read_configmap_data")->spec().risk, "Medium");
}

TEST(BuiltinTools, EveryRequestImpersonatesTheNamespaceReaderAndStaysInTheNamespace) {
  FakeApi api;
  scriptShop(api);
  EXPECT_TRUE(api.run("list_pods", R"({"selector":"app=checkout"})").ok);
  EXPECT_TRUE(api.run("get_workload", R"({"kind":"Deployment","name":"checkout"})").ok);
  EXPECT_TRUE(api.run("get_events", R"({"kind":"Pod","name":"checkout-1"})").ok);
  EXPECT_TRUE(api.run("get_pod_logs", R"({"pod":"checkout-1"})").ok);
  EXPECT_TRUE(api.run("get_service", R"({"name":"checkout"})").ok);
  EXPECT_TRUE(api.run("get_config_refs", R"({"configMaps":["app"],"secrets":["db"]})").ok);
  (void)api.run("get_quotas", "{}");
  (void)api.run("get_hpa", "{}");
  (void)api.run("get_ingress", "{}");
  (void)api.run("get_storage", "{}");
  (void)api.run("read_configmap_data", R"({"name":"app"})");
  auto reqs = api.requests();
  ASSERT_GT(reqs.size(), 12u);
  for (const auto& r : reqs) {
    EXPECT_EQ(test::headerOf(r, "Impersonate-User"), kReader) << r.target;
    EXPECT_EQ(r.method, "GET") << r.target;
    EXPECT_THAT(r.target, HasSubstr("/namespaces/shop/")) << r.target;
    EXPECT_GT(r.timeout.count(), 0);
    EXPECT_LE(r.timeout.count(), 10000);
  }
}

TEST(BuiltinTools, ReaderIdentityComesFromSettingsWithTheNamespaceFilledIn) {
  FakeApi api;
  scriptShop(api);
  tools::ToolSettings s;
  s.readerUser = "reader@{namespace}";
  s.readerGroups = {"readers:{namespace}"};
  EXPECT_TRUE(api.run("list_pods", "{}", "shop", s).ok);
  auto r = api.requests().back();
  EXPECT_EQ(test::headerOf(r, "Impersonate-User"), "reader@shop");
  EXPECT_EQ(test::headerOf(r, "Impersonate-Group"), "readers:shop");
}

TEST(BuiltinTools, InvalidNamespaceOrNamesMakeNoRequest) {
  FakeApi api;
  auto out = api.run("list_pods", "{}", "../kube-system");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.errorReason, "InvalidArgs");
  out = api.run("get_service", R"({"name":"../../secrets/x"})");
  EXPECT_EQ(out.errorReason, "InvalidArgs");
  out = api.run("get_workload", R"({"kind":"Deployment"})");
  EXPECT_EQ(out.errorReason, "InvalidArgs");
  EXPECT_THAT(out.summary, HasSubstr("\"name\" is required"));
  out = api.run("get_workload", R"({"kind":"Secret","name":"x"})");
  EXPECT_EQ(out.errorReason, "InvalidArgs");
  out = api.run("get_pod_logs", "{}");
  EXPECT_EQ(out.errorReason, "InvalidArgs");
  out = api.run("get_config_refs", "{}");
  EXPECT_EQ(out.errorReason, "InvalidArgs");
  EXPECT_EQ(out.evidence.size(), 1u);
  EXPECT_TRUE(api.requests().empty());
}

TEST(BuiltinTools, ForbiddenBecomesOkFalseWithAPlainEvidenceItem) {
  FakeApi api;
  api.forbid("/api/v1/namespaces/shop/pods", "pods");
  auto out = api.run("list_pods", R"({"selector":"app=checkout"})");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.errorReason, "Forbidden");
  ASSERT_EQ(out.evidence.size(), 1u);
  EXPECT_EQ(out.evidence[0].ref, "Pod/*");
  EXPECT_EQ(out.evidence[0].text,
            "forbidden: the reader identity system:serviceaccount:shop:opscopilot-reader cannot list pods in "
            "namespace shop");
  ASSERT_TRUE(out.data);
  EXPECT_TRUE((*out.data)["items"].IsArray());
}

TEST(BuiltinTools, MissingImpersonationRightIsToldApart) {
  FakeApi api;
  api.on("/apis/apps/v1/namespaces/shop/deployments/web",
         status(403, "Forbidden",
                "serviceaccounts \\\"opscopilot-reader\\\" is forbidden: User \\\"opscopilot\\\" cannot impersonate "
                "resource \\\"serviceaccounts\\\" in API group \\\"\\\" in the namespace \\\"shop\\\""),
         403);
  auto out = api.run("get_workload", R"({"kind":"Deployment","name":"web"})");
  EXPECT_EQ(out.errorReason, "Forbidden");
  EXPECT_THAT(out.evidence[0].text, HasSubstr("the operator may not impersonate the reader identity"));
  EXPECT_EQ(out.evidence[0].ref, "Deployment/web");
}

TEST(BuiltinTools, PassedDeadlineIsATimeoutWithoutARequest) {
  FakeApi api;
  agent::ToolRegistry registry;
  tools::registerBuiltinTools(registry, api.client(), {});
  rapidjson::Document args;
  args.Parse("{}");
  auto out = registry.find("list_pods")->run({"shop", std::chrono::steady_clock::now() - std::chrono::seconds(1)}, args);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.errorReason, "Timeout");
  EXPECT_TRUE(api.requests().empty());
}

TEST(ListPods, UnhealthyPodsComeFirstAndTheSummaryNamesThem) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/pods",
         list("Pod", {pod("a-ok", "ok"), pod("b-pending", "pending"), pod("c-crash", "crash", 6),
                      pod("d-notready", "notready"), pod("e-crash", "crash", 9)}));
  auto out = api.run("list_pods", R"json({"selector":"app=checkout,tier in (web)"})json");
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_EQ(paramOf(api.requests()[0].target, "labelSelector"), "app%3Dcheckout%2Ctier%20in%20%28web%29");
  EXPECT_THAT(namesIn((*out.data)["items"]),
              ::testing::ElementsAre("e-crash", "c-crash", "b-pending", "d-notready", "a-ok"));
  EXPECT_THAT(refsOf(out), ::testing::ElementsAre("Pod/e-crash", "Pod/c-crash", "Pod/b-pending", "Pod/d-notready",
                                                  "Pod/a-ok"));
  EXPECT_EQ(out.summary,
            "5 pods, 4 not ready: e-crash CrashLoopBackOff, c-crash CrashLoopBackOff, b-pending Unschedulable "
            "(+1 more)");
  const auto& crash = out.evidence[0].text;
  EXPECT_THAT(crash, HasSubstr("Pod e-crash (node kwok-node-1): phase Running, Ready False"));
  EXPECT_THAT(crash, HasSubstr("container app: waiting CrashLoopBackOff \"back-off 5m0s restarting failed container=app\""));
  EXPECT_THAT(crash, HasSubstr("last terminated exit 1 (Error) at 2026-01-01T00:05:00Z"));
  EXPECT_THAT(crash, HasSubstr("restarts 9; image ghcr.io/x/app:1"));
  EXPECT_THAT(out.evidence[2].text, HasSubstr("(not scheduled)"));
  EXPECT_THAT(out.evidence[2].text, HasSubstr("condition PodScheduled False (Unschedulable): \"0/2 nodes"));
}

TEST(ListPods, ObjectsAreTrimmedToTheContract) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/pods", list("Pod", {pod("a", "ok")}));
  auto out = api.run("list_pods", "{}");
  ASSERT_TRUE(out.ok);
  const auto& item = (*out.data)["items"][0];
  EXPECT_FALSE(item["metadata"].HasMember("managedFields"));
  EXPECT_TRUE(item["metadata"]["annotations"].HasMember("sim.opscopilot.io/state"));
  EXPECT_FALSE(item["metadata"]["annotations"].HasMember("kubectl.kubernetes.io/last-applied-configuration"));
  EXPECT_STREQ(item["kind"].GetString(), "Pod");  // filled in from the list
  EXPECT_EQ(out.summary, "1 pod, all ready");
}

TEST(ListPods, NamesFilterAndReportMissingOnes) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/pods", list("Pod", {pod("a", "ok"), pod("b", "ok")}));
  auto out = api.run("list_pods", R"({"names":["b","zz"]})");
  ASSERT_TRUE(out.ok);
  EXPECT_THAT(namesIn((*out.data)["items"]), ::testing::ElementsAre("b"));
  EXPECT_THAT(refsOf(out), ::testing::ElementsAre("Pod/zz", "Pod/b"));
  EXPECT_THAT(out.evidence[0].text, HasSubstr("not found: Pod zz does not exist in namespace shop"));
}

TEST(ListPods, EvidenceIsCappedAtTwelveAndLimitCapsData) {
  FakeApi api;
  std::vector<std::string> pods;
  for (int i = 0; i < 20; ++i) pods.push_back(pod("p" + std::to_string(100 + i), "ok"));
  api.on("/api/v1/namespaces/shop/pods", list("Pod", pods));
  auto out = api.run("list_pods", R"({"limit":15})");
  EXPECT_EQ(out.evidence.size(), 12u);
  EXPECT_EQ((*out.data)["items"].Size(), 15u);
  EXPECT_THAT(out.summary, HasSubstr("(showing 15 of 20)"));
}

TEST(GetWorkload, DeploymentComesWithItsReplicaSetsNewestFirst) {
  FakeApi api;
  api.on("/apis/apps/v1/namespaces/shop/deployments/checkout",
         R"({"kind":"Deployment","apiVersion":"apps/v1","metadata":{"name":"checkout","uid":"d1",
               "annotations":{"deployment.kubernetes.io/revision":"2","other":"x"}},
             "spec":{"replicas":3,"selector":{"matchLabels":{"app":"checkout"}},
               "template":{"spec":{"containers":[{"name":"app","image":"ghcr.io/x/app:2",
                 "envFrom":[{"secretRef":{"name":"db"}}],"resources":{"limits":{"memory":"128Mi"}}}]}}},
             "status":{"replicas":3,"readyReplicas":1,"availableReplicas":1,"unavailableReplicas":2,"updatedReplicas":3,
               "conditions":[{"type":"Available","status":"False","reason":"MinimumReplicasUnavailable","message":"Deployment does not have minimum availability."}]}})");
  auto rs = [](const std::string& name, const std::string& owner, int rev) {
    return R"({"metadata":{"name":")" + name + R"(","ownerReferences":[{"kind":"Deployment","name":"checkout","uid":")" +
           owner + R"("}],"annotations":{"deployment.kubernetes.io/revision":")" + std::to_string(rev) +
           R"("}},"spec":{"replicas":1},"status":{"replicas":1,"readyReplicas":0}})";
  };
  api.on("/apis/apps/v1/namespaces/shop/replicasets",
         list("ReplicaSet", {rs("checkout-old", "d1", 1), rs("someone-else", "d9", 7), rs("checkout-new", "d1", 2)}));
  auto out = api.run("get_workload", R"({"kind":"Deployment","name":"checkout"})");
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_EQ(paramOf(api.requests()[1].target, "labelSelector"), "app%3Dcheckout");
  const auto& d = *out.data;
  EXPECT_EQ(d["items"].Size(), 1u);
  EXPECT_THAT(namesIn(d["replicaSets"]), ::testing::ElementsAre("checkout-new", "checkout-old"));
  EXPECT_TRUE(d["jobs"].IsArray());
  EXPECT_FALSE(d["items"][0]["metadata"]["annotations"].HasMember("other"));
  EXPECT_THAT(refsOf(out), ::testing::ElementsAre("Deployment/checkout", "ReplicaSet/checkout-new", "ReplicaSet/checkout-old"));
  EXPECT_THAT(out.evidence[0].text, HasSubstr("Deployment checkout: 3 desired, 3 updated, 1 ready, 1 available, 2 unavailable; revision 2"));
  EXPECT_THAT(out.evidence[0].text, HasSubstr("condition Available False (MinimumReplicasUnavailable)"));
  EXPECT_THAT(out.evidence[0].text, HasSubstr("container app: image ghcr.io/x/app:2; limits memory 128Mi"));
  EXPECT_THAT(out.evidence[0].text, HasSubstr("refers to secret db"));
  EXPECT_EQ(out.summary, "Deployment checkout: 1/3 ready, Available False (MinimumReplicasUnavailable); 2 ReplicaSets");
}

// The Deployment and ReplicaSets of a stuck rollout as the API server serves
// them (the controller's annotations, list items without kind): what the
// tool puts in data is enough for the analyzer to name both revisions.
TEST(GetWorkload, StuckRolloutReachesTheAnalyzerWithRevisionsImagesAndReadyReplicas) {
  rapidjson::Document fixture;
  fixture.Parse(analyzer_test::readFixture("deployment_rollout_stuck.json").c_str());
  ASSERT_FALSE(fixture.HasParseError());
  auto& a = fixture.GetAllocator();
  auto toJson = [](const rapidjson::Value& v) {
    rapidjson::StringBuffer buf;
    rapidjson::Writer<rapidjson::StringBuffer> w(buf);
    v.Accept(w);
    return std::string(buf.GetString(), buf.GetSize());
  };
  auto& deployment = fixture["items"][0];
  deployment["metadata"]["annotations"].AddMember("kubectl.kubernetes.io/last-applied-configuration", "{\"big\":true}", a);
  std::vector<std::string> replicaSets;
  for (auto& rs : fixture["replicaSets"].GetArray()) {
    rs.RemoveMember("kind");
    rs.RemoveMember("apiVersion");
    rs["metadata"]["annotations"].AddMember("deployment.kubernetes.io/desired-replicas", "3", a);
    rs["metadata"]["annotations"].AddMember("deployment.kubernetes.io/max-replicas", "4", a);
    replicaSets.insert(replicaSets.begin(), toJson(rs));  // oldest first, as a list may come
  }
  FakeApi api;
  api.on("/apis/apps/v1/namespaces/shop/deployments/web", toJson(deployment));
  api.on("/apis/apps/v1/namespaces/shop/replicasets", list("ReplicaSet", replicaSets));
  auto out = api.run("get_workload", R"({"kind":"Deployment","name":"web"})");
  ASSERT_TRUE(out.ok) << out.summary;
  const auto& d = *out.data;
  EXPECT_THAT(namesIn(d["replicaSets"]), ::testing::ElementsAre("web-7d9f5c6b8d", "web-5c4b8f7d9", "web-6f8d9c7b4"));
  const auto& newest = d["replicaSets"][0];
  EXPECT_STREQ(newest["metadata"]["annotations"]["deployment.kubernetes.io/revision"].GetString(), "3");
  EXPECT_FALSE(newest["metadata"]["annotations"].HasMember("deployment.kubernetes.io/desired-replicas"));
  EXPECT_STREQ(newest["spec"]["template"]["spec"]["containers"][0]["image"].GetString(), "ghcr.io/example/web:2.1.0");
  EXPECT_EQ(d["replicaSets"][1]["status"]["readyReplicas"].GetInt(), 3);
  EXPECT_THAT(out.evidence[1].text, HasSubstr("ReplicaSet web-7d9f5c6b8d: 1 desired, 1 current, 0 ready, 0 available; revision 3"));
  EXPECT_THAT(out.evidence[1].text, HasSubstr("container web: image ghcr.io/example/web:2.1.0"));

  std::vector<agent::StepView::Cited> cited;
  for (std::size_t i = 0; i < out.evidence.size(); ++i) cited.push_back({"E" + std::to_string(i + 1), out.evidence[i].ref});
  auto step = analyzer_test::stepWithJson("get_workload", toJson(d), cited, R"({"kind":"Deployment","name":"web"})");
  analyzer_test::TestSink sink;
  auto analyzer = tools::makeWorkloadAnalyzer();
  analyzer_test::run(*analyzer, *step, sink);
  const auto* f = sink.bySubject("Deployment/web");
  ASSERT_NE(f, nullptr);
  EXPECT_THAT(f->title, HasSubstr("revision 3 (image ghcr.io/example/web:2.1.0, ReplicaSet web-7d9f5c6b8d) has 0 of 1 pods ready "
                                  "while revision 2 (image ghcr.io/example/web:2.0.0, ReplicaSet web-5c4b8f7d9) still serves "
                                  "3 ready replicas"));
  EXPECT_EQ(f->evidence, (std::vector<std::string>{"E1", "E2", "E3"}));
}

TEST(GetWorkload, CronJobComesWithItsJobs) {
  FakeApi api;
  api.on("/apis/batch/v1/namespaces/shop/cronjobs/report",
         R"({"kind":"CronJob","metadata":{"name":"report","uid":"c1"},"spec":{"schedule":"*/5 * * * *"}})");
  auto job = [](const std::string& name, const std::string& created) {
    return R"({"metadata":{"name":")" + name + R"(","creationTimestamp":")" + created +
           R"(","ownerReferences":[{"uid":"c1"}]},"status":{"failed":6,"conditions":[{"type":"Failed","status":"True","reason":"BackoffLimitExceeded"}]}})";
  };
  api.on("/apis/batch/v1/namespaces/shop/jobs",
         list("Job", {job("report-1", "2026-01-01T00:00:00Z"), job("report-2", "2026-01-01T00:05:00Z")}));
  auto out = api.run("get_workload", R"({"kind":"CronJob","name":"report"})");
  ASSERT_TRUE(out.ok);
  EXPECT_THAT(namesIn((*out.data)["jobs"]), ::testing::ElementsAre("report-2", "report-1"));
  EXPECT_THAT(out.evidence[1].text, HasSubstr("condition Failed True (BackoffLimitExceeded)"));
}

TEST(GetWorkload, MissingWorkloadIsNotFoundEvidence) {
  FakeApi api;
  auto out = api.run("get_workload", R"({"kind":"StatefulSet","name":"db"})");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.errorReason, "NotFound");
  EXPECT_EQ(out.evidence[0].text, "not found: StatefulSet db does not exist in namespace shop");
  EXPECT_EQ((*out.data)["items"].Size(), 0u);
}

TEST(GetWorkload, ForbiddenReplicaSetsKeepTheDeployment) {
  FakeApi api;
  scriptShop(api);
  api.forbid("/apis/apps/v1/namespaces/shop/replicasets", "replicasets");
  auto out = api.run("get_workload", R"({"kind":"Deployment","name":"checkout"})");
  EXPECT_TRUE(out.ok);
  ASSERT_EQ(out.evidence.size(), 2u);
  EXPECT_EQ(out.evidence[1].text, std::string("forbidden: the reader identity ") + kReader +
                                      " cannot list replicasets in namespace shop");
}

TEST(GetEvents, FiltersByObjectAndGroupsWarningsFirst) {
  FakeApi api;
  auto ev = [](const std::string& kind, const std::string& name, const std::string& type, const std::string& reason,
               int count, const std::string& last) {
    return R"({"metadata":{"name":")" + name + "." + reason + R"("},"involvedObject":{"kind":")" + kind +
           R"(","name":")" + name + R"("},"type":")" + type + R"(","reason":")" + reason +
           R"(","message":"msg )" + reason + R"(","count":)" + std::to_string(count) + R"(,"lastTimestamp":")" + last + R"("})";
  };
  api.on("/api/v1/namespaces/shop/events",
         list("Event", {ev("Pod", "web-1", "Normal", "Pulled", 1, "2026-01-01T00:09:00Z"),
                        ev("Pod", "web-2", "Warning", "BackOff", 12, "2026-01-01T00:08:00Z"),
                        ev("Pod", "web-1", "Warning", "Unhealthy", 3, "2026-01-01T00:01:00Z")}));
  auto out = api.run("get_events", R"({"kind":"Pod","warningsOnly":true})");
  ASSERT_TRUE(out.ok);
  EXPECT_EQ(paramOf(api.requests()[0].target, "fieldSelector"),
            "involvedObject.kind%3DPod%2Ctype%3DWarning");
  // Newest first in data.
  const auto& items = (*out.data)["items"];
  EXPECT_STREQ(items[0]["reason"].GetString(), "Pulled");
  EXPECT_STREQ(items[1]["reason"].GetString(), "BackOff");
  EXPECT_THAT(refsOf(out), ::testing::ElementsAre("Pod/web-1", "Pod/web-2"));
  EXPECT_THAT(out.evidence[0].text, ::testing::StartsWith("Warning Unhealthy (x3, last "));
  EXPECT_THAT(out.evidence[0].text, HasSubstr(") Pod/web-1: msg Unhealthy\nNormal Pulled ("));
  EXPECT_THAT(out.evidence[1].text, ::testing::MatchesRegex("Warning BackOff \\(x12, last [0-9]+[smhd] ago\\) Pod/web-2: msg BackOff"));
  EXPECT_THAT(out.summary, HasSubstr("3 events for Pod/* (2 warnings)"));
}

TEST(GetEvents, NoEventsStillExplainsItself) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/events", list("Event", {}));
  auto out = api.run("get_events", R"({"kind":"Deployment","name":"web"})");
  ASSERT_TRUE(out.ok);
  ASSERT_EQ(out.evidence.size(), 1u);
  EXPECT_EQ(out.evidence[0].ref, "Deployment/web");
  EXPECT_THAT(out.evidence[0].text, HasSubstr("no events for Deployment/web in namespace shop"));
}

TEST(GetPodLogs, PreviousLogOfTheFailingContainerIsTheRawText) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/pods/web-1",
         R"({"metadata":{"name":"web-1"},"spec":{"containers":[{"name":"sidecar"},{"name":"app"}]},
             "status":{"containerStatuses":[{"name":"sidecar","restartCount":0,"state":{"running":{}}},
               {"name":"app","restartCount":4,"state":{"waiting":{"reason":"CrashLoopBackOff"}}}]}})");
  const std::string log = "starting\nlevel=fatal msg=\"DATABASE_URL is empty\"\n";
  api.on("/api/v1/namespaces/shop/pods/web-1/log", log);
  auto out = api.run("get_pod_logs", R"({"pod":"web-1","previous":true})");
  ASSERT_TRUE(out.ok) << out.summary;
  auto target = api.requests().back().target;
  EXPECT_EQ(paramOf(target, "container"), "app");
  EXPECT_EQ(paramOf(target, "previous"), "true");
  EXPECT_EQ(paramOf(target, "tailLines"), "100");
  EXPECT_EQ(paramOf(target, "limitBytes"), std::to_string(256 * 1024));
  const auto& d = *out.data;
  EXPECT_STREQ(d["pod"].GetString(), "web-1");
  EXPECT_STREQ(d["container"].GetString(), "app");
  EXPECT_TRUE(d["previous"].GetBool());
  EXPECT_EQ(d["text"].GetString(), log);
  ASSERT_EQ(out.evidence.size(), 1u);
  EXPECT_EQ(out.evidence[0].ref, "Pod/web-1 container app (previous)");
  EXPECT_EQ(out.evidence[0].text, log);
  EXPECT_THAT(out.summary, Not(HasSubstr("DATABASE_URL")));
}

// A pod the run listed a moment ago is not read again to find its
// containers: only the log is asked for. Without the run's scratch, it is.
TEST(GetPodLogs, APodTheRunJustListedIsNotReadAgain) {
  FakeApi api;
  scriptShop(api);
  auto recent = std::make_shared<tools::RecentObjects>();
  ASSERT_TRUE(api.run("list_pods", "{}", "shop", {}, recent).ok);
  const auto before = api.requests().size();
  auto out = api.run("get_pod_logs", R"({"pod":"checkout-1"})", "shop", {}, recent);
  ASSERT_TRUE(out.ok) << out.summary;
  auto reqs = api.requests();
  ASSERT_EQ(reqs.size(), before + 1);
  EXPECT_EQ(reqs.back().target.substr(0, reqs.back().target.find('?')), "/api/v1/namespaces/shop/pods/checkout-1/log");
  EXPECT_EQ(out.apiRequests, 1);
  ASSERT_TRUE(api.run("get_pod_logs", R"({"pod":"checkout-1"})").ok);
  EXPECT_EQ(api.requests().size(), before + 3) << "without the run's scratch the pod is read";
}

TEST(RecentObjects, KeepsFewRecentObjects) {
  tools::RecentObjects r;
  const auto t0 = tools::RecentObjects::Clock::now();
  kube::ObjectPtr obj = kube::Object::parse(R"({"metadata":{"name":"a"}})").value();
  r.keep({{"pods/a", obj}}, t0);
  EXPECT_EQ(r.find("pods/a", std::chrono::seconds(5), t0 + std::chrono::seconds(1)), obj);
  EXPECT_EQ(r.find("pods/a", std::chrono::milliseconds(500), t0 + std::chrono::seconds(1)), nullptr) << "older than asked";
  EXPECT_EQ(r.find("pods/a", std::chrono::seconds(60), t0 + std::chrono::seconds(6)), nullptr) << "older than kMaxAge";
  EXPECT_EQ(r.find("pods/b", std::chrono::seconds(5), t0), nullptr);
  std::vector<std::pair<std::string, kube::ObjectPtr>> many;
  for (std::size_t i = 0; i <= tools::RecentObjects::kMaxObjects; ++i) many.emplace_back("pods/m" + std::to_string(i), obj);
  r.keep(many, t0);
  EXPECT_EQ(r.find("pods/m0", std::chrono::seconds(5), t0), nullptr) << "a list too long to keep is not kept";
}

TEST(GetPodLogs, UnknownContainerIsInvalidArgsAndNoPreviousIsNotFound) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/pods/web-1", R"({"metadata":{"name":"web-1"},"spec":{"containers":[{"name":"app"}]}})");
  auto out = api.run("get_pod_logs", R"({"pod":"web-1","container":"nope"})");
  EXPECT_EQ(out.errorReason, "InvalidArgs");
  EXPECT_THAT(out.summary, HasSubstr("containers: app"));
  api.on("/api/v1/namespaces/shop/pods/web-1/log",
         status(400, "BadRequest", "previous terminated container \\\"app\\\" in pod \\\"web-1\\\" not found"), 400);
  out = api.run("get_pod_logs", R"({"pod":"web-1","previous":true,"tailLines":20})");
  EXPECT_EQ(out.errorReason, "NotFound");
  EXPECT_EQ(out.evidence[0].ref, "Pod/web-1 container app (previous)");
  EXPECT_THAT(out.evidence[0].text, HasSubstr("has no previous terminated instance"));
}

// What the real kubelet answers (HTTP 200) for --previous in the seconds after
// a crash, when the instance before has been garbage-collected: never the app's
// log. The tool reads the instance that just exited instead.
TEST(GetPodLogs, KubeletPlaceholderForAGoneInstanceIsNotTakenForTheLog) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/pods/web-1",
         R"({"metadata":{"name":"web-1"},"spec":{"containers":[{"name":"app"}]},
             "status":{"containerStatuses":[{"name":"app","restartCount":1,
               "state":{"terminated":{"exitCode":1,"reason":"Error","containerID":"containerd://0b79"}},
               "lastState":{"terminated":{"exitCode":1,"reason":"Error","containerID":"containerd://7e68"}}}]}})");
  api.on("/api/v1/namespaces/shop/pods/web-1/log?container=app&previous=true&tailLines=100&limitBytes=262144",
         "unable to retrieve container logs for containerd://7e68f2152a70955311b429587e7b6119cf4855dc298de55e853db4b39dd2b445");
  api.on("/api/v1/namespaces/shop/pods/web-1/log?container=app&tailLines=100&limitBytes=262144",
         "FATAL: cannot open /etc/checkout/config.yaml: no such file or directory\n");
  auto out = api.run("get_pod_logs", R"({"pod":"web-1","previous":true})");
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_EQ(paramOf(api.requests().back().target, "previous"), "");
  EXPECT_EQ(out.evidence[0].ref, "Pod/web-1 container app (the instance that just exited)");
  EXPECT_THAT(out.evidence[0].text, HasSubstr("FATAL: cannot open"));
  EXPECT_THAT(out.evidence[0].text, Not(HasSubstr("unable to retrieve")));
  EXPECT_FALSE((*out.data)["previous"].GetBool());

  // Neither instance available: a failed read that says so, with no log text.
  api.on("/api/v1/namespaces/shop/pods/web-1/log?container=app&tailLines=100&limitBytes=262144",
         "unable to retrieve container logs for containerd://0b79b4b3cb1b9b07432eabbd0c2caa52ed0f393a899c162eedae3dca392799d6\n");
  out = api.run("get_pod_logs", R"({"pod":"web-1","previous":true})");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.errorReason, "NotFound");
  EXPECT_THAT(out.summary, HasSubstr("the container runtime no longer has that instance"));
  EXPECT_STREQ((*out.data)["text"].GetString(), "");
}

// The kubelet's other answer for a log file it has just removed (seen on a
// real kubelet: a rollout's new pod, --previous right after its second
// crash), and its 400 for --previous when that instance is gone although the
// container restarted: both fall back to the instance that ran last.
TEST(GetPodLogs, ARemovedLogFileOrAGonePreviousInstanceFallsBackToTheLastInstance) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/pods/web-1",
         R"({"metadata":{"name":"web-1"},"spec":{"containers":[{"name":"app"}]},
             "status":{"containerStatuses":[{"name":"app","restartCount":2,
               "state":{"waiting":{"reason":"CrashLoopBackOff"}},
               "lastState":{"terminated":{"exitCode":2,"reason":"Error"}}}]}})");
  const std::string current = "/api/v1/namespaces/shop/pods/web-1/log?container=app&tailLines=100&limitBytes=262144";
  const std::string prev = "/api/v1/namespaces/shop/pods/web-1/log?container=app&previous=true&tailLines=100&limitBytes=262144";
  api.on(current, "flag provided but not defined: -listen-addr\n");
  api.on(prev,
         "failed to try resolving symlinks in path \"/var/log/pods/shop_web-1_a8e5/app/2.log\": lstat "
         "/var/log/pods/shop_web-1_a8e5/app/2.log: no such file or directory");
  auto out = api.run("get_pod_logs", R"({"pod":"web-1","previous":true})");
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_THAT(out.evidence[0].text, HasSubstr("-listen-addr"));
  EXPECT_THAT(out.evidence[0].text, Not(HasSubstr("symlinks")));
  EXPECT_EQ(out.evidence[0].ref, "Pod/web-1 container app (most recent instance)");

  api.on(prev, status(400, "BadRequest", "previous terminated container \\\"app\\\" in pod \\\"web-1\\\" not found"), 400);
  out = api.run("get_pod_logs", R"({"pod":"web-1","previous":true})");
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_THAT(out.evidence[0].text, HasSubstr("-listen-addr"));
  EXPECT_THAT(out.summary, HasSubstr("the kubelet no longer had the previous instance"));

  // An app that logs such a line among others is not a placeholder.
  api.on(prev, "starting\nfailed to try resolving symlinks in path \"/x.log\": lstat /x.log: no such file or directory\n");
  out = api.run("get_pod_logs", R"({"pod":"web-1","previous":true})");
  ASSERT_TRUE(out.ok);
  EXPECT_THAT(out.evidence[0].text, HasSubstr("starting"));
  EXPECT_EQ(out.evidence[0].ref, "Pod/web-1 container app (previous)");
}

// The tool hands the executor a bounded tail (four excerpts' worth) so that the
// executor's cut, with its visible truncation marker, still happens.
TEST(GetPodLogs, EvidenceKeepsABoundedTailOfWholeLines) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/pods/web-1", R"({"metadata":{"name":"web-1"},"spec":{"containers":[{"name":"app"}]}})");
  std::string log;
  for (int i = 0; i < 1000; ++i) log += "line " + std::to_string(i) + "\n";
  api.on("/api/v1/namespaces/shop/pods/web-1/log", log);
  auto out = api.run("get_pod_logs", R"({"pod":"web-1"})");
  ASSERT_TRUE(out.ok);
  EXPECT_EQ((*out.data)["text"].GetString(), log);
  EXPECT_LE(out.evidence[0].text.size(), 4u * 4096u);
  EXPECT_THAT(out.evidence[0].text, ::testing::EndsWith("line 999\n"));
  EXPECT_THAT(out.evidence[0].text, ::testing::StartsWith("line "));
}

TEST(GetConfigRefs, NeverContainsSecretValues) {
  FakeApi api;
  // The value in plain text (as kubectl's last-applied annotation holds it)
  // and base64 (as data holds it).
  const std::string plain = "hunter2-Sup3rSecret";
  const std::string b64 = "aHVudGVyMi1TdXAzclNlY3JldA==";
  api.on("/api/v1/namespaces/shop/secrets/db",
         R"({"kind":"Secret","apiVersion":"v1","type":"Opaque","metadata":{"name":"db","annotations":{
               "kubectl.kubernetes.io/last-applied-configuration":"{\"stringData\":{\"password\":\")" + plain + R"(\"}}"}},
             "data":{"password":")" + b64 + R"(","username":"YWRtaW4="}})");
  api.on("/api/v1/namespaces/shop/configmaps/app",
         R"({"kind":"ConfigMap","metadata":{"name":"app"},"data":{"LOG_LEVEL":"debug-)" + plain + R"("},"binaryData":{"cert":")" + b64 + R"("}})");
  auto out = api.run("get_config_refs", R"({"configMaps":["app","missing"],"secrets":["db"]})");
  ASSERT_TRUE(out.ok) << out.summary;
  auto text = allText(out);
  EXPECT_THAT(text, Not(HasSubstr(plain)));
  EXPECT_THAT(text, Not(HasSubstr(b64)));
  EXPECT_THAT(text, Not(HasSubstr("YWRtaW4=")));
  EXPECT_THAT(text, Not(HasSubstr("debug")));
  EXPECT_EQ(serialized(out),
            R"({"configMaps":[{"name":"app","exists":true,"keys":["LOG_LEVEL","cert"]},{"name":"missing","exists":false,"keys":[]}],)"
            R"("secrets":[{"name":"db","exists":true,"keys":["password","username"]}]})");
  EXPECT_THAT(refsOf(out), ::testing::ElementsAre("ConfigMap/missing", "ConfigMap/app", "Secret/db"));
  EXPECT_EQ(out.evidence[0].text, "not found: ConfigMap missing does not exist in namespace shop");
  EXPECT_EQ(out.evidence[2].text, "Secret db: exists (type Opaque), keys password, username (values withheld)");
  EXPECT_EQ(out.summary, "2 of 3 exist; missing: ConfigMap/missing");
}

TEST(GetConfigRefs, ForbiddenSecretsAreReportedNotCalledMissing) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/configmaps/app", R"({"kind":"ConfigMap","metadata":{"name":"app"}})");
  api.forbid("/api/v1/namespaces/shop/secrets/db", "secrets");
  auto out = api.run("get_config_refs", R"({"configMaps":["app"],"secrets":["db"]})");
  EXPECT_TRUE(out.ok);
  const auto& d = *out.data;
  EXPECT_EQ(d["secrets"].Size(), 0u);
  EXPECT_STREQ(d["forbidden"][0].GetString(), "secrets");
  EXPECT_EQ(out.evidence[0].text, std::string("forbidden: the reader identity ") + kReader +
                                      " cannot get secrets \"db\" in namespace shop");
  auto only = api.run("get_config_refs", R"({"secrets":["db"]})");
  EXPECT_FALSE(only.ok);
  EXPECT_EQ(only.errorReason, "Forbidden");
}

TEST(GetService, ReadsEndpointsSlicesAndSelectedPods) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/services/web",
         R"({"kind":"Service","metadata":{"name":"web"},"spec":{"type":"ClusterIP","clusterIP":"10.0.0.5",
             "selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":8080,"protocol":"TCP"}]}})");
  api.on("/api/v1/namespaces/shop/endpoints/web",
         R"({"kind":"Endpoints","metadata":{"name":"web"},"subsets":[{"notReadyAddresses":[{"ip":"10.1.0.1","targetRef":{"kind":"Pod","name":"web-1"}}],
             "ports":[{"name":"http","port":8080,"protocol":"TCP"}]}]})");
  api.on("/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices",
         list("EndpointSlice", {R"({"metadata":{"name":"web-abc"},"addressType":"IPv4","endpoints":[{"addresses":["10.1.0.1"],
             "conditions":{"ready":false},"targetRef":{"kind":"Pod","name":"web-1"}}],"ports":[{"port":8080}]})"}));
  api.on("/api/v1/namespaces/shop/pods", list("Pod", {pod("web-1", "notready")}));
  auto out = api.run("get_service", R"({"name":"web"})");
  ASSERT_TRUE(out.ok) << out.summary;
  const auto& d = *out.data;
  EXPECT_STREQ(d["service"]["metadata"]["name"].GetString(), "web");
  EXPECT_STREQ(d["endpoints"]["metadata"]["name"].GetString(), "web");
  EXPECT_EQ(d["endpointSlices"].Size(), 1u);
  EXPECT_THAT(namesIn(d["pods"]), ::testing::ElementsAre("web-1"));
  bool sawSliceSelector = false, sawPodSelector = false;
  for (const auto& r : api.requests()) {
    sawSliceSelector |= paramOf(r.target, "labelSelector") == "kubernetes.io%2Fservice-name%3Dweb";
    sawPodSelector |= r.target.starts_with("/api/v1/namespaces/shop/pods?") && paramOf(r.target, "labelSelector") == "app%3Dweb";
  }
  EXPECT_TRUE(sawSliceSelector);
  EXPECT_TRUE(sawPodSelector);
  EXPECT_THAT(refsOf(out), ::testing::ElementsAre("Service/web", "Endpoints/web", "EndpointSlice/web-abc", "Pod/web-1"));
  EXPECT_EQ(out.evidence[0].text, "Service web: type ClusterIP, clusterIP 10.0.0.5; ports http 80->8080/TCP; selector app=web");
  EXPECT_EQ(out.evidence[1].text, "Endpoints web: 0 ready, 1 not ready (web-1); ports http 8080/TCP");
  EXPECT_EQ(out.summary, "Service web: selector app=web matches 1 pod, 1 not ready: web-1 NotReady; endpoints 0 ready, 1 not ready");
}

// No pod matches, but a Deployment's pod template does: the Service's
// selector is right and the Deployment runs no pods (scaled to 0).
TEST(GetService, NoPodsReadsTheWorkloadsWhosePodsTheSelectorWouldMatch) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/services/cart",
         R"({"kind":"Service","metadata":{"name":"cart"},"spec":{"selector":{"app":"cart"},"ports":[{"port":80}]}})");
  api.on("/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices", list("EndpointSlice", {}));
  api.on("/api/v1/namespaces/shop/pods", list("Pod", {}));
  api.on("/apis/apps/v1/namespaces/shop/deployments",
         list("Deployment", {R"({"metadata":{"name":"cart"},"spec":{"replicas":0,"template":{"metadata":{"labels":{"app":"cart","tier":"web"}}}},"status":{}})",
                             R"({"metadata":{"name":"carts-admin"},"spec":{"replicas":1,"template":{"metadata":{"labels":{"app":"carts"}}}}})"}));
  api.on("/apis/apps/v1/namespaces/shop/statefulsets", list("StatefulSet", {}));
  auto out = api.run("get_service", R"({"name":"cart"})");
  ASSERT_TRUE(out.ok) << out.summary;
  const auto& w = (*out.data)["workloads"];
  ASSERT_EQ(w.Size(), 1u);
  EXPECT_STREQ(w[0]["kind"].GetString(), "Deployment");
  EXPECT_STREQ(w[0]["name"].GetString(), "cart");
  EXPECT_EQ(w[0]["replicas"].GetInt64(), 0);
  EXPECT_EQ(out.evidence.back().ref, "Deployment/cart");
  EXPECT_EQ(out.evidence.back().text, "Deployment cart: spec.replicas 0; its pod template's labels match the selector app=cart");
}

TEST(GetService, MissingEndpointsAreNull) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/services/web",
         R"({"kind":"Service","metadata":{"name":"web"},"spec":{"selector":{"app":"nomatch"}}})");
  api.on("/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices", list("EndpointSlice", {}));
  api.on("/api/v1/namespaces/shop/pods", list("Pod", {}));
  auto out = api.run("get_service", R"({"name":"web"})");
  ASSERT_TRUE(out.ok);
  EXPECT_TRUE((*out.data)["endpoints"].IsNull());
  EXPECT_THAT(out.summary, HasSubstr("matches no pods; no endpoints"));
  EXPECT_EQ(out.evidence.back().text, "no pods in namespace shop match the selector app=nomatch");
}

TEST(GetStorage, ClusterScopedReadsThatAreForbiddenAreReportedNotFatal) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/persistentvolumeclaims",
         list("PersistentVolumeClaim",
              {R"({"metadata":{"name":"data-0"},"spec":{"storageClassName":"fast","volumeName":"pv-1","accessModes":["ReadWriteOnce"],
                  "resources":{"requests":{"storage":"1Gi"}}},"status":{"phase":"Bound"}})",
               R"({"metadata":{"name":"data-1"},"spec":{"storageClassName":"fast"},"status":{"phase":"Pending"}})"}));
  api.forbid("/api/v1/persistentvolumes/pv-1", "persistentvolumes");
  api.forbid("/apis/storage.k8s.io/v1/storageclasses/fast", "storageclasses");
  auto out = api.run("get_storage", "{}");
  ASSERT_TRUE(out.ok) << out.summary;
  const auto& d = *out.data;
  EXPECT_EQ(d["items"].Size(), 2u);
  EXPECT_EQ(d["persistentVolumes"].Size(), 0u);
  EXPECT_EQ(d["storageClasses"].Size(), 0u);
  ASSERT_EQ(d["forbidden"].Size(), 2u);
  EXPECT_STREQ(d["forbidden"][0].GetString(), "persistentvolumes");
  EXPECT_STREQ(d["forbidden"][1].GetString(), "storageclasses");
  EXPECT_EQ(out.evidence[0].ref, "PersistentVolumeClaim/data-1");  // Pending first
  EXPECT_THAT(out.evidence[0].text, HasSubstr("phase Pending; storageClass fast"));
  EXPECT_THAT(allText(out), HasSubstr(std::string("forbidden: the reader identity ") + kReader +
                                      " cannot get persistentvolumes \"pv-1\" (cluster-scoped)"));
  EXPECT_EQ(out.summary, "2 PersistentVolumeClaims, 1 Pending (data-1); not readable: persistentvolumes, storageclasses");
}

TEST(GetStorage, MissingStorageClassIsEvidence) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/persistentvolumeclaims/data-1",
         R"({"metadata":{"name":"data-1"},"spec":{"storageClassName":"nope"},"status":{"phase":"Pending"}})");
  auto out = api.run("get_storage", R"({"name":"data-1"})");
  ASSERT_TRUE(out.ok);
  EXPECT_THAT(refsOf(out), ::testing::ElementsAre("PersistentVolumeClaim/data-1", "StorageClass/nope"));
  EXPECT_THAT(out.evidence[1].text, HasSubstr("not found: StorageClass nope does not exist"));
}

TEST(GetNodes, ForbiddenForANamespaceReader) {
  FakeApi api;
  api.forbid("/api/v1/nodes", "nodes");
  auto out = api.run("get_nodes", "{}");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.errorReason, "Forbidden");
  EXPECT_EQ(serialized(out), R"({"forbidden":true})");
  EXPECT_EQ(out.evidence[0].text, std::string("forbidden: the reader identity ") + kReader +
                                      " cannot list nodes (cluster-scoped)");
  EXPECT_EQ(test::headerOf(api.requests()[0], "Impersonate-User"), kReader);
}

TEST(GetNodes, NotReadyNodesFirst) {
  FakeApi api;
  api.on("/api/v1/nodes",
         list("Node", {R"({"metadata":{"name":"n1"},"status":{"conditions":[{"type":"Ready","status":"True"}]}})",
                       R"({"metadata":{"name":"n2"},"spec":{"taints":[{"key":"k","effect":"NoSchedule"}]},
                           "status":{"conditions":[{"type":"Ready","status":"False","reason":"KubeletNotReady"},
                                                   {"type":"DiskPressure","status":"True"}]}})"}));
  auto out = api.run("get_nodes", "{}");
  ASSERT_TRUE(out.ok);
  EXPECT_THAT(namesIn((*out.data)["items"]), ::testing::ElementsAre("n2", "n1"));
  EXPECT_THAT(out.evidence[0].text, HasSubstr("Node n2: Ready False; taints k:NoSchedule"));
  EXPECT_THAT(out.evidence[0].text, HasSubstr("condition DiskPressure True"));
  EXPECT_EQ(out.summary, "2 nodes, 1 not ready");
}

TEST(GetQuotas, ExhaustedQuotasComeFirst) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/resourcequotas",
         list("ResourceQuota",
              {R"({"metadata":{"name":"ok"},"status":{"hard":{"configmaps":"10"},"used":{"configmaps":"1"}}})",
               R"({"metadata":{"name":"compute"},"status":{"hard":{"pods":"10","requests.memory":"2Gi"},"used":{"pods":"10","requests.memory":"1536Mi"}}})"}));
  api.on("/api/v1/namespaces/shop/limitranges",
         list("LimitRange", {R"({"metadata":{"name":"defaults"},"spec":{"limits":[{"type":"Container","default":{"memory":"512Mi"}}]}})"}));
  auto out = api.run("get_quotas", "{}");
  ASSERT_TRUE(out.ok);
  EXPECT_EQ((*out.data)["resourceQuotas"].Size(), 2u);
  EXPECT_EQ((*out.data)["limitRanges"].Size(), 1u);
  EXPECT_THAT(refsOf(out), ::testing::ElementsAre("ResourceQuota/compute", "ResourceQuota/ok", "LimitRange/defaults"));
  EXPECT_EQ(out.evidence[0].text, "ResourceQuota compute: pods 10/10 (at limit), requests.memory 1536Mi/2Gi");
  EXPECT_EQ(out.evidence[2].text, "LimitRange defaults:\n  Container; default memory 512Mi");
  EXPECT_EQ(out.summary, "2 ResourceQuotas, 1 LimitRange; at limit: compute pods 10/10");
}

TEST(GetIngress, ChecksEachBackendService) {
  FakeApi api;
  api.on("/apis/networking.k8s.io/v1/namespaces/shop/ingresses/web",
         R"({"kind":"Ingress","metadata":{"name":"web"},"spec":{"ingressClassName":"nginx","rules":[{"host":"shop.example",
             "http":{"paths":[{"path":"/","backend":{"service":{"name":"web","port":{"number":80}}}},
                              {"path":"/api","backend":{"service":{"name":"api","port":{"name":"http"}}}}]}}]}})");
  api.on("/api/v1/namespaces/shop/services/web",
         R"({"kind":"Service","metadata":{"name":"web"},"spec":{"ports":[{"name":"http","port":80,"targetPort":8080}]}})");
  auto out = api.run("get_ingress", R"({"name":"web"})");
  ASSERT_TRUE(out.ok);
  EXPECT_EQ(serialized(out).find(R"("services":[{"name":"api","exists":false,"ports":[]},{"name":"web","exists":true,"ports":[{"name":"http","port":80,"targetPort":8080}]}])") != std::string::npos, true)
      << serialized(out);
  EXPECT_THAT(refsOf(out), ::testing::ElementsAre("Ingress/web", "Service/api", "Service/web"));
  EXPECT_THAT(out.evidence[0].text, HasSubstr("host shop.example: / -> web:80, /api -> api:http"));
  EXPECT_EQ(out.summary, "1 Ingress, 2 backend Services; missing: api");
}

TEST(GetHpa, RendersTargetsAndLimits) {
  FakeApi api;
  api.on("/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers",
         list("HorizontalPodAutoscaler",
              {R"({"metadata":{"name":"web"},"spec":{"scaleTargetRef":{"kind":"Deployment","name":"web"},"minReplicas":1,"maxReplicas":5,
                  "metrics":[{"type":"Resource","resource":{"name":"cpu","target":{"type":"Utilization","averageUtilization":80}}}]},
                  "status":{"currentReplicas":5,"desiredReplicas":5,"currentMetrics":[{"type":"Resource","resource":{"name":"cpu","current":{"averageUtilization":95}}}],
                  "conditions":[{"type":"ScalingLimited","status":"True","reason":"TooManyReplicas"}]}})"}));
  auto out = api.run("get_hpa", "{}");
  ASSERT_TRUE(out.ok);
  EXPECT_THAT(out.evidence[0].text, HasSubstr("target Deployment/web; replicas 5 (desired 5, min 1, max 5); metrics (current/target) cpu 95%/80%"));
  EXPECT_EQ(out.summary, "1 HorizontalPodAutoscaler; web ScalingLimited True (TooManyReplicas)");
}

TEST(ReadConfigMapData, ReturnsNameAndData) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/configmaps/app",
         R"({"kind":"ConfigMap","metadata":{"name":"app"},"data":{"LOG_LEVEL":"debug","app.yaml":"a: 1\nb: 2"}})");
  auto out = api.run("read_configmap_data", R"({"name":"app"})");
  ASSERT_TRUE(out.ok);
  EXPECT_EQ(serialized(out), R"({"name":"app","data":{"LOG_LEVEL":"debug","app.yaml":"a: 1\nb: 2"}})");
  EXPECT_EQ(out.evidence[0].text, "ConfigMap app:\n  LOG_LEVEL: debug\n  app.yaml: |\n    a: 1\n    b: 2");
}

namespace {

// Two pods of Deployment web: web-1 restarted (its previous instance logged
// the timeouts), web-2 is healthy; a sidecar that never started has no log.
void scriptWebLogs(FakeApi& api) {
  api.on("/apis/apps/v1/namespaces/shop/deployments/web",
         R"({"kind":"Deployment","metadata":{"name":"web","uid":"d1"},
             "spec":{"selector":{"matchLabels":{"app":"web"}}}})");
  auto podJson = [](const std::string& name, int restarts, bool sidecarWaiting) {
    return R"({"metadata":{"name":")" + name + R"(","labels":{"app":"web"}},
      "spec":{"containers":[{"name":"app"},{"name":"proxy"}]},
      "status":{"phase":"Running","containerStatuses":[
        {"name":"app","ready":true,"restartCount":)" + std::to_string(restarts) + R"(,"state":{"running":{}}},
        {"name":"proxy","ready":false,"restartCount":0,"state":{)" +
           (sidecarWaiting ? R"("waiting":{"reason":"ContainerCreating"})" : R"("running":{})") + "}}]}}";
  };
  api.on("/api/v1/namespaces/shop/pods", list("Pod", {podJson("web-2", 0, false), podJson("web-1", 3, true)}));
  const std::string log = "/api/v1/namespaces/shop/pods/";
  api.on(log + "web-1/log?container=app&tailLines=1000&limitBytes=262144",
         "ready\nGET /pay upstream timed out after 5s\n");
  api.on(log + "web-1/log?container=app&previous=true&tailLines=1000&limitBytes=262144",
         "start\nUpstream TIMED OUT after 5s password=hunter2\nupstream timed out after 5s\nupstream timed out\n"
         "upstream timed out\nupstream timed out\nupstream timed out (6th)\n");
  api.on(log + "web-2/log?container=app&tailLines=1000&limitBytes=262144", "all good\n");
  api.on(log + "web-2/log?container=proxy&tailLines=1000&limitBytes=262144", "proxy up\n");
}

}  // namespace

TEST(SearchLogs, CountsMatchesPerPodAndInstanceAndKeepsTheFirstLines) {
  FakeApi api;
  scriptWebLogs(api);
  auto out = api.run("search_logs", R"({"pattern":"upstream timed out","kind":"Deployment","name":"web"})");
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_EQ(out.summary, "7 lines of 11 match /upstream timed out/ in 1 of 2 pods (Deployment web); web-1: 7");
  std::vector<std::string> targets;
  for (const auto& r : api.requests()) {
    targets.push_back(r.target);
    EXPECT_EQ(test::headerOf(r, "Impersonate-User"), kReader) << r.target;
  }
  EXPECT_EQ(paramOf(targets[1], "labelSelector"), "app%3Dweb");
  // web-1's proxy never ran: not read. web-2 never restarted: no previous read.
  EXPECT_EQ(targets.size(), 2u + 4u);
  for (const auto& t : targets) EXPECT_THAT(t, Not(HasSubstr("web-1/log?container=proxy")));

  ASSERT_GE(out.evidence.size(), 3u);
  EXPECT_EQ(out.evidence[0].ref, "Pod/web-1 container app (previous)");
  EXPECT_THAT(out.evidence[0].text, HasSubstr("6 lines of the last 7 match /upstream timed out/; the first:\n"
                                              "Upstream TIMED OUT after 5s password=[REDACTED]\n"));
  EXPECT_THAT(out.evidence[0].text, Not(HasSubstr("(6th)"))) << "only the first 5 lines are kept";
  EXPECT_EQ(out.evidence[1].ref, "Pod/web-1 container app");
  EXPECT_EQ(out.evidence.back().ref, "search /upstream timed out/");
  EXPECT_THAT(out.evidence.back().text, HasSubstr("Pod/web-2 container app: no match in 1 line"));
  EXPECT_THAT(out.evidence.back().text, HasSubstr("Pod/web-2 container proxy: no match in 1 line"));

  const auto& d = *out.data;
  EXPECT_EQ(d["matches"].GetInt64(), 7);
  EXPECT_EQ(d["podsSearched"].GetInt64(), 2);
  EXPECT_EQ(d["podsMatched"].GetInt64(), 1);
  ASSERT_EQ(d["logs"].Size(), 4u);

  // The analyzer, through the production sink: a Low finding citing the logs.
  analyzer_test::TestSink sink;
  std::vector<agent::StepView::Cited> cited;
  for (std::size_t i = 0; i < out.evidence.size(); ++i) cited.push_back({"E" + std::to_string(i + 1), out.evidence[i].ref});
  auto step = analyzer_test::stepWithJson("search_logs", kube::serializeJson(d), cited,
                                          R"({"pattern":"upstream timed out","kind":"Deployment","name":"web"})");
  analyzer_test::run(*tools::makeLogSearchAnalyzer(), *step, sink);
  ASSERT_EQ(sink.findings().size(), 1u);
  const auto& f = sink.findings()[0];
  EXPECT_EQ(f.severity, agent::Severity::Low);
  EXPECT_EQ(f.title, "7 log lines in 1 of 2 pods match /upstream timed out/, most in web-1 (container app, previous "
                     "instance): \"Upstream TIMED OUT after 5s password=[REDACTED]\"");
  EXPECT_EQ(f.evidence.size(), out.evidence.size());
}

// Lines are redacted before they are matched: the counts can never be used
// to guess a secret's value one character at a time.
TEST(SearchLogs, APatternCannotProbeARedactedSecret) {
  FakeApi api;
  scriptWebLogs(api);
  auto out = api.run("search_logs", R"({"pattern":"password=h","kind":"Deployment","name":"web"})");
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_EQ((*out.data)["matches"].GetInt64(), 0);
  out = api.run("search_logs", R"({"pattern":"password=\\[REDACTED\\]","kind":"Pod","name":"web-1"})");
  EXPECT_EQ(out.errorReason, "NotFound") << "web-1 is read by name: " << out.summary;
  api.on("/api/v1/namespaces/shop/pods/web-1", R"({"metadata":{"name":"web-1"},"spec":{"containers":[{"name":"app"}]},
      "status":{"containerStatuses":[{"name":"app","restartCount":3,"state":{"running":{}}}]}})");
  out = api.run("search_logs", R"({"pattern":"password=\\[REDACTED\\]","kind":"Pod","name":"web-1"})");
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_EQ((*out.data)["matches"].GetInt64(), 1);
}

TEST(SearchLogs, BadArgumentsAndUnreadableLogsAreSaidPlainly) {
  FakeApi api;
  scriptWebLogs(api);
  auto out = api.run("search_logs", R"({"pattern":"(unclosed"})");
  EXPECT_EQ(out.errorReason, "InvalidArgs");
  EXPECT_THAT(out.summary, HasSubstr("not a valid regular expression"));
  out = api.run("search_logs", R"({"pattern":"x","kind":"Deployment"})");
  EXPECT_EQ(out.errorReason, "InvalidArgs");
  out = api.run("search_logs", R"({"pattern":"x","kind":"Deployment","name":"web","selector":"a=b"})");
  EXPECT_EQ(out.errorReason, "InvalidArgs");

  // A log the reader may not read, and the kubelet's placeholder: reported, not searched.
  api.forbid("/api/v1/namespaces/shop/pods/web-2/log", "pods/log");
  api.on("/api/v1/namespaces/shop/pods/web-1/log?container=app&previous=true&tailLines=1000&limitBytes=262144",
         "unable to retrieve container logs for containerd://7e68f2152a70955311b429587e7b6119cf48");
  out = api.run("search_logs", R"({"pattern":"timed out","selector":"app=web","maxPods":1})");
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_THAT(out.summary, HasSubstr("in 1 of 1 pod (pods matching app=web)"));
  EXPECT_THAT(out.summary, HasSubstr("searched the first 1 of 2 pods, unhealthy first"));
  EXPECT_THAT(out.summary, HasSubstr("1 log not readable"));
  EXPECT_THAT(out.evidence.back().text,
              HasSubstr("Pod/web-1 container app (previous): not read: the container runtime no longer has that instance"));

  FakeApi empty;
  empty.on("/api/v1/namespaces/shop/pods", list("Pod", {}));
  out = empty.run("search_logs", R"({"pattern":"timed out","selector":"app=none"})");
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_EQ(out.evidence.back().text, "no pods to search in pods matching app=none");
}

namespace {

std::string runbookConfigMap(const std::string& ns, const std::string& name, const std::string& markdown) {
  rapidjson::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  rapidjson::Value md(markdown.c_str(), a);
  rapidjson::Value data(rapidjson::kObjectType);
  data.AddMember("runbook.md", md, a);
  rapidjson::Value meta(rapidjson::kObjectType);
  meta.AddMember("name", rapidjson::Value(name.c_str(), a), a);
  meta.AddMember("namespace", rapidjson::Value(ns.c_str(), a), a);
  d.AddMember("kind", "ConfigMap", a);
  d.AddMember("metadata", meta, a);
  d.AddMember("data", data, a);
  return kube::serializeJson(d);
}

}  // namespace

TEST(SearchRunbooks, FindsTheFittingSectionInTheNamespaceAndTheSharedOneAsEachReader) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/configmaps",
         list("ConfigMap", {runbookConfigMap("shop", "checkout-runbook",
                                             "# Checkout\n## Crash loops\n1. If DATABASE_URL is not set, re-sync the "
                                             "checkout-db ExternalSecret.\n2. Restart: kubectl rollout restart deploy/checkout\n"
                                             "## Slow responses\nScale the cache; password=hunter2\n")}));
  api.on("/api/v1/namespaces/ops/configmaps",
         list("ConfigMap", {runbookConfigMap("ops", "platform", "# Out of memory\nRaise the memory limit; OOMKilled "
                                                                "containers are never fixed by restarts.\n")}));
  tools::ToolSettings settings;
  settings.runbookNamespace = "ops";
  auto out = api.run("search_runbooks", R"({"query":"checkout crash loop: DATABASE_URL is not set"})", "shop", settings);
  ASSERT_TRUE(out.ok) << out.summary;
  ASSERT_EQ(api.requests().size(), 2u);
  EXPECT_EQ(paramOf(api.requests()[0].target, "labelSelector"), "opscopilot.io%2Frunbook%3Dtrue");
  EXPECT_EQ(test::headerOf(api.requests()[0], "Impersonate-User"), kReader);
  EXPECT_THAT(api.requests()[1].target, HasSubstr("/namespaces/ops/configmaps?"));
  EXPECT_EQ(test::headerOf(api.requests()[1], "Impersonate-User"), "system:serviceaccount:ops:opscopilot-reader");
  EXPECT_EQ(out.apiRequests, 2);
  ASSERT_EQ(out.evidence.size(), 1u) << out.summary;
  EXPECT_EQ(out.evidence[0].ref, "Runbook checkout-runbook: Checkout > Crash loops");
  EXPECT_THAT(out.evidence[0].text, HasSubstr("re-sync the checkout-db ExternalSecret"));
  EXPECT_THAT(out.summary, HasSubstr("1 of 3 runbook sections fit: \"checkout-runbook: Checkout > Crash loops\""));
  const auto& d = *out.data;
  EXPECT_EQ(d["runbooks"].GetInt64(), 2);
  ASSERT_EQ(d["results"].Size(), 1u);
  EXPECT_EQ(d["results"][0]["steps"].Size(), 2u);

  // The shared namespace's runbook, named with its namespace; text redacted before it is searched.
  out = api.run("search_runbooks", R"({"query":"container OOMKilled, memory limit"})", "shop", settings);
  ASSERT_EQ(out.evidence.size(), 1u) << out.summary;
  EXPECT_EQ(out.evidence[0].ref, "Runbook ops/platform: Out of memory");
  out = api.run("search_runbooks", R"({"query":"slow responses hunter2"})", "shop", settings);
  ASSERT_EQ(out.evidence.size(), 1u) << out.summary;
  EXPECT_THAT(out.evidence[0].text, Not(HasSubstr("hunter2")));
  out = api.run("search_runbooks", R"({"query":"hunter2 password"})", "shop", settings);
  EXPECT_TRUE(out.evidence.empty()) << "a secret's value is not searchable: " << out.summary;

  // A query no section fits.
  out = api.run("search_runbooks", R"({"query":"ingress 404"})", "shop", settings);
  EXPECT_TRUE(out.ok);
  EXPECT_THAT(out.summary, HasSubstr("no runbook section fits the query (3 sections of 2 runbooks in namespaces shop and ops)"));
}

// The runbook lists a search reads, read ahead beside a run's first step
// (ToolSpec::warmUp): the search that follows takes them from the run's
// scratch, for each namespace as its own reader; without the scratch, or
// once they are too old, it reads them again.
TEST(SearchRunbooks, TakesTheRunbookListsItsRunReadAhead) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/configmaps",
         list("ConfigMap", {runbookConfigMap("shop", "checkout-runbook", "# Crash loops\nRe-sync the checkout-db secret.\n")}));
  api.on("/api/v1/namespaces/ops/configmaps", list("ConfigMap", {}));
  tools::ToolSettings settings;
  settings.runbookNamespace = "ops";
  auto recent = std::make_shared<tools::RecentObjects>();
  EXPECT_EQ(api.warmUp("search_runbooks", recent, "shop", settings), 2);
  ASSERT_EQ(api.requests().size(), 2u);
  EXPECT_EQ(test::headerOf(api.requests()[1], "Impersonate-User"), "system:serviceaccount:ops:opscopilot-reader");

  auto out = api.run("search_runbooks", R"({"query":"crash loop"})", "shop", settings, recent);
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_EQ(api.requests().size(), 2u) << "both lists were taken from the run's scratch";
  EXPECT_EQ(out.apiRequests, 0);
  ASSERT_EQ(out.evidence.size(), 1u) << out.summary;
  EXPECT_EQ(out.evidence[0].ref, "Runbook checkout-runbook: Crash loops");

  out = api.run("search_runbooks", R"({"query":"crash loop"})", "shop", settings);
  EXPECT_EQ(api.requests().size(), 4u) << "without the run's scratch the lists are read";
  EXPECT_EQ(api.warmUp("search_runbooks", nullptr, "shop", settings), 0) << "nowhere to keep them: nothing read ahead";
  EXPECT_EQ(api.requests().size(), 4u);
  EXPECT_EQ(api.warmUp("get_workload", recent, "shop", settings), 0) << "a tool without ToolSpec::warmUp reads nothing";
}

TEST(RecentObjects, KeepsRecentListsByReaderNamespaceAndSelectors) {
  tools::RecentObjects r;
  const auto t0 = tools::RecentObjects::Clock::now();
  kube::ObjectPtr obj = kube::Object::parse(R"({"metadata":{"name":"a"}})").value();
  using R = tools::RecentObjects;
  const auto key = R::listKeyFor("reader", "shop", "configmaps", "x=y", "");
  r.keepList(key, {obj}, t0);
  ASSERT_TRUE(r.findList(key, std::chrono::seconds(5), t0 + std::chrono::seconds(1)).has_value());
  EXPECT_EQ(r.findList(key, std::chrono::seconds(5), t0 + std::chrono::seconds(1))->front(), obj);
  EXPECT_FALSE(r.findList(key, std::chrono::milliseconds(500), t0 + std::chrono::seconds(1))) << "older than asked";
  EXPECT_FALSE(r.findList(key, std::chrono::seconds(60), t0 + std::chrono::seconds(6))) << "older than kMaxAge";
  for (const auto& other : {R::listKeyFor("other", "shop", "configmaps", "x=y", ""),
                            R::listKeyFor("reader", "ops", "configmaps", "x=y", ""),
                            R::listKeyFor("reader", "shop", "secrets", "x=y", ""),
                            R::listKeyFor("reader", "shop", "configmaps", "x=y", "a=b"),
                            R::listKeyFor("reader", "shop", "configmaps", "x", "=y")}) {
    EXPECT_FALSE(r.findList(other, std::chrono::seconds(5), t0)) << "another reader, namespace, resource or selector";
  }
  r.keepList("empty", {}, t0);
  EXPECT_TRUE(r.findList("empty", std::chrono::seconds(5), t0)) << "an empty list is an answer too";
  r.keepList("long", std::vector<kube::ObjectPtr>(R::kMaxObjects + 1, obj), t0);
  EXPECT_FALSE(r.findList("long", std::chrono::seconds(5), t0)) << "a list too long to keep is not kept";
  for (std::size_t i = 0; i < R::kMaxLists; ++i) r.keepList("l" + std::to_string(i), {obj}, t0 + std::chrono::milliseconds(i + 1));
  EXPECT_FALSE(r.findList(key, std::chrono::seconds(5), t0)) << "the oldest list makes room";
}

TEST(SearchRunbooks, NoRunbooksOrAnUnreadableNamespaceIsSaid) {
  FakeApi api;
  api.on("/api/v1/namespaces/shop/configmaps", list("ConfigMap", {}));
  auto out = api.run("search_runbooks", R"({"query":"crash loop"})");
  ASSERT_TRUE(out.ok);
  EXPECT_EQ(out.summary, "no runbooks in namespace shop (ConfigMaps labelled opscopilot.io/runbook=true)");
  api.forbid("/api/v1/namespaces/shop/configmaps", "configmaps");
  out = api.run("search_runbooks", R"({"query":"crash loop"})");
  EXPECT_TRUE(out.ok) << "runbooks are extra: their absence never fails a run";
  ASSERT_EQ(out.evidence.size(), 1u);
  EXPECT_EQ(out.evidence[0].ref, "ConfigMap/*");
  EXPECT_THAT(out.evidence[0].text, HasSubstr("forbidden"));
}

// The runbook's steps become the fix of the finding it is about, citing it;
// a section about something else changes nothing.
TEST(SearchRunbooks, TheAnalyzerMakesAFittingSectionsStepsTheFix) {
  analyzer_test::TestSink sink;
  sink.addFinding("pods", {"Pod/checkout-1/checkout",
                           "Container checkout in pod checkout-1 crash-loops: log says \"DATABASE_URL is not set\"",
                           agent::Severity::High, 90, {}, "Set DATABASE_URL for container checkout."});
  sink.addFinding("hpa", {"HorizontalPodAutoscaler/web", "HPA web is at its maximum of 4 replicas",
                          agent::Severity::Medium, 80, {}, "Raise maxReplicas."});
  auto step = analyzer_test::stepWithJson(
      "search_runbooks",
      R"({"query":"q","results":[{"namespace":"shop","configMap":"checkout-runbook","key":"runbook.md",
          "heading":"Checkout > Crash loops","ref":"Runbook checkout-runbook: Checkout > Crash loops","score":3.2,
          "text":"1. If DATABASE_URL is not set, re-sync the checkout-db ExternalSecret.\n2. kubectl rollout restart deploy/checkout",
          "steps":["If DATABASE_URL is not set, re-sync the checkout-db ExternalSecret.","kubectl rollout restart deploy/checkout"]}]})",
      {{"R1", "Runbook checkout-runbook: Checkout > Crash loops"}});
  analyzer_test::run(*tools::makeRunbookAnalyzer(), *step, sink);
  ASSERT_EQ(sink.findings().size(), 2u);
  const auto& f = sink.findings()[0];
  EXPECT_EQ(f.remediation,
            "From runbook checkout-runbook (\"Checkout > Crash loops\") [R1]: 1. If DATABASE_URL is not set, re-sync the "
            "checkout-db ExternalSecret. 2. kubectl rollout restart deploy/checkout Built-in advice: Set DATABASE_URL "
            "for container checkout.");
  EXPECT_THAT(f.evidence, ::testing::Contains("R1"));
  EXPECT_EQ(sink.findings()[1].remediation, "Raise maxReplicas.");
  EXPECT_TRUE(sink.findings()[1].evidence.empty());
}

namespace {

std::string pastRun(const std::string& name, const std::string& created, const std::string& phase,
                    const std::string& findings) {
  return R"({"kind":"DiagnosticRun","metadata":{"name":")" + name + R"(","namespace":"shop","creationTimestamp":")" +
         created + R"("},"spec":{"target":{"kind":"Deployment","name":"checkout"}},"status":{"phase":")" + phase +
         R"(","reason":"Completed","findings":[)" + findings + "]}}";
}

std::string isoDaysAgo(int days) {
  auto t = std::chrono::system_clock::now() - std::chrono::hours(24 * days);
  return agent::formatTime(t);
}

}  // namespace

TEST(RecallPastRuns, ListsWhatEarlierFinishedRunsOnTheTargetFoundAndMarksRepeats) {
  FakeApi api;
  const std::string oom = R"({"severity":"High","title":"Container checkout in pod checkout-7d9f8b6c5-x2x7q was OOMKilled: limit 256Mi"})";
  const std::string low = R"({"severity":"Low","title":"Container checkout restarted 1 time"})";
  api.on("/apis/opscopilot.io/v1alpha1/namespaces/shop/diagnosticruns",
         list("DiagnosticRun",
              {pastRun("monday", isoDaysAgo(3), "Succeeded", oom + "," + low),
               pastRun("tuesday", isoDaysAgo(2), "Succeeded", oom),
               pastRun("last-month", isoDaysAgo(40), "Succeeded", oom),
               pastRun("running", isoDaysAgo(0), "Running", oom),
               pastRun("healthy", isoDaysAgo(1), "Succeeded", "")}));
  auto out = api.run("recall_past_runs", R"({"kind":"Deployment","name":"checkout"})");
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_EQ(paramOf(api.requests().back().target, "fieldSelector"),
            "spec.target.kind%3DDeployment%2Cspec.target.name%3Dcheckout");
  EXPECT_EQ(test::headerOf(api.requests().back(), "Impersonate-User"), kReader);
  EXPECT_EQ(out.summary, "3 earlier finished runs on Deployment/checkout in the last 7 days, 2 with findings");
  ASSERT_EQ(out.evidence.size(), 2u);
  EXPECT_EQ(out.evidence[0].ref, "DiagnosticRun/tuesday");
  EXPECT_THAT(out.evidence[1].text, HasSubstr("(High) Container checkout in pod checkout-7d9f8b6c5-x2x7q was OOMKilled"));
  EXPECT_THAT(out.evidence[1].text, Not(HasSubstr("restarted"))) << "only Medium and worse";
  EXPECT_THAT(out.evidence[1].text, Not(HasSubstr("limit 256Mi"))) << "the headline only, never the details";

  analyzer_test::TestSink sink;
  sink.addFinding("pods", {"Pod/checkout-5c6b7d8f9-q2w4r/checkout",
                           "Container checkout in pod checkout-5c6b7d8f9-q2w4r was OOMKilled: limit 512Mi, 3 restarts",
                           agent::Severity::High, 90, {}, "Raise the memory limit."});
  sink.addFinding("workload", {"Deployment/checkout", "Deployment checkout has no available replicas",
                               agent::Severity::High, 80, {}, ""});
  std::vector<agent::StepView::Cited> cited;
  for (std::size_t i = 0; i < out.evidence.size(); ++i) cited.push_back({"E" + std::to_string(i + 7), out.evidence[i].ref});
  auto step = analyzer_test::stepWithJson("recall_past_runs", kube::serializeJson(*out.data), cited,
                                          R"({"kind":"Deployment","name":"checkout"})");
  analyzer_test::run(*tools::makePastRunsAnalyzer(), *step, sink);
  const auto& f = sink.findings()[0];
  EXPECT_THAT(f.title, HasSubstr("; seen before: 2 earlier runs in the last 7 days found the same (tuesday on 20"));
  EXPECT_THAT(f.evidence, ::testing::IsSupersetOf({"E7", "E8"}));
  EXPECT_THAT(sink.findings()[1].title, Not(HasSubstr("seen before")));
}

// Right after a crash the real kubelet answers with its placeholder for
// 10-15 s: the tool asks again (within its deadline) until the log is there;
// for a container that exited long ago it does not wait.
TEST(GetPodLogs, ThePlaceholderRightAfterACrashIsWaitedOutWithinTheDeadline) {
  FakeApi api;
  auto podJson = [](const std::string& finishedAt, const std::string& state = R"({"waiting":{"reason":"CrashLoopBackOff"}})") {
    return R"({"metadata":{"name":"web-1"},"spec":{"containers":[{"name":"app"}]},
             "status":{"containerStatuses":[{"name":"app","restartCount":1,
               "state":)" + state + R"(,
               "lastState":{"terminated":{"exitCode":1,"reason":"Error","finishedAt":")" + finishedAt + R"("}}}]}})";
  };
  const std::string current = "/api/v1/namespaces/shop/pods/web-1/log?container=app&tailLines=100&limitBytes=262144";
  const std::string prev = "/api/v1/namespaces/shop/pods/web-1/log?container=app&previous=true&tailLines=100&limitBytes=262144";
  const std::string gone = "unable to retrieve container logs for containerd://7e68f2152a70955311b429587e7b6119cf48";
  tools::ToolSettings settings;
  settings.logRetryInterval = std::chrono::milliseconds(10);
  // Restarted and running again: the crash is in the previous instance.
  api.on("/api/v1/namespaces/shop/pods/web-1",
         podJson(agent::formatTime(std::chrono::system_clock::now()), R"({"running":{"startedAt":"2026-01-01T00:00:00Z"}})"));
  api.onSequence(prev, {gone, gone, "fatal: open /host/proc/meminfo: no such file or directory\n"});
  auto out = api.run("get_pod_logs", R"({"pod":"web-1","previous":true})", "shop", settings);
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_THAT(out.evidence[0].text, HasSubstr("/host/proc/meminfo"));
  EXPECT_EQ(out.evidence[0].ref, "Pod/web-1 container app (previous)");
  EXPECT_EQ(api.requests().size(), 1u + 3u) << "the pod, then the previous instance three times";

  // Waiting to restart: the most recent instance is the one that crashed; it
  // is read at once when the previous one is gone, and waited out the same way.
  FakeApi later;
  settings.logRetryFor = std::chrono::milliseconds(1500);
  later.on("/api/v1/namespaces/shop/pods/web-1", podJson(agent::formatTime(std::chrono::system_clock::now())));
  later.on(prev, status(400, "BadRequest", "previous terminated container \\\"app\\\" in pod \\\"web-1\\\" not found"), 400);
  later.onSequence(current, {gone, "fatal: open /host/proc/meminfo: no such file or directory\n"});
  out = later.run("get_pod_logs", R"({"pod":"web-1","previous":true})", "shop", settings);
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_THAT(out.evidence[0].text, HasSubstr("/host/proc/meminfo"));
  EXPECT_EQ(out.evidence[0].ref, "Pod/web-1 container app (most recent instance)");

  // Exited a minute ago: the placeholder is not transient; no waiting.
  FakeApi old;
  old.on("/api/v1/namespaces/shop/pods/web-1",
         podJson(agent::formatTime(std::chrono::system_clock::now() - std::chrono::minutes(1))));
  old.on(prev, gone);
  old.on(current, gone);
  out = old.run("get_pod_logs", R"({"pod":"web-1","previous":true})", "shop", settings);
  EXPECT_EQ(out.errorReason, "NotFound");
  EXPECT_EQ(old.requests().size(), 3u);
}

// ---- Follow-up runs (spec.previousRun).

TEST(RecallPreviousRun, BringsTheEarlierAnswerAndTheEvidenceItsFindingsCited) {
  FakeApi api;
  api.on("/apis/opscopilot.io/v1alpha1/namespaces/shop/diagnosticruns/why-checkout",
         R"x({"kind":"DiagnosticRun","metadata":{"name":"why-checkout","namespace":"shop"},
             "spec":{"question":"Why is checkout crash-looping?"},
             "status":{"phase":"Succeeded","reason":"Completed","completionTime":"2026-12-03T10:00:00Z",
               "answer":"**Root cause:** DATABASE_URL is not set [E3].",
               "findings":[{"id":"F1","severity":"High","title":"Container checkout in pod checkout-7d9f8b6c5-x2x7q crash-loops: log says DATABASE_URL","evidence":["E3"]},
                           {"id":"F2","severity":"Low","title":"Service checkout has 1 endpoint","evidence":[]}],
               "evidence":[{"id":"E1","tool":"get_workload","ref":"Deployment/checkout","excerpt":"1 replica"},
                           {"id":"E3","tool":"get_pod_logs","ref":"Pod/checkout-7d9f8b6c5-x2x7q container checkout (previous)","excerpt":"FATAL DATABASE_URL is not set"}],
               "steps":[{"id":1,"node":"planner","state":"Succeeded"},
                        {"id":2,"node":"tool","tool":"get_workload","args":{"kind":"Deployment","name":"checkout"},"state":"Succeeded"},
                        {"id":3,"node":"tool","tool":"get_pod_logs","args":{"pod":"checkout-7d9f8b6c5-x2x7q","previous":true},"state":"Succeeded"},
                        {"id":4,"node":"tool","tool":"get_events","args":{"kind":"Pod","name":"x"},"state":"Failed"}]}})x");
  auto out = api.run("recall_previous_run", R"({"name":"why-checkout"})");
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_EQ(test::headerOf(api.requests().back(), "Impersonate-User"), kReader);
  ASSERT_EQ(out.evidence.size(), 2u);
  EXPECT_EQ(out.evidence[0].ref, "DiagnosticRun/why-checkout answer");
  EXPECT_THAT(out.evidence[0].text, HasSubstr("was asked \"Why is checkout crash-looping?\" and answered: **Root cause:**"));
  EXPECT_EQ(out.evidence[1].ref, "DiagnosticRun/why-checkout E3 Pod/checkout-7d9f8b6c5-x2x7q container checkout (previous)");
  EXPECT_THAT(out.evidence[1].text, HasSubstr("FATAL DATABASE_URL is not set"));
  EXPECT_EQ((*out.data)["calls"].Size(), 2u) << "the succeeded tool steps only";

  // The analyzer: reads again the workload (not the old pod's log) and
  // records what the earlier run found; later findings are compared.
  analyzer_test::TestSink sink;
  auto analyzers = tools::builtinAnalyzers();
  auto step = analyzer_test::stepWithJson("recall_previous_run", kube::serializeJson(*out.data),
                                          {{"E1", out.evidence[0].ref}, {"E2", out.evidence[1].ref}}, R"({"name":"why-checkout"})");
  analyzer_test::feed(analyzers, *step, sink);
  EXPECT_TRUE(sink.suggested("get_workload", R"({"kind":"Deployment","name":"checkout"})"));
  EXPECT_FALSE(sink.suggested("get_pod_logs"));
  const auto* earlier = sink.bySubject("DiagnosticRun/why-checkout");
  ASSERT_NE(earlier, nullptr);
  EXPECT_EQ(earlier->title, "Earlier run why-checkout (finished 2026-12-03T10:00:00Z) found: (High) Container checkout in pod "
                            "checkout-7d9f8b6c5-x2x7q crash-loops");
  EXPECT_THAT(earlier->evidence, ::testing::ElementsAre("E1"));

  sink.addFinding("pods", {"Pod/checkout-5c6b7d8f9-q2w4r/checkout",
                           "Container checkout in pod checkout-5c6b7d8f9-q2w4r crash-loops: log says db.shop:5432 refused",
                           agent::Severity::High, 90, {}, "Fix the database."});
  sink.addFinding("workload", {"Deployment/checkout", "Deployment checkout has no available replicas",
                               agent::Severity::High, 80, {}, ""});
  auto next = analyzer_test::stepWithJson("get_quotas", R"({"resourceQuotas":[],"limitRanges":[]})", {{"E3", "ResourceQuota/*"}});
  analyzer_test::feed(analyzers, *next, sink);
  EXPECT_THAT(sink.bySubject("Pod/checkout-5c6b7d8f9-q2w4r/checkout")->title,
              HasSubstr("db.shop:5432 refused; the earlier run why-checkout found it too"));
  EXPECT_THAT(sink.bySubject("Deployment/checkout")->title, HasSubstr("; new since the earlier run why-checkout"));
  EXPECT_THAT(sink.bySubject("DiagnosticRun/why-checkout")->title, HasSubstr("crash-loops [still seen]"));
  // Marked once, however many steps follow.
  analyzer_test::feed(analyzers, *next, sink);
  const auto& t = sink.bySubject("Deployment/checkout")->title;
  EXPECT_EQ(t.find("new since"), t.rfind("new since"));
}

TEST(RecallPreviousRun, ARunNotFinishedIsNotRead) {
  FakeApi api;
  api.on("/apis/opscopilot.io/v1alpha1/namespaces/shop/diagnosticruns/busy",
         R"({"kind":"DiagnosticRun","metadata":{"name":"busy"},"spec":{"question":"q"},"status":{"phase":"Running"}})");
  auto out = api.run("recall_previous_run", R"({"name":"busy"})");
  EXPECT_FALSE(out.ok);
  EXPECT_THAT(out.summary, HasSubstr("has not finished (Running)"));
}

TEST(FollowUp, EventsAndLogsKeepToWhatIsNewerThanTheEarlierRun) {
  FakeApi api;
  auto ev = [](const std::string& name, const std::string& when) {
    return R"({"metadata":{"name":")" + name + R"("},"type":"Warning","reason":"BackOff","message":")" + name +
           R"(","involvedObject":{"kind":"Pod","name":"web-1"},"lastTimestamp":")" + when + R"("})";
  };
  const auto since = std::chrono::system_clock::now() - std::chrono::minutes(10);
  api.on("/api/v1/namespaces/shop/events",
         list("Event", {ev("old-one", agent::formatTime(since - std::chrono::minutes(5))),
                        ev("new-one", agent::formatTime(since + std::chrono::minutes(5)))}));
  api.on("/api/v1/namespaces/shop/pods/web-1",
         R"({"metadata":{"name":"web-1"},"spec":{"containers":[{"name":"app"}]},"status":{"containerStatuses":[{"name":"app","restartCount":0,"state":{"running":{}}}]}})");
  api.on("/api/v1/namespaces/shop/pods/web-1/log", "late line\n");
  rapidjson::Document args;
  agent::ToolContext ctx{"shop", std::chrono::steady_clock::now() + std::chrono::seconds(10)};
  ctx.since = since;
  args.Parse(R"({})");
  auto out = tools::makeGetEventsTool(api.client(), {})->run(ctx, args);
  ASSERT_TRUE(out.ok) << out.summary;
  EXPECT_THAT(out.summary, HasSubstr("1 event for namespace shop"));
  EXPECT_THAT(out.summary, HasSubstr("(1 older, read by the earlier run, left out)"));
  EXPECT_THAT(allText(out), HasSubstr("new-one"));
  EXPECT_THAT(allText(out), Not(HasSubstr("old-one")));

  args.Parse(R"({"pod":"web-1"})");
  out = tools::makeGetPodLogsTool(api.client(), {})->run(ctx, args);
  ASSERT_TRUE(out.ok) << out.summary;
  const auto sinceSeconds = paramOf(api.requests().back().target, "sinceSeconds");
  EXPECT_NEAR(std::stoi(sinceSeconds), 601, 5);
  EXPECT_THAT(out.summary, HasSubstr("logged since the earlier run finished"));
}
