#include "operator/net/http_transport.h"

#include <openssl/ssl.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "operator/kube/error.h"
#include "operator/net/request_order.h"

namespace opscopilot::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using kube::transportError;

std::string_view HttpResponse::header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (beast::iequals(k, name)) return v;
  }
  return {};
}

namespace {

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

struct Connection {
  std::optional<beast::tcp_stream> plain;
  std::optional<ssl::stream<beast::tcp_stream>> tls;
  beast::flat_buffer buffer;
  bool reused = false;

  beast::tcp_stream& lowest() { return tls ? tls->next_layer() : *plain; }
  void close() {
    beast::error_code ignored;
    lowest().socket().close(ignored);
  }
};
using ConnectionPtr = std::unique_ptr<Connection>;

http::request<http::string_body> toBeast(const HttpRequest& r, const std::string& hostHeader) {
  http::request<http::string_body> req;
  req.method_string(r.method);
  req.target(r.target);
  req.version(11);
  req.set(http::field::host, hostHeader);
  req.set(http::field::user_agent, "opscopilot/0.1");
  for (const auto& [k, v] : r.headers) req.insert(k, v);
  req.body() = r.body;
  req.keep_alive(true);
  req.prepare_payload();
  return req;
}

template <class Fields>
std::vector<std::pair<std::string, std::string>> copyHeaders(const Fields& fields) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : fields) out.emplace_back(std::string(f.name_string()), std::string(f.value()));
  return out;
}

Error ioError(std::string_view step, const beast::error_code& ec) {
  bool timedOut = ec == beast::error::timeout;
  return transportError(std::string(step) + ": " + ec.message(), timedOut);
}

// Moves the pieces of a stream from the I/O thread to the thread that called
// stream(), so that data handlers never run on the I/O thread.
struct StreamChannel {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<std::string> pieces;
  std::optional<Result<HttpResponse>> final;
  bool stopRequested = false;

  void push(std::string piece) {
    { std::lock_guard l(mu); pieces.push_back(std::move(piece)); }
    cv.notify_one();
  }
  void finish(Result<HttpResponse> r) {
    { std::lock_guard l(mu); final.emplace(std::move(r)); }
    cv.notify_one();
  }
};

class BeastTransport final : public HttpTransport, public std::enable_shared_from_this<BeastTransport> {
 public:
  explicit BeastTransport(TransportOptions opts)
      : opts_(std::move(opts)), ssl_(ssl::context::tls_client), work_(asio::make_work_guard(ioc_)) {
    hostHeader_ = opts_.host.find(':') != std::string::npos ? "[" + opts_.host + "]" : opts_.host;
    hostHeader_ += ":" + opts_.port;
    if (opts_.serverName.empty()) opts_.serverName = opts_.host;
  }

  ~BeastTransport() override {
    work_.reset();
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  Result<void> init() {
    beast::error_code ec;
    ssl_.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (!opts_.caPem.empty()) {
      ssl_.add_certificate_authority(asio::buffer(opts_.caPem), ec);
      if (ec) return Error{0, "InvalidConfig", "cannot load certificate authority: " + ec.message()};
    } else {
      ssl_.set_default_verify_paths(ec);
    }
    if (!opts_.clientCertPem.empty()) {
      ssl_.use_certificate_chain(asio::buffer(opts_.clientCertPem), ec);
      if (ec) return Error{0, "InvalidConfig", "cannot load client certificate: " + ec.message()};
      ssl_.use_private_key(asio::buffer(opts_.clientKeyPem), ssl::context::pem, ec);
      if (ec) return Error{0, "InvalidConfig", "cannot load client key: " + ec.message()};
    }
    ssl_.set_verify_mode(opts_.insecureSkipVerify ? ssl::verify_none : ssl::verify_peer);
    thread_ = std::thread([this] { ioc_.run(); });
    return {};
  }

  std::size_t waitingForConnection() const override { return waiting_.load(); }

  Result<HttpResponse> roundTrip(const HttpRequest& request) override {
    auto promise = std::make_shared<std::promise<Result<HttpResponse>>>();
    auto future = promise->get_future();
    asio::co_spawn(ioc_, runRoundTrip(request, currentRequestOrder(), promise), asio::detached);
    return future.get();
  }

  Result<HttpResponse> stream(const HttpRequest& request, std::chrono::milliseconds idleTimeout,
                              const DataHandler& onData, Cancellation& cancel) override {
    auto channel = std::make_shared<StreamChannel>();
    asio::co_spawn(ioc_, runStream(request, idleTimeout, channel), asio::detached);
    auto subscription = cancel.subscribe([channel] {
      { std::lock_guard l(channel->mu); channel->stopRequested = true; }
      channel->cv.notify_one();
    });
    std::optional<Result<HttpResponse>> result;
    bool stopSent = false;
    std::unique_lock lock(channel->mu);
    while (true) {
      channel->cv.wait(lock, [&] {
        return !channel->pieces.empty() || channel->final || (channel->stopRequested && !stopSent);
      });
      if (channel->stopRequested && !stopSent) {
        stopSent = true;
        asio::post(ioc_, [this, channel] { cancelStream(channel); });
        continue;
      }
      if (!channel->pieces.empty()) {
        auto piece = std::move(channel->pieces.front());
        channel->pieces.pop_front();
        if (stopSent) continue;
        lock.unlock();
        bool more = onData(piece);
        lock.lock();
        if (!more) channel->stopRequested = true;
        continue;
      }
      result = std::move(*channel->final);
      break;
    }
    lock.unlock();
    cancel.unsubscribe(subscription);
    if (stopSent) {
      if (cancel.cancelled()) return Error{0, "Cancelled", "stream cancelled"};
      return HttpResponse{200, {}, {}};  // the handler asked to stop
    }
    return std::move(*result);
  }

 private:
  // Open stream connections by channel, so that a cancel can close them.
  std::map<StreamChannel*, Connection*> openStreams_;

  void cancelStream(const std::shared_ptr<StreamChannel>& channel) {
    if (auto it = openStreams_.find(channel.get()); it != openStreams_.end()) it->second->close();
  }

  asio::awaitable<Result<ConnectionPtr>> connect(std::chrono::steady_clock::time_point deadline) {
    auto conn = std::make_unique<Connection>();
    tcp::resolver resolver(ioc_);
    auto [rec, endpoints] = co_await resolver.async_resolve(opts_.host, opts_.port, kTuple);
    if (rec) co_return ioError("resolve " + opts_.host, rec);
    if (opts_.tls) {
      conn->tls.emplace(ioc_, ssl_);
    } else {
      conn->plain.emplace(ioc_);
    }
    auto& lowest = conn->lowest();
    lowest.expires_at(std::min(deadline, std::chrono::steady_clock::now() + opts_.connectTimeout));
    auto [cec, ep] = co_await lowest.async_connect(endpoints, kTuple);
    if (cec) co_return ioError("connect to " + hostHeader_, cec);
    lowest.socket().set_option(tcp::no_delay(true));
    if (opts_.tls) {
      auto* native = conn->tls->native_handle();
      beast::error_code addrEc;
      asio::ip::make_address(opts_.serverName, addrEc);
      if (addrEc) SSL_set_tlsext_host_name(native, opts_.serverName.c_str());  // SNI for names only
      if (!opts_.insecureSkipVerify) conn->tls->set_verify_callback(ssl::host_name_verification(opts_.serverName));
      auto [hec] = co_await conn->tls->async_handshake(ssl::stream_base::client, kTuple);
      if (hec) co_return ioError("TLS handshake with " + hostHeader_, hec);
    }
    co_return std::move(conn);
  }

  // A request waiting for a pooled connection while maxConnections are open:
  // release() hands it a connection, or forget() the right to open one.
  // Waiters are served by their order key (request_order.h), then in turn.
  struct Waiter {
    explicit Waiter(asio::io_context& ioc) : timer(ioc) {}
    asio::steady_timer timer;
    ConnectionPtr conn;
    bool granted = false;
  };

  // A pooled connection: an idle one, else a new one while fewer than
  // maxConnections are open, else the next one released within the deadline.
  // What it returns counts in open_ until release() or forget().
  asio::awaitable<Result<ConnectionPtr>> acquire(std::chrono::steady_clock::time_point deadline, RequestOrder order) {
    while (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      if (conn->lowest().socket().is_open()) {
        conn->reused = true;
        co_return std::move(conn);
      }
      --open_;  // the server closed it while idle
    }
    if (opts_.maxConnections != 0 && open_ >= opts_.maxConnections) {
      auto w = std::make_shared<Waiter>(ioc_);
      w->timer.expires_at(deadline);
      waiters_.emplace(order, w);  // after those of the same key
      waiting_.store(waiters_.size());
      co_await w->timer.async_wait(kTuple);
      if (!w->granted) {
        std::erase_if(waiters_, [&](const auto& entry) { return entry.second == w; });
        waiting_.store(waiters_.size());
        co_return transportError("no connection to " + hostHeader_ + " came free before the deadline (" +
                                     std::to_string(opts_.maxConnections) + " in use)",
                                 true);
      }
      if (w->conn) {
        w->conn->reused = true;
        co_return std::move(w->conn);
      }
      // Granted the right to open one: a connection was closed.
    } else {
      ++open_;
    }
    auto conn = co_await connect(deadline);
    if (!conn.ok()) forget();
    co_return conn;
  }

  // A connection done with its request: to the next waiter, else idle.
  void release(ConnectionPtr conn) {
    if (!conn->lowest().socket().is_open()) {
      forget();
      return;
    }
    if (!waiters_.empty()) {
      auto w = std::move(waiters_.begin()->second);
      waiters_.erase(waiters_.begin());
      waiting_.store(waiters_.size());
      w->granted = true;
      w->conn = std::move(conn);
      w->timer.cancel();
      return;
    }
    if (idle_.size() >= opts_.maxIdleConnections) {
      conn->close();
      forget();
      return;
    }
    conn->lowest().expires_never();
    idle_.push_back(std::move(conn));
  }

  // A connection acquire() returned is gone (closed, or never opened): its
  // place goes to the next waiter, who opens a new one.
  void forget() {
    if (!waiters_.empty()) {
      auto w = std::move(waiters_.begin()->second);
      waiters_.erase(waiters_.begin());
      waiting_.store(waiters_.size());
      w->granted = true;
      w->timer.cancel();
      return;
    }
    --open_;
  }

  // RFC 9110's idempotent methods: sending one twice has the effect of once.
  static bool idempotent(std::string_view method) {
    return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" || method == "DELETE";
  }

  // retryable: the request may be sent again on a new connection. Only when
  // the failure is a reused connection the server had closed, and then only
  // when the server cannot have acted on it: nothing was written, or the
  // method is idempotent. A POST or PATCH whose bytes went out is never
  // replayed (it would create a second Event, bill a second model call).
  template <class Stream>
  asio::awaitable<Result<HttpResponse>> exchange(Stream& s, Connection& c, const HttpRequest& request,
                                                 bool& retryable) {
    auto req = toBeast(request, hostHeader_);
    auto [wec, wn] = co_await http::async_write(s, req, kTuple);
    if (wec) {
      retryable = c.reused && (wn == 0 || idempotent(request.method));
      co_return ioError("write request", wec);
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(opts_.maxResponseBytes);
    auto [rec, rn] = co_await http::async_read(s, c.buffer, parser, kTuple);
    if (rec) {
      retryable = c.reused && !parser.got_some() && idempotent(request.method);
      co_return ioError("read response", rec);
    }
    auto& res = parser.get();
    HttpResponse out{static_cast<int>(res.result_int()), copyHeaders(res.base()), std::move(res.body())};
    if (!res.keep_alive()) c.close();
    co_return out;
  }

  asio::awaitable<void> runRoundTrip(HttpRequest request, RequestOrder order,
                                     std::shared_ptr<std::promise<Result<HttpResponse>>> promise) {
    auto deadline = std::min(std::chrono::steady_clock::now() + request.timeout, request.deadline);
    // Declared once, outside the retry loop: GCC 12 corrupts a coroutine
    // local of this type that is declared inside a loop the body `continue`s
    // (it crashed once kube::Error grew a member).
    std::optional<Result<HttpResponse>> result;
    for (int attempt = 0;; ++attempt) {
      auto conn = co_await acquire(deadline, order);
      if (!conn.ok()) {
        promise->set_value(conn.error());
        co_return;
      }
      auto c = std::move(conn.value());
      c->lowest().expires_at(deadline);
      bool retryable = false;
      // (No co_await inside ?: — GCC 12 miscompiles that.)
      if (c->tls) {
        result = co_await exchange(*c->tls, *c, request, retryable);
      } else {
        result = co_await exchange(*c->plain, *c, request, retryable);
      }
      if (!result->ok()) {
        c->close();
        forget();
        // A kept-alive connection the server closed while idle fails before
        // any response byte (see exchange for when that is safe to resend).
        if (retryable && attempt == 0) continue;
        promise->set_value(std::move(*result));
        co_return;
      }
      release(std::move(c));
      promise->set_value(std::move(*result));
      co_return;
    }
  }

  template <class Stream>
  asio::awaitable<Result<HttpResponse>> streamOn(Stream& s, Connection& c, const HttpRequest& request,
                                                 std::chrono::milliseconds idleTimeout, StreamChannel& channel) {
    auto req = toBeast(request, hostHeader_);
    c.lowest().expires_at(std::min(std::chrono::steady_clock::now() + request.timeout, request.deadline));
    auto [wec, wn] = co_await http::async_write(s, req, kTuple);
    if (wec) co_return ioError("write request", wec);
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    auto [hec, hn] = co_await http::async_read_header(s, c.buffer, parser, kTuple);
    if (hec) co_return ioError("read response header", hec);
    int status = static_cast<int>(parser.get().result_int());
    HttpResponse out{status, copyHeaders(parser.get().base()), {}};
    std::string errorBody;
    char buf[16384];
    while (!parser.is_done()) {
      parser.get().body().data = buf;
      parser.get().body().size = sizeof(buf);
      // Bytes trickling in keep the idle timer from firing, not the deadline.
      const auto now = std::chrono::steady_clock::now();
      const bool lastRead = now + idleTimeout >= request.deadline;
      c.lowest().expires_at(lastRead ? request.deadline : now + idleTimeout);
      auto [ec, n] = co_await http::async_read_some(s, c.buffer, parser, kTuple);
      if (ec == http::error::need_buffer) ec = {};
      if (ec == beast::error::timeout && lastRead && status == 200) co_return transportError("read stream: its deadline passed", true);
      std::size_t got = sizeof(buf) - parser.get().body().size;
      if (got > 0) {
        if (status == 200) {
          channel.push(std::string(buf, got));
        } else if (errorBody.size() < (1u << 20)) {
          errorBody.append(buf, got);
        }
      }
      if (ec == http::error::end_of_stream || ec == asio::error::eof) break;
      if (ec) {
        if (status != 200) break;
        co_return ioError("read stream", ec);
      }
    }
    out.body = std::move(errorBody);
    co_return out;
  }

  asio::awaitable<void> runStream(HttpRequest request, std::chrono::milliseconds idleTimeout,
                                  std::shared_ptr<StreamChannel> channel) {
    auto deadline = std::min(std::chrono::steady_clock::now() + request.timeout, request.deadline);
    auto conn = co_await connect(deadline);  // streams never share pooled connections
    if (!conn.ok()) {
      channel->finish(conn.error());
      co_return;
    }
    auto c = std::move(conn.value());
    openStreams_[channel.get()] = c.get();
    bool stopped = false;
    {
      std::lock_guard l(channel->mu);
      stopped = channel->stopRequested;
    }
    if (stopped) c->close();
    Result<HttpResponse> result = Error{};
    if (c->tls) {
      result = co_await streamOn(*c->tls, *c, request, idleTimeout, *channel);
    } else {
      result = co_await streamOn(*c->plain, *c, request, idleTimeout, *channel);
    }
    openStreams_.erase(channel.get());
    c->close();
    channel->finish(std::move(result));
  }

  TransportOptions opts_;
  std::string hostHeader_;
  asio::io_context ioc_{1};
  ssl::context ssl_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::thread thread_;
  // Touched only on the I/O thread:
  std::vector<ConnectionPtr> idle_;
  std::size_t open_ = 0;  // pooled connections: idle, carrying a request, or being opened
  std::multimap<RequestOrder, std::shared_ptr<Waiter>> waiters_;  // next first
  std::atomic<std::size_t> waiting_{0};  // waiters_.size(), for any thread
};

}  // namespace

Result<std::shared_ptr<HttpTransport>> makeHttpTransport(const TransportOptions& options) {
  if (options.host.empty() || options.port.empty()) {
    return Error{0, "InvalidConfig", "server host and port are required"};
  }
  auto t = std::make_shared<BeastTransport>(options);
  auto r = t->init();
  if (!r.ok()) return r.error();
  return std::shared_ptr<HttpTransport>(std::move(t));
}

std::optional<Url> parseUrl(std::string_view url) {
  Url u;
  std::string_view rest(url);
  if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
    u.tls = false;
  } else {
    return std::nullopt;
  }
  auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (hostport.starts_with("[")) {
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(hostport.substr(1, close - 1));
    if (close + 2 <= hostport.size()) u.port = std::string(hostport.substr(close + 2));
  } else {
    auto colon = hostport.rfind(':');
    u.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) u.port = std::string(hostport.substr(colon + 1));
  }
  if (u.port.empty()) u.port = u.tls ? "443" : "80";
  if (u.host.empty()) return std::nullopt;
  return u;
}

}  // namespace opscopilot::net
