#include "operator/controller/llm_http_client.h"

#include <algorithm>
#include <stop_token>

namespace opscopilot::controller {

namespace {

constexpr std::size_t kMaxPlainBody = 8u << 20;  // a plain reply read without onChunk

}  // namespace

agent::llm::HttpClient::Outcome LlmHttpClient::send(const agent::llm::HttpCall& call,
                                                    const std::function<void(std::string_view)>& onChunk) {
  Outcome out;
  auto url = net::parseUrl(call.url);
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
      // Calls in flight are bounded by the profiles' maxConcurrentCalls (the
      // node pool); keeping as many connections idle spares each burst of
      // calls a TLS handshake per connection beyond the default 32.
      o.maxIdleConnections = 256;
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
  const auto now = std::chrono::steady_clock::now();
  if (now >= call.deadline) {
    out.error = "the call's deadline passed before it was sent";
    out.timedOut = true;
    return out;
  }
  req.timeout = std::min(call.timeout, std::chrono::ceil<std::chrono::milliseconds>(call.deadline - now));
  req.deadline = call.deadline;
  // Every call goes through stream(), the transport path a Cancellation
  // ends at once; a plain reply's body is collected here.
  net::Cancellation cancel;
  const std::stop_callback onStop(call.stop, [&cancel] { cancel.cancel(); });
  std::string body;
  bool tooLarge = false;
  auto r = transport->stream(req, req.timeout, [&](std::string_view d) {
    if (call.stop.stop_requested()) return false;
    if (onChunk) {
      onChunk(d);
      return true;
    }
    tooLarge = body.size() + d.size() > kMaxPlainBody;
    if (!tooLarge) body.append(d);
    return !tooLarge;
  }, cancel);
  if (!r.ok()) {
    out.error = r.error().message;
    out.timedOut = r.error().isTimeout();
    out.cancelled = cancel.cancelled();
    return out;
  }
  if (call.stop.stop_requested()) {
    out.error = "cancelled";
    out.cancelled = true;
    return out;
  }
  if (tooLarge) {
    out.error = "the response is larger than " + std::to_string(kMaxPlainBody >> 20) + " MiB";
    return out;
  }
  if (r->body.empty()) r->body = std::move(body);
  agent::llm::HttpReply reply;
  reply.status = r->status;
  reply.headers = r->headers;
  reply.body = std::move(r->body);
  out.reply = std::move(reply);
  return out;
}

}  // namespace opscopilot::controller
