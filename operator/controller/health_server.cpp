#include "operator/controller/health_server.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <thread>

#include "operator/controller/listen.h"

namespace opscopilot::controller {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

class BeastHealthServer final : public HealthServer {
 public:
  explicit BeastHealthServer(Handlers h) : handlers_(std::move(h)), acceptor_(ioc_) {}
  ~BeastHealthServer() override {
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
  }

  kube::Result<void> listen(const std::string& address) {
    auto port = listenOn(acceptor_, address, "health address");
    if (!port.ok()) return port.error();
    port_ = *port;
    asio::co_spawn(ioc_, accept(), asio::detached);
    thread_ = std::thread([this] { ioc_.run(); });
    return {};
  }

  int port() const override { return port_; }

 private:
  asio::awaitable<void> accept() {
    while (true) {
      auto [ec, socket] = co_await acceptor_.async_accept(kTuple);
      if (ec) co_return;
      asio::co_spawn(ioc_, serve(beast::tcp_stream(std::move(socket))), asio::detached);
    }
  }

  asio::awaitable<void> serve(beast::tcp_stream stream) {
    beast::flat_buffer buffer;
    while (true) {
      stream.expires_after(std::chrono::seconds(30));
      http::request<http::string_body> req;
      auto [ec, n] = co_await http::async_read(stream, buffer, req, kTuple);
      if (ec) co_return;
      http::response<http::string_body> res{http::status::ok, req.version()};
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      auto target = std::string(req.target().substr(0, req.target().find('?')));
      if (target == "/healthz" || target == "/livez") {
        res.body() = "ok\n";
      } else if (target == "/readyz") {
        bool ready = handlers_.ready && handlers_.ready();
        res.result(ready ? http::status::ok : http::status::service_unavailable);
        res.body() = ready ? "ok\n" : "not ready: caches not synced\n";
      } else if (target == "/metrics") {
        res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
        res.body() = handlers_.metrics ? handlers_.metrics().str() : "";
      } else {
        res.result(http::status::not_found);
        res.body() = "not found\n";
      }
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      auto [wec, wn] = co_await http::async_write(stream, res, kTuple);
      if (wec || !res.keep_alive()) co_return;
    }
  }

  Handlers handlers_;
  asio::io_context ioc_{1};
  tcp::acceptor acceptor_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace

kube::Result<std::unique_ptr<HealthServer>> HealthServer::start(const std::string& address, Handlers handlers) {
  auto server = std::make_unique<BeastHealthServer>(std::move(handlers));
  auto r = server->listen(address);
  if (!r.ok()) return r.error();
  return std::unique_ptr<HealthServer>(std::move(server));
}

}  // namespace opscopilot::controller
