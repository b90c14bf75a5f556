// The real Beast transport against a scripted plain-HTTP server on loopback:
// when a kept-alive connection dies after the request went out, only an
// idempotent request is sent again.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "operator/net/http_transport.h"
#include "operator/net/request_order.h"

using namespace opscopilot;

namespace {

// Serves one connection at a time. For the Nth request it receives (counted
// across connections) `answer(N)` says whether to answer 200 or to close the
// connection without a byte of response (as a server that dropped it would).
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<bool(int)> answer) : answer_(std::move(answer)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    listen(fd_, 8);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~ScriptedServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  int requests() const { return requests_.load(); }
  int connections() const { return connections_.load(); }
  // The request targets in the order they arrived.
  std::vector<std::string> targets() const {
    std::lock_guard l(mu_);
    return targets_;
  }

 private:
  void serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      ++connections_;
      std::string buf;
      char chunk[4096];
      for (;;) {
        auto end = buf.find("\r\n\r\n");
        if (end == std::string::npos) {
          auto n = read(c, chunk, sizeof chunk);
          if (n <= 0) break;
          buf.append(chunk, static_cast<std::size_t>(n));
          continue;
        }
        std::size_t length = 0;
        if (auto p = buf.find("Content-Length: "); p != std::string::npos && p < end) length = std::stoul(buf.substr(p + 16));
        while (buf.size() < end + 4 + length) {
          auto n = read(c, chunk, sizeof chunk);
          if (n <= 0) break;
          buf.append(chunk, static_cast<std::size_t>(n));
        }
        {
          std::lock_guard l(mu_);
          auto sp = buf.find(' ');
          targets_.push_back(buf.substr(sp + 1, buf.find(' ', sp + 1) - sp - 1));
        }
        buf.erase(0, end + 4 + length);
        int n = ++requests_;
        if (!answer_(n)) break;  // close without answering
        std::string res = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok";
        if (write(c, res.data(), res.size()) < 0) break;
      }
      close(c);
    }
  }

  std::function<bool(int)> answer_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<int> requests_{0}, connections_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> targets_;
};

std::shared_ptr<net::HttpTransport> transportTo(int port, std::size_t maxConnections = 0) {
  net::TransportOptions o;
  o.host = "127.0.0.1";
  o.port = std::to_string(port);
  o.tls = false;
  o.maxConnections = maxConnections;
  auto t = net::makeHttpTransport(o);
  EXPECT_TRUE(t.ok());
  return *t;
}

net::HttpRequest request(const std::string& method) {
  net::HttpRequest r;
  r.method = method;
  r.target = "/apis/x";
  r.body = method == "GET" ? "" : R"({"kind":"Event"})";
  r.timeout = std::chrono::seconds(5);
  return r;
}

TEST(HttpTransport, PostWhoseBytesWentOutIsNeverSentAgain) {
  // Request 1 (GET) is answered and leaves a kept-alive connection; the
  // server then takes request 2 (the POST) and drops the connection.
  ScriptedServer server([](int n) { return n != 2; });
  auto t = transportTo(server.port());
  ASSERT_EQ(t->roundTrip(request("GET")).value().status, 200);
  auto post = t->roundTrip(request("POST"));
  EXPECT_FALSE(post.ok()) << "the POST may have been acted on: it fails instead of being replayed";
  EXPECT_EQ(server.requests(), 2) << "the POST reached the server exactly once";
}

TEST(HttpTransport, PatchIsNotReplayedEither) {
  ScriptedServer server([](int n) { return n != 2; });
  auto t = transportTo(server.port());
  ASSERT_EQ(t->roundTrip(request("GET")).value().status, 200);
  EXPECT_FALSE(t->roundTrip(request("PATCH")).ok());
  EXPECT_EQ(server.requests(), 2);
}

TEST(HttpTransport, IdempotentRequestOnADroppedKeptAliveConnectionIsRetriedOnce) {
  ScriptedServer server([](int n) { return n != 2; });
  auto t = transportTo(server.port());
  ASSERT_EQ(t->roundTrip(request("GET")).value().status, 200);
  auto put = t->roundTrip(request("PUT"));
  ASSERT_TRUE(put.ok()) << put.error().message;
  EXPECT_EQ(put.value().status, 200);
  EXPECT_EQ(server.requests(), 3) << "sent again once, on a new connection";
}

// The server serves one connection at a time and keeps each open: requests
// that opened a connection of their own would wait behind the first for
// ever. Capped at one, they wait for it instead, and all are answered on it.
TEST(HttpTransport, RequestsBeyondMaxConnectionsWaitForAFreeOne) {
  ScriptedServer server([](int) { return true; });
  auto t = transportTo(server.port(), 1);
  std::atomic<int> ok{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 6; ++i) {
    callers.emplace_back([&] {
      auto r = t->roundTrip(request("GET"));
      if (r.ok() && r->status == 200) ++ok;
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(ok.load(), 6);
  EXPECT_EQ(server.requests(), 6);
  EXPECT_EQ(server.connections(), 1);
}

// A transport of one connection, held by a first request the server does
// not answer until release(): the requests made meanwhile wait for it.
struct OneConnectionHeld {
  std::atomic<bool> hold{true};
  ScriptedServer server{[this](int n) {
    while (n == 1 && hold) std::this_thread::yield();
    return true;
  }};
  std::shared_ptr<net::HttpTransport> t = transportTo(server.port(), 1);
  std::thread first{[this] {
    EXPECT_TRUE(t->roundTrip(request("GET")).ok());
  }};
  OneConnectionHeld() {
    while (server.requests() < 1) std::this_thread::yield();
  }
  ~OneConnectionHeld() {
    if (first.joinable()) release();
  }
  void release() {
    hold = false;
    first.join();
  }
};

// A request still waiting for a connection when its deadline passes fails
// as a timeout, and the connection goes on serving others.
TEST(HttpTransport, WaitingForAConnectionEndsAtTheDeadline) {
  OneConnectionHeld held;
  auto r = request("GET");
  r.timeout = std::chrono::milliseconds(100);
  auto waited = held.t->roundTrip(r);
  ASSERT_FALSE(waited.ok());
  EXPECT_TRUE(waited.error().isTimeout()) << waited.error().message;
  held.release();
  EXPECT_TRUE(held.t->roundTrip(request("GET")).ok());
  EXPECT_EQ(held.server.connections(), 1);
}

// Requests waiting for the only connection are served by the order key
// their thread carried (the start of the run they work for), oldest first,
// not in the order they came; those of equal keys in turn, and a thread that
// works for no run goes before all of them.
TEST(HttpTransport, WaitingRequestsGoByTheirOrderKey) {
  OneConnectionHeld held;
  auto& t = held.t;
  const auto base = std::chrono::steady_clock::now();
  std::vector<std::thread> callers;
  auto call = [&](std::string target, std::optional<int> key) {
    callers.emplace_back([&t, target, key, base] {
      std::optional<net::RequestOrderScope> scope;
      if (key) scope.emplace(base + std::chrono::seconds(*key));
      auto r = request("GET");
      r.target = target;
      EXPECT_TRUE(t->roundTrip(r).ok());
    });
    while (t->waitingForConnection() < callers.size()) std::this_thread::yield();
  };
  call("/newest", 30);
  call("/oldest", 10);
  call("/middle-a", 20);
  call("/middle-b", 20);
  call("/no-run", std::nullopt);
  held.release();
  for (auto& c : callers) c.join();
  auto targets = held.server.targets();
  ASSERT_EQ(targets.size(), 6u);
  EXPECT_EQ(std::vector<std::string>(targets.begin() + 1, targets.end()),
            (std::vector<std::string>{"/no-run", "/oldest", "/middle-a", "/middle-b", "/newest"}));
  EXPECT_EQ(t->waitingForConnection(), 0u);
}

}  // namespace
