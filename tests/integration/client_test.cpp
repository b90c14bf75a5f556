// The client against the real kube-apiserver of hack/cluster.sh.
#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include <fstream>

#include "cluster_env.h"
#include "operator/kube/client.h"

using namespace opscopilot;
using namespace opscopilot::kube;
using namespace opscopilot::test;

namespace {

std::string configMap(const std::string& name, const std::string& value, const std::string& labels = "{}") {
  return R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + name + R"(","labels":)" + labels +
         R"(},"data":{"k":")" + value + R"("}})";
}

class ClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client = clientFor("admin");
    ASSERT_NE(client, nullptr);
    ns = createNamespace("client");
  }
  void TearDown() override { deleteNamespace(ns); }
  std::shared_ptr<Client> client;
  std::string ns;
};

}  // namespace

TEST_F(ClientTest, ServerVersionIsThePinnedRelease) {
  auto v = client->getRaw("/version");
  ASSERT_TRUE(v.ok()) << v.error().toString();
  EXPECT_NE(v->find("\"gitVersion\": \"v1."), std::string::npos) << *v;
}

TEST_F(ClientTest, CreateGetUpdatePatchDeleteConfigMap) {
  auto created = client->create(resources::kConfigMaps, ns, agent::redactJsonBody(configMap("cm", "one")));
  ASSERT_TRUE(created.ok()) << created.error().toString();
  EXPECT_EQ((*created)->ns(), ns);

  auto got = client->get(resources::kConfigMaps, ns, "cm");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ((*got)->stringAt({"data", "k"}), "one");

  rapidjson::Document doc;
  doc.Parse((*got)->serialize().c_str());
  doc["data"]["k"].SetString("two");
  auto updated = client->update(resources::kConfigMaps, ns, "cm", agent::redactJson(doc));
  ASSERT_TRUE(updated.ok()) << updated.error().toString();
  EXPECT_EQ((*updated)->stringAt({"data", "k"}), "two");

  auto merged = client->patch(resources::kConfigMaps, ns, "cm", PatchType::Merge, agent::redactJsonBody(R"({"data":{"m":"x"}})"));
  ASSERT_TRUE(merged.ok()) << merged.error().toString();
  EXPECT_EQ((*merged)->stringAt({"data", "m"}), "x");

  auto jsonPatched = client->patch(resources::kConfigMaps, ns, "cm", PatchType::Json,
                                   agent::redactJsonBody(R"([{"op":"replace","path":"/data/k","value":"three"}])"));
  ASSERT_TRUE(jsonPatched.ok()) << jsonPatched.error().toString();
  EXPECT_EQ((*jsonPatched)->stringAt({"data", "k"}), "three");

  auto strategic = client->patch(resources::kConfigMaps, ns, "cm", PatchType::StrategicMerge,
                                 agent::redactJsonBody(R"({"metadata":{"labels":{"s":"y"}}})"));
  ASSERT_TRUE(strategic.ok()) << strategic.error().toString();
  EXPECT_EQ((*strategic)->label("s"), "y");

  ASSERT_TRUE(client->remove(resources::kConfigMaps, ns, "cm").ok());
  auto gone = client->get(resources::kConfigMaps, ns, "cm");
  ASSERT_FALSE(gone.ok());
  EXPECT_TRUE(gone.error().isNotFound());
  EXPECT_EQ(gone.error().httpCode, 404);
  auto again = client->remove(resources::kConfigMaps, ns, "cm");
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.error().isNotFound());
}

TEST_F(ClientTest, StaleResourceVersionIsAConflict) {
  auto created = client->create(resources::kConfigMaps, ns, agent::redactJsonBody(configMap("cm", "one")));
  ASSERT_TRUE(created.ok());
  auto stale = (*created)->serialize();
  ASSERT_TRUE(client->patch(resources::kConfigMaps, ns, "cm", PatchType::Merge, agent::redactJsonBody(R"({"data":{"k":"new"}})")).ok());
  auto r = client->update(resources::kConfigMaps, ns, "cm", agent::redactJsonBody(stale));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().httpCode, 409);
  EXPECT_TRUE(r.error().isConflict());
  EXPECT_NE(r.error().message.find("modified"), std::string::npos) << r.error().message;

  auto dup = client->create(resources::kConfigMaps, ns, agent::redactJsonBody(configMap("cm", "x")));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().reason, "AlreadyExists");
}

TEST_F(ClientTest, InvalidObjectIsReportedWithTheServersMessage) {
  auto r = client->create(resources::kConfigMaps, ns, agent::redactJsonBody(configMap("Not_A_Valid_Name", "x")));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().httpCode, 422);
  EXPECT_EQ(r.error().reason, "Invalid");
  EXPECT_NE(r.error().message.find("Not_A_Valid_Name"), std::string::npos);
}

TEST_F(ClientTest, PaginatesOverMoreObjectsThanOnePage) {
  const int n = 25;
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(client->create(resources::kConfigMaps, ns, agent::redactJsonBody(configMap("page-" + std::to_string(i), "v", R"({"set":"paged"})"))).ok());
  }
  ListOptions lo;
  lo.labelSelector = "set=paged";
  lo.limit = 10;
  auto first = client->listPage(resources::kConfigMaps, ns, lo);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->items.size(), 10u);
  EXPECT_FALSE(first->continueToken.empty());

  auto before = client->requestCount();
  auto all = client->list(resources::kConfigMaps, ns, lo);
  ASSERT_TRUE(all.ok()) << all.error().toString();
  EXPECT_EQ(all->items.size(), static_cast<std::size_t>(n));
  EXPECT_EQ(client->requestCount() - before, 3u) << "25 objects in pages of 10";
  EXPECT_FALSE(all->resourceVersion.empty());
  EXPECT_EQ(all->items[0]->kind(), "ConfigMap");
}

TEST_F(ClientTest, StatusSubresourceOfACustomResource) {
  const std::string crd = R"({"apiVersion":"apiextensions.k8s.io/v1","kind":"CustomResourceDefinition",
    "metadata":{"name":"widgets.test.opscopilot.io"},
    "spec":{"group":"test.opscopilot.io","scope":"Namespaced",
      "names":{"plural":"widgets","singular":"widget","kind":"Widget"},
      "versions":[{"name":"v1","served":true,"storage":true,"subresources":{"status":{}},
        "schema":{"openAPIV3Schema":{"type":"object","properties":{
          "spec":{"type":"object","properties":{"size":{"type":"integer"}}},
          "status":{"type":"object","properties":{"phase":{"type":"string"}}}}}}}]}})";
  ResourceRef crds{"apiextensions.k8s.io", "v1", "customresourcedefinitions", false};
  auto c = client->create(crds, "", agent::redactJsonBody(crd));
  ASSERT_TRUE(c.ok() || c.error().reason == "AlreadyExists") << c.error().toString();
  ResourceRef widgets{"test.opscopilot.io", "v1", "widgets", true};
  // The new resource is served once the CRD is Established.
  ASSERT_TRUE(waitFor([&] { return client->listPage(widgets, ns).ok(); }));

  auto w = client->create(widgets, ns,
                          agent::redactJsonBody(R"({"apiVersion":"test.opscopilot.io/v1","kind":"Widget","metadata":{"name":"w"},"spec":{"size":1},"status":{"phase":"Ignored"}})"));
  ASSERT_TRUE(w.ok()) << w.error().toString();
  EXPECT_EQ((*w)->at({"status"}), nullptr) << "status is dropped on create when the subresource is on";

  auto s = client->patch(widgets, ns, "w", PatchType::Merge, agent::redactJsonBody(R"({"status":{"phase":"Ready"},"spec":{"size":9}})"), {},
                         "status");
  ASSERT_TRUE(s.ok()) << s.error().toString();
  EXPECT_EQ((*s)->stringAt({"status", "phase"}), "Ready");
  EXPECT_EQ((*s)->intAt({"spec", "size"}), 1) << "the status endpoint ignores spec";

  rapidjson::Document doc;
  doc.Parse((*s)->serialize().c_str());
  doc["status"]["phase"].SetString("Done");
  auto u = client->updateStatus(widgets, ns, "w", agent::redactJson(doc));
  ASSERT_TRUE(u.ok()) << u.error().toString();
  EXPECT_EQ((*u)->stringAt({"status", "phase"}), "Done");
  EXPECT_GT(std::stoll(std::string((*u)->resourceVersion())), std::stoll(std::string((*s)->resourceVersion())));
}

TEST_F(ClientTest, PodLogsCurrentAndPreviousFromAKwokPod) {
  // kwok serves logs from files named by a Logs object (see hack/cluster.sh).
  const std::string dir = clusterDir() + "/test-logs/" + ns;
  ASSERT_EQ(run("mkdir -p " + dir), 0);
  // kwok reads files in the kubelet's CRI log format and serves the messages.
  std::string current, previous, currentCri;
  for (int i = 1; i <= 100; ++i) {
    current += "current line " + std::to_string(i) + "\n";
    currentCri += "2026-01-01T00:00:00.000000000Z stdout F current line " + std::to_string(i) + "\n";
  }
  previous = "previous run: panic: DATABASE_URL is not set\n";
  std::ofstream(dir + "/app.log") << currentCri;
  std::ofstream(dir + "/app.previous.log") << "2026-01-01T00:00:00.000000000Z stderr F " << previous;

  ResourceRef logsRes{"kwok.x-k8s.io", "v1alpha1", "logs", true};
  auto logs = client->create(logsRes, ns, agent::redactJsonBody(R"({"apiVersion":"kwok.x-k8s.io/v1alpha1","kind":"Logs",
      "metadata":{"name":"logger"},"spec":{"logs":[{"containers":["app"],
      "logsFile":")" + dir + R"(/app.log","previousLogsFile":")" + dir + R"(/app.previous.log"}]}})"));
  ASSERT_TRUE(logs.ok()) << logs.error().toString();
  auto pod = client->create(resources::kPods, ns, agent::redactJsonBody(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"logger"},
      "spec":{"containers":[{"name":"app","image":"busybox:1.36"}],
      "tolerations":[{"key":"kwok.x-k8s.io/node","operator":"Exists","effect":"NoSchedule"}]}})"));
  ASSERT_TRUE(pod.ok()) << pod.error().toString();
  ASSERT_TRUE(waitFor([&] {
    auto p = client->get(resources::kPods, ns, "logger");
    return p.ok() && (*p)->stringAt({"status", "phase"}) == "Running";
  })) << "the pod never ran on a kwok node";

  Result<std::string> text = Error{};
  ASSERT_TRUE(waitFor([&] {
    text = client->podLogs(ns, "logger", LogOptions{"app"});
    return text.ok() && !text->empty();
  })) << (text.ok() ? "empty logs" : text.error().toString());
  EXPECT_EQ(*text, current);

  LogOptions prev{"app"};
  prev.previous = true;
  auto p = client->podLogs(ns, "logger", prev);
  ASSERT_TRUE(p.ok()) << p.error().toString();
  EXPECT_EQ(*p, previous);

  LogOptions tail{"app"};
  tail.tailLines = 3;
  auto t = client->podLogs(ns, "logger", tail);
  ASSERT_TRUE(t.ok()) << t.error().toString();
  EXPECT_EQ(*t, "current line 98\ncurrent line 99\ncurrent line 100\n");

  LogOptions limited{"app"};
  limited.limitBytes = 20;
  auto l = client->podLogs(ns, "logger", limited);
  ASSERT_TRUE(l.ok()) << l.error().toString();
  EXPECT_EQ(l->size(), 20u);

  auto missing = client->podLogs(ns, "no-such-pod", LogOptions{"app"});
  ASSERT_FALSE(missing.ok());
  EXPECT_TRUE(missing.error().isNotFound());
}
