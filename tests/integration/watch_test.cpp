// Watches and informers against the real kube-apiserver, including a restart
// of the apiserver underneath a running informer.
#include <gtest/gtest.h>

#include <mutex>
#include <set>

#include "cluster_env.h"
#include "operator/kube/informer.h"

using namespace opscopilot;
using namespace opscopilot::kube;
using namespace opscopilot::test;

namespace {

std::string configMap(const std::string& name) {
  return R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":")" + name + R"(","labels":{"t":"watch"}}})";
}

// Records what an informer's handlers saw.
struct Seen {
  std::mutex mu;
  std::set<std::string> added, updated, deleted;
  EventHandlers handlers() {
    return {[this](const ObjectPtr& o) { std::lock_guard l(mu); added.insert(std::string(o->name())); },
            [this](const ObjectPtr&, const ObjectPtr& n) { std::lock_guard l(mu); updated.insert(std::string(n->name())); },
            [this](const ObjectPtr& o) { std::lock_guard l(mu); deleted.insert(std::string(o->name())); }};
  }
  bool has(std::set<std::string> Seen::*which, const std::string& name) {
    std::lock_guard l(mu);
    return (this->*which).count(name) > 0;
  }
};

class WatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    client = clientFor("admin");
    ASSERT_NE(client, nullptr);
    ns = createNamespace("watch");
  }
  void TearDown() override { deleteNamespace(ns); }
  WatcherOptions options() {
    WatcherOptions o;
    o.resource = resources::kConfigMaps;
    o.ns = ns;
    o.labelSelector = "t=watch";
    o.backoffInitial = std::chrono::milliseconds(100);
    o.backoffMax = std::chrono::milliseconds(1000);
    return o;
  }
  std::shared_ptr<Client> client;
  std::string ns;
};

}  // namespace

TEST_F(WatchTest, InformerSeesAddModifyAndDelete) {
  ASSERT_TRUE(client->create(resources::kConfigMaps, ns, agent::redactJsonBody(configMap("before"))).ok());
  Seen seen;
  Informer inf(client, options());
  inf.addHandlers(seen.handlers());
  inf.start();
  ASSERT_TRUE(inf.waitForSync(std::chrono::seconds(10)));
  EXPECT_TRUE(seen.has(&Seen::added, "before"));

  ASSERT_TRUE(client->create(resources::kConfigMaps, ns, agent::redactJsonBody(configMap("a"))).ok());
  ASSERT_TRUE(waitFor([&] { return seen.has(&Seen::added, "a"); }));
  ASSERT_TRUE(client->patch(resources::kConfigMaps, ns, "a", PatchType::Merge, agent::redactJsonBody(R"({"data":{"x":"1"}})")).ok());
  ASSERT_TRUE(waitFor([&] { return seen.has(&Seen::updated, "a"); }));
  EXPECT_EQ(inf.get(ns + "/a")->stringAt({"data", "x"}), "1");
  ASSERT_TRUE(client->remove(resources::kConfigMaps, ns, "a").ok());
  ASSERT_TRUE(waitFor([&] { return seen.has(&Seen::deleted, "a"); }));
  EXPECT_EQ(inf.get(ns + "/a"), nullptr);
  EXPECT_EQ(inf.watcher().listCount(), 1u);
}

TEST_F(WatchTest, WatchSurvivesApiserverRestartWithNoEventLost) {
  ASSERT_TRUE(client->create(resources::kConfigMaps, ns, agent::redactJsonBody(configMap("old"))).ok());
  Seen seen;
  Informer inf(client, options());
  inf.addHandlers(seen.handlers());
  inf.start();
  ASSERT_TRUE(inf.waitForSync(std::chrono::seconds(10)));
  auto watchesBefore = inf.watcher().watchCount();

  std::string out;
  ASSERT_EQ(run("bash " + repoRoot() + "/hack/cluster.sh restart-apiserver", &out), 0) << out;

  // Changes made as soon as the server is back, before the informer has
  // necessarily reconnected, must all reach it.
  ASSERT_TRUE(waitFor([&] { return client->create(resources::kConfigMaps, ns, agent::redactJsonBody(configMap("new"))).ok(); }));
  ASSERT_TRUE(client->patch(resources::kConfigMaps, ns, "old", PatchType::Merge, agent::redactJsonBody(R"({"data":{"v":"2"}})")).ok());
  ASSERT_TRUE(client->create(resources::kConfigMaps, ns, agent::redactJsonBody(configMap("doomed"))).ok());
  ASSERT_TRUE(client->remove(resources::kConfigMaps, ns, "doomed").ok());

  ASSERT_TRUE(waitFor([&] {
    auto old = inf.get(ns + "/old");
    return inf.get(ns + "/new") && old && old->stringAt({"data", "v"}) == "2" && !inf.get(ns + "/doomed");
  }, std::chrono::seconds(60)));
  EXPECT_TRUE(seen.has(&Seen::added, "new"));
  EXPECT_TRUE(seen.has(&Seen::updated, "old"));
  EXPECT_EQ(inf.get(ns + "/doomed"), nullptr);
  EXPECT_GT(inf.watcher().watchCount(), watchesBefore) << "the watch was re-established";
  EXPECT_EQ(inf.size(), 2u);
}

TEST_F(WatchTest, TooOldResourceVersionLeadsToRelist) {
  ASSERT_TRUE(client->create(resources::kConfigMaps, ns, agent::redactJsonBody(configMap("x"))).ok());
  auto o = options();
  o.initialResourceVersion = "1";  // long compacted away / older than the watch cache
  Informer inf(client, o);
  inf.start();
  ASSERT_TRUE(inf.waitForSync(std::chrono::seconds(20))) << "a 410 must lead to a list";
  EXPECT_EQ(inf.watcher().listCount(), 1u);
  EXPECT_NE(inf.get(ns + "/x"), nullptr);
}

TEST_F(WatchTest, RawWatchDeliversBookmarksWhenAsked) {
  // A short server-side timeout ends the watch cleanly; the call returns ok.
  net::Cancellation cancel;
  WatchOptions wo;
  wo.timeoutSeconds = 1;
  auto list = client->listPage(resources::kConfigMaps, ns);
  ASSERT_TRUE(list.ok());
  wo.resourceVersion = list->resourceVersion;
  std::string received;
  auto start = std::chrono::steady_clock::now();
  auto r = client->watch(resources::kConfigMaps, ns, wo,
                         [&](std::string_view d) { received.append(d); return true; }, cancel);
  ASSERT_TRUE(r.ok()) << r.error().toString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(10));
}

TEST_F(WatchTest, CancelEndsAnIdleWatchPromptly) {
  net::Cancellation cancel;
  WatchOptions wo;
  std::thread stopper([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    cancel.cancel();
  });
  auto start = std::chrono::steady_clock::now();
  auto r = client->watch(resources::kConfigMaps, ns, wo, [](std::string_view) { return true; }, cancel);
  stopper.join();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().reason, "Cancelled");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}
