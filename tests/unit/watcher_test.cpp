#include <gtest/gtest.h>

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
