#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <thread>

#include "fake_transport.h"
#include "operator/kube/informer.h"
#include "operator/kube/watcher.h"

using namespace opscopilot;
using namespace opscopilot::kube;

namespace {

std::string podJson(const std::string& name, int rv) {
  return R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + name +
         R"(","namespace":"n","resourceVersion":")" + std::to_string(rv) + R"("}})";
}
std::string event(const std::string& type, const std::string& obj) {
  return R"({"type":")" + type + R"(","object":)" + obj + "}\n";
}
std::string listJson(int rv, const std::vector<std::string>& items) {
  std::string s = R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":")" + std::to_string(rv) +
                  R"("},"items":[)";
  for (std::size_t i = 0; i < items.size(); ++i) s += (i ? "," : "") + items[i];
  return s + "]}";
}
std::string paramOf(const std::string& target, const std::string& key) {
  auto p = target.find(key + "=");
  if (p == std::string::npos) return {};
  auto e = target.find('&', p);
  return target.substr(p + key.size() + 1, e == std::string::npos ? std::string::npos : e - p - key.size() - 1);
}

// Scripts a server: a queue of list answers and a queue of watch behaviours.
struct ScriptedServer {
  std::mutex mu;
  std::deque<std::string> lists;
  std::deque<std::function<net::Result<net::HttpResponse>(const net::DataHandler&, net::Cancellation&)>> watches;
  std::shared_ptr<test::FakeTransport> transport = std::make_shared<test::FakeTransport>();

  ScriptedServer() {
    transport->onRoundTrip = [this](const net::HttpRequest&) {
      std::lock_guard l(mu);
      if (lists.empty()) return net::Result<net::HttpResponse>(net::HttpResponse{500, {}, "no list scripted"});
      auto body = lists.front();
      lists.pop_front();
      return net::Result<net::HttpResponse>(net::HttpResponse{200, {}, body});
    };
    transport->onStream = [this](const net::HttpRequest&, const net::DataHandler& onData, net::Cancellation& c) {
      std::function<net::Result<net::HttpResponse>(const net::DataHandler&, net::Cancellation&)> next;
      {
        std::lock_guard l(mu);
        if (!watches.empty()) {
          next = watches.front();
          watches.pop_front();
        }
      }
      if (!next) {
        c.sleepFor(std::chrono::seconds(30));  // an idle watch until the test stops
        return net::Result<net::HttpResponse>(net::Error{0, "Cancelled", "cancelled"});
      }
      return next(onData, c);
    };
  }
  std::shared_ptr<Client> client() {
    ClientConfig cfg;
    cfg.server = "https://127.0.0.1:1";
    return std::make_shared<Client>(cfg, transport);
  }
  std::vector<std::string> watchTargets() {
    std::vector<std::string> out;
    for (const auto& r : transport->requests()) {
      if (r.target.find("watch=true") != std::string::npos) out.push_back(r.target);
    }
    return out;
  }
};

auto sends(std::vector<std::string> pieces, net::Result<net::HttpResponse> end) {
  return [pieces, end](const net::DataHandler& onData, net::Cancellation&) {
    for (const auto& p : pieces) {
      if (!onData(p)) break;
    }
    return end;
  };
}
net::Result<net::HttpResponse> ok200() { return net::HttpResponse{200, {}, {}}; }

WatcherOptions fastOptions() {
  WatcherOptions o;
  o.resource = resources::kPods;
  o.ns = "n";
  o.backoffInitial = std::chrono::milliseconds(1);
  o.backoffMax = std::chrono::milliseconds(5);
  return o;
}

template <class Pred>
bool eventually(Pred p) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (p()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return p();
}

}  // namespace

TEST(Watcher, ResumesFromLastResourceVersionAfterDisconnect) {
  ScriptedServer s;
  s.lists.push_back(listJson(10, {podJson("a", 10)}));
  s.watches.push_back(sends({event("ADDED", podJson("b", 11)), event("BOOKMARK", podJson("", 15))},
                            net::Error{0, "ConnectionError", "connection reset"}));
  s.watches.push_back(sends({event("MODIFIED", podJson("b", 16))}, ok200()));
  Informer inf(s.client(), fastOptions());
  inf.start();
  ASSERT_TRUE(inf.waitForSync(std::chrono::seconds(5)));
  ASSERT_TRUE(eventually([&] { return s.watchTargets().size() >= 3; }));
  auto targets = s.watchTargets();
  EXPECT_EQ(paramOf(targets[0], "resourceVersion"), "10");
  EXPECT_EQ(paramOf(targets[1], "resourceVersion"), "15") << "bookmark advances the resume point";
  EXPECT_EQ(paramOf(targets[2], "resourceVersion"), "16");
  EXPECT_EQ(paramOf(targets[0], "allowWatchBookmarks"), "true");
  EXPECT_EQ(inf.watcher().listCount(), 1u) << "a disconnect does not relist";
  EXPECT_EQ(inf.size(), 2u);
  EXPECT_EQ(inf.get("n/b")->resourceVersion(), "16");
}

TEST(Watcher, GoneLeadsToRelistAndTheCacheConverges) {
  ScriptedServer s;
  s.lists.push_back(listJson(10, {podJson("a", 10), podJson("b", 10)}));
  // While the watch was away, "a" was deleted and "c" created.
  s.lists.push_back(listJson(30, {podJson("b", 10), podJson("c", 29)}));
  s.watches.push_back(sends({event("ERROR", R"({"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"})")},
                            ok200()));
  std::atomic<int> adds{0}, deletes{0};
  Informer inf(s.client(), fastOptions());
  inf.addHandlers({[&](const ObjectPtr&) { ++adds; }, {}, [&](const ObjectPtr& o) {
                     EXPECT_EQ(o->name(), "a");
                     ++deletes;
                   }});
  inf.start();
  ASSERT_TRUE(eventually([&] { return inf.watcher().listCount() == 2 && s.watchTargets().size() >= 2; }));
  EXPECT_EQ(paramOf(s.watchTargets()[1], "resourceVersion"), "30");
  EXPECT_EQ(adds.load(), 3);  // a, b, then c
  EXPECT_EQ(deletes.load(), 1);
  EXPECT_EQ(inf.get("n/a"), nullptr);
  EXPECT_NE(inf.get("n/c"), nullptr);
}

TEST(Watcher, HttpGoneOnWatchRequestAlsoRelists) {
  ScriptedServer s;
  s.lists.push_back(listJson(1, {}));
  s.lists.push_back(listJson(50, {podJson("x", 49)}));
  s.watches.push_back(sends({}, net::HttpResponse{410, {}, R"({"kind":"Status","reason":"Gone","code":410})"}));
  WatcherOptions o = fastOptions();
  Informer inf(s.client(), o);
  inf.start();
  ASSERT_TRUE(eventually([&] { return inf.get("n/x") != nullptr; }));
  EXPECT_EQ(inf.watcher().listCount(), 2u);
}

TEST(Watcher, GarbageOnTheStreamReconnectsFromTheLastGoodVersion) {
  ScriptedServer s;
  s.lists.push_back(listJson(10, {}));
  s.watches.push_back(sends({event("ADDED", podJson("a", 12)), "this is not json\n", event("ADDED", podJson("z", 99))},
                            ok200()));
  Informer inf(s.client(), fastOptions());
  inf.start();
  ASSERT_TRUE(eventually([&] { return s.watchTargets().size() >= 2; }));
  EXPECT_EQ(paramOf(s.watchTargets()[1], "resourceVersion"), "12");
  EXPECT_EQ(inf.get("n/z"), nullptr) << "nothing after the garbage is trusted";
  EXPECT_NE(inf.get("n/a"), nullptr);
}

TEST(Watcher, FailedListBacksOffAndRetries) {
  ScriptedServer s;  // first list: no scripted answer -> 500
  Informer inf(s.client(), fastOptions());
  inf.start();
  ASSERT_TRUE(eventually([&] { return inf.watcher().listCount() >= 2; }));
  EXPECT_FALSE(inf.hasSynced());
  {
    std::lock_guard l(s.mu);
    s.lists.push_back(listJson(3, {podJson("late", 3)}));
  }
  ASSERT_TRUE(inf.waitForSync(std::chrono::seconds(5)));
  EXPECT_NE(inf.get("n/late"), nullptr);
}

TEST(Watcher, StopsPromptlyWhenCancelled) {
  ScriptedServer s;
  s.lists.push_back(listJson(1, {}));
  Informer inf(s.client(), fastOptions());
  inf.start();
  ASSERT_TRUE(inf.waitForSync(std::chrono::seconds(5)));
  auto start = std::chrono::steady_clock::now();
  inf.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

namespace {
std::string labelled(const std::string& ns, const std::string& name, const std::string& app, int rv) {
  return R"({"kind":"Pod","apiVersion":"v1","metadata":{"name":")" + name + R"(","namespace":")" + ns +
         R"(","resourceVersion":")" + std::to_string(rv) + R"(","labels":{"app":")" + app + R"("}}})";
}
std::vector<std::string> keysOf(std::vector<ObjectPtr> objs) {
  std::vector<std::string> keys;
  for (const auto& o : objs) keys.push_back(o->key());
  std::sort(keys.begin(), keys.end());
  return keys;
}
}  // namespace

// The namespace index and an added one follow the cache through a list, a
// watch's adds, changes (a label that moves the object to another value)
// and deletes, and a relist that replaces the cache.
TEST(Informer, IndexesFollowTheCache) {
  ScriptedServer s;
  s.lists.push_back(listJson(10, {labelled("a", "p1", "web", 10), labelled("b", "p2", "web", 10)}));
  s.lists.push_back(listJson(30, {labelled("b", "p2", "db", 29), labelled("c", "p4", "web", 29)}));
  s.watches.push_back(sends({event("ADDED", labelled("a", "p3", "db", 11)), event("MODIFIED", labelled("a", "p1", "db", 12)),
                             event("DELETED", labelled("b", "p2", "web", 13))},
                            net::HttpResponse{410, {}, R"({"kind":"Status","reason":"Gone","code":410})"}));
  Informer inf(s.client(), fastOptions());
  inf.addIndex("app", [](const Object& o) {
    auto app = o.stringAt({"metadata", "labels", "app"});
    return app.empty() ? std::vector<std::string>{} : std::vector<std::string>{std::string(app)};
  });
  // What the indexes say as each handler runs (after the cache changed).
  std::mutex mu;
  std::vector<std::string> states;
  auto record = [&] {
    auto join = [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& k : v) out += (out.empty() ? "" : ",") + k;
      return out;
    };
    std::lock_guard l(mu);
    states.push_back("a=" + join(keysOf(inf.listIn("a"))) + " b=" + join(keysOf(inf.listIn("b"))) +
                     " web=" + join(keysOf(inf.byIndex("app", "web"))) + " db=" + join(keysOf(inf.byIndex("app", "db"))));
  };
  inf.addHandlers({[&](const ObjectPtr&) { record(); }, [&](const ObjectPtr&, const ObjectPtr&) { record(); },
                   [&](const ObjectPtr&) { record(); }});
  inf.start();
  ASSERT_TRUE(eventually([&] { return inf.watcher().listCount() == 2 && inf.get("c/p4") != nullptr; }));
  std::lock_guard l(mu);
  ASSERT_GE(states.size(), 5u);
  EXPECT_EQ(states[0], "a=a/p1 b=b/p2 web=a/p1,b/p2 db=") << "the first list";
  EXPECT_EQ(states[2], "a=a/p1,a/p3 b=b/p2 web=a/p1,b/p2 db=a/p3") << "added";
  EXPECT_EQ(states[3], "a=a/p1,a/p3 b=b/p2 web=b/p2 db=a/p1,a/p3") << "its label changed";
  EXPECT_EQ(states[4], "a=a/p1,a/p3 b= web= db=a/p1,a/p3") << "deleted";
  EXPECT_EQ(states.back(), "a= b=b/p2 web=c/p4 db=b/p2") << "the relist replaced the cache";
  EXPECT_EQ(keysOf(inf.listIn("c")), (std::vector<std::string>{"c/p4"}));
  EXPECT_TRUE(inf.listIn("nowhere").empty());
  EXPECT_TRUE(inf.byIndex("no such index", "web").empty());
}
