#include "operator/controller/llm_http_client.h"

namespace opscopilot::controller {

namespace {

struct Url {
  bool tls = true;
  std::string host, port, target;
};

std::optional<Url> parseUrl(const std::string& url) {
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

}  // namespace

agent::llm::HttpClient::Outcome LlmHttpClient::send(const agent::llm::HttpCall& call,
                                                    const std::function<void(std::string_view)>& onChunk) {
  Outcome out;
  auto url = parseUrl(call.url);
  if (!url) {
    out.error = "bad URL";
    return out;
  }
  std::shared_ptr<net::HttpTransport> transport;
  {
    std::lock_guard lock(mu_);
    const std::string origin = (url->tls ? "https://" : "http://") + url->host + ":" + url->port;
    auto& t = transports_[origin];
    if (!t) {
      net::TransportOptions o;
      o.host = url->host;
      o.port = url->port;
      o.tls = url->tls;
      auto made = net::makeHttpTransport(o);
      if (!made.ok()) {
        out.error = made.error().message;
        return out;
      }
      t = *made;
    }
    transport = t;
  }
  net::HttpRequest req;
  req.method = call.method;
  req.target = url->target;
  req.headers = call.headers;
  req.body = call.body;
  req.timeout = call.timeout;
  kube::Result<net::HttpResponse> r = kube::Error{};
  if (onChunk) {
    net::Cancellation cancel;
    r = transport->stream(req, call.timeout, [&](std::string_view d) {
      onChunk(d);
      return true;
    }, cancel);
  } else {
    r = transport->roundTrip(req);
  }
  if (!r.ok()) {
    out.error = r.error().message;
    out.timedOut = r.error().isTimeout();
    return out;
  }
  agent::llm::HttpReply reply;
  reply.status = r->status;
  reply.headers = r->headers;
  reply.body = std::move(r->body);
  out.reply = std::move(reply);
  return out;
}

}  // namespace opscopilot::controller
