#include "operator/controller/web_timeline.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <rapidjson/document.h>

#include <algorithm>
#include <atomic>
#include <deque>
#include <list>
#include <thread>

#include "operator/controller/listen.h"

#include "agent/json_writer.h"
#include "agent/redacted.h"
#include "operator/controller/web_assets.h"

namespace opscopilot::controller {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t kMaxListeners = 64;

using Writer = agent::JsonWriter<rapidjson::StringBuffer>;

void str(Writer& w, std::string_view s) { w.String(s.data(), static_cast<rapidjson::SizeType>(s.size())); }

void member(Writer& w, const char* key, std::string_view value) {
  w.Key(key);
  str(w, value);
}

std::string phaseOf(const kube::Object& run) {
  std::string phase(run.stringAt({"status", "phase"}));
  return phase.empty() ? "Pending" : phase;
}

void runSummary(Writer& w, const kube::Object& run) {
  w.StartObject();
  member(w, "namespace", run.ns());
  member(w, "name", run.name());
  member(w, "phase", phaseOf(run));
  member(w, "reason", run.stringAt({"status", "reason"}));
  member(w, "question", run.stringAt({"spec", "question"}));
  member(w, "target", run.stringAt({"status", "targetRef"}));
  member(w, "model", run.stringAt({"spec", "model"}));
  member(w, "cost", run.stringAt({"status", "usage", "costUSD"}));
  member(w, "created", run.stringAt({"metadata", "creationTimestamp"}));
  member(w, "completed", run.stringAt({"status", "completionTime"}));
  member(w, "resourceVersion", run.resourceVersion());
  w.EndObject();
}

}  // namespace

std::string runsJson(const std::vector<kube::ObjectPtr>& runs) {
  std::vector<kube::ObjectPtr> sorted = runs;
  std::stable_sort(sorted.begin(), sorted.end(), [](const kube::ObjectPtr& a, const kube::ObjectPtr& b) {
    return a->stringAt({"metadata", "creationTimestamp"}) > b->stringAt({"metadata", "creationTimestamp"});
  });
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("runs");
  w.StartArray();
  for (const auto& r : sorted) runSummary(w, *r);
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

std::string runJson(const kube::Object& run, const std::vector<kube::ObjectPtr>& approvals) {
  rapidjson::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("summary");
  runSummary(w, run);
  w.Key("spec");
  if (const auto* spec = run.at({"spec"})) {
    spec->Accept(w);
  } else {
    w.Null();
  }
  w.Key("status");
  if (const auto* status = run.at({"status"})) {
    status->Accept(w);
  } else {
    w.StartObject();
    w.EndObject();
  }
  w.Key("approvals");
  w.StartArray();
  for (const auto& a : approvals) {
    w.StartObject();
    member(w, "name", a->name());
    w.Key("stepID");
    w.Int64(a->intAt({"spec", "stepID"}).value_or(0));
    member(w, "tool", a->stringAt({"spec", "action", "tool"}));
    member(w, "risk", a->stringAt({"spec", "risk"}));
    member(w, "reason", a->stringAt({"spec", "reason"}));
    std::string phase(a->stringAt({"status", "phase"}));
    member(w, "phase", phase.empty() ? "Pending" : phase);
    member(w, "decidedBy", a->stringAt({"spec", "decidedBy"}));
    member(w, "comment", a->stringAt({"spec", "comment"}));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

namespace {

class BeastWebTimeline final : public WebTimeline {
 public:
  explicit BeastWebTimeline(Source s) : source_(std::move(s)), acceptor_(ioc_) {}
  ~BeastWebTimeline() override {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  kube::Result<void> listen(const std::string& address) {
    auto port = listenOn(acceptor_, address, "web.address");
    if (!port.ok()) return port.error();
    port_ = *port;
    asio::co_spawn(ioc_, accept(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
    return {};
  }

  int port() const override { return port_; }

  void runChanged(const kube::Object& run, bool deleted) override {
    if (listening_.load() == 0) return;  // no page open: nothing to build or redact
    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    member(w, "namespace", run.ns());
    member(w, "name", run.name());
    member(w, "phase", deleted ? "Deleted" : phaseOf(run));
    member(w, "reason", run.stringAt({"status", "reason"}));
    member(w, "resourceVersion", run.resourceVersion());
    w.EndObject();
    // The sink: what reaches the page passes the redactor.
    std::string event = "event: run\ndata: " + agent::redactJsonBody(std::string_view(buf.GetString(), buf.GetSize())).str() + "\n\n";
    asio::post(ioc_, [this, event = std::move(event)] {
      for (auto& l : listeners_) {
        if (l.pending.size() < 256) l.pending.push_back(event);
        l.wake.cancel();
      }
    });
  }

 private:
  struct Listener {
    explicit Listener(asio::io_context& ioc) : wake(ioc) {}
    std::deque<std::string> pending;
    asio::steady_timer wake;
  };

  asio::awaitable<void> accept() {
    while (true) {
      auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
      if (ec) co_return;
      asio::co_spawn(ioc_, serve(beast::tcp_stream(std::move(socket))), asio::detached);
    }
  }

  // What a page gets of the runs: only text that passed the redactor.
  static void json(http::response<http::string_body>& res, const agent::RedactedText& body) {
    res.set(http::field::content_type, "application/json");
    res.body() = body.str();
  }

  static void securityHeaders(http::response<http::string_body>& res) {
    // Nothing but this origin's script and styles; no framing; no sniffing.
    res.set("Content-Security-Policy",
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    res.set("X-Content-Type-Options", "nosniff");
    res.set(http::field::cache_control, "no-store");
  }

  asio::awaitable<void> serve(beast::tcp_stream stream) {
    beast::flat_buffer buffer;
    while (true) {
      stream.expires_after(std::chrono::seconds(60));
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(stream, buffer, req, kTuple);
      if (ec) co_return;
      const std::string target(req.target().substr(0, req.target().find('?')));
      http::response<http::string_body> res{http::status::ok, req.version()};
      securityHeaders(res);
      if (req.method() != http::verb::get && req.method() != http::verb::head) {
        res.result(http::status::method_not_allowed);
        res.set(http::field::allow, "GET, HEAD");
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "read-only: GET only\n";
      } else if (target == "/api/events") {
        co_await events(std::move(stream), req.version());
        co_return;
      } else if (const WebAsset* asset = webAsset(target == "/" ? "/index.html" : target)) {
        res.set(http::field::content_type, asset->contentType);
        res.body() = std::string(asset->body);
      } else if (target == "/api/runs") {
        json(res, agent::redactJsonBody(runsJson(source_.runs())));
      } else if (target.rfind("/api/runs/", 0) == 0) {
        const std::string rest = target.substr(10);
        const auto slash = rest.find('/');
        kube::Result<kube::ObjectPtr> run = kube::Error{404, "NotFound", "no such run"};
        if (slash != std::string::npos && slash > 0 && rest.find('/', slash + 1) == std::string::npos) {
          run = source_.run(rest.substr(0, slash), rest.substr(slash + 1));
        }
        if (run.ok()) {
          json(res, agent::redactJsonBody(runJson(**run, source_.approvals(std::string((*run)->ns()), std::string((*run)->name())))));
        } else {
          const bool missing = run.error().httpCode == 404;
          res.result(missing ? http::status::not_found : http::status::bad_gateway);
          json(res, agent::redactJsonBody(missing ? R"({"error":"not found"})" : R"({"error":"cannot read the run"})"));
        }
      } else {
        res.result(http::status::not_found);
        res.set(http::field::content_type, "text/plain; charset=utf-8");
        res.body() = "not found\n";
      }
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      if (req.method() == http::verb::head) res.body().clear();
      auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
      if (wec || !res.keep_alive()) co_return;
    }
  }

  // One page listening: the stream's header, then each event as it comes,
  // and a comment every 15 s so that proxies keep the connection.
  asio::awaitable<void> events(beast::tcp_stream stream, unsigned version) {
    stream.expires_never();
    if (listeners_.size() >= kMaxListeners) {
      http::response<http::string_body> res{http::status::service_unavailable, version};
      res.body() = "too many listeners\n";
      res.prepare_payload();
      co_await http::async_write(stream, res, kTuple);
      co_return;
    }
    http::response<http::empty_body> head{http::status::ok, version};
    head.set(http::field::content_type, "text/event-stream");
    head.set(http::field::cache_control, "no-store");
    head.set("X-Accel-Buffering", "no");
    head.keep_alive(true);
    http::response_serializer<http::empty_body> sr{head};
    auto [hec, hn] = co_await http::async_write_header(stream, sr, kTuple);
    if (hec) co_return;
    listeners_.emplace_back(ioc_);
    auto me = std::prev(listeners_.end());
    listening_.fetch_add(1);
    std::string out = "retry: 2000\n\n";
    while (true) {
      auto [wec, wn] = co_await asio::async_write(stream.socket(), asio::buffer(out), kTuple);
      if (wec) break;
      out.clear();
      if (me->pending.empty()) {
        me->wake.expires_after(std::chrono::seconds(15));
        auto [tec] = co_await me->wake.async_wait(kTuple);
        if (!tec) out = ": keep-alive\n\n";
      }
      while (!me->pending.empty()) {
        out += me->pending.front();
        me->pending.pop_front();
      }
      if (out.empty()) continue;
    }
    listeners_.erase(me);
    listening_.fetch_sub(1);
  }

  Source source_;
  asio::io_context ioc_{1};
  tcp::acceptor acceptor_;
  std::list<Listener> listeners_;  // touched on the io thread only
  std::atomic<int> listening_{0};  // their number, for runChanged on other threads
  std::thread thread_;
  int port_ = 0;
};

}  // namespace

kube::Result<std::unique_ptr<WebTimeline>> WebTimeline::start(const std::string& address, Source source) {
  auto server = std::make_unique<BeastWebTimeline>(std::move(source));
  auto r = server->listen(address);
  if (!r.ok()) return r.error();
  return std::unique_ptr<WebTimeline>(std::move(server));
}

}  // namespace opscopilot::controller
