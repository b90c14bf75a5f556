// HttpTransport: HTTP/1.1 requests to one server over kept-alive
// connections, plain or TLS. Blocking calls with deadlines; the I/O itself
// runs on the transport's own thread, so callers never see Asio.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "operator/kube/result.h"
#include "operator/net/cancellation.h"

namespace opscopilot::net {

using kube::Error;
using kube::Result;

struct HttpRequest {
  std::string method = "GET";
  std::string target;  // path and query: "/api/v1/pods?limit=10"
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::chrono::milliseconds timeout{30000};  // for the whole exchange (a stream: until its header)
  // Nothing of the exchange runs past this, a stream's body included.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
};

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;

  // The first header with this name (case-insensitive), or "".
  std::string_view header(std::string_view name) const;
};

// Called for each piece of a streamed body; return false to stop the stream.
using DataHandler = std::function<bool(std::string_view)>;

class HttpTransport {
 public:
  virtual ~HttpTransport() = default;

  // Sends the request and reads the whole response. Any HTTP status is a
  // successful result; an Error (httpCode 0, reason ConnectionError or
  // Timeout) means no complete response arrived before the deadline.
  virtual Result<HttpResponse> roundTrip(const HttpRequest& request) = 0;

  // Sends the request and, when the status is 200, calls onData on the
  // calling thread for each piece of the body as it arrives. Returns the
  // response (with an empty body) when the server ends the body or onData
  // returns false; an Error with reason Timeout when no byte arrived for
  // idleTimeout (or no header before request.timeout) or request.deadline
  // passed, ConnectionError on a broken connection, Cancelled when cancel
  // fired. A non-200 response is read whole and returned with its body.
  virtual Result<HttpResponse> stream(const HttpRequest& request, std::chrono::milliseconds idleTimeout,
                                      const DataHandler& onData, Cancellation& cancel) = 0;

  // Requests waiting now for a pooled connection (maxConnections open).
  // They are served by the order key their thread carried when they were
  // made (request_order.h), smallest first, then in turn.
  virtual std::size_t waitingForConnection() const { return 0; }
};

struct TransportOptions {
  std::string host;  // name or IP address
  std::string port;
  bool tls = true;
  std::string caPem;            // trusted CAs; empty means the system store
  std::string clientCertPem;    // optional client certificate chain
  std::string clientKeyPem;
  bool insecureSkipVerify = false;
  std::string serverName;       // name to verify; defaults to host
  std::size_t maxIdleConnections = 32;
  // Pooled connections open at once (idle or carrying a request; streams
  // have their own and are not counted). A request finding all of them busy
  // waits for one within its deadline, rather than opening a connection (a
  // TLS handshake on both sides) that the idle limit would close again.
  // 0: no limit.
  std::size_t maxConnections = 0;
  std::size_t maxResponseBytes = 64u << 20;
  std::chrono::milliseconds connectTimeout{10000};
};

// An http:// or https:// URL taken apart; the port defaults to 80 or 443,
// target to "/". nullopt for any other scheme or no host.
struct Url {
  bool tls = true;
  std::string host, port, target;
};
std::optional<Url> parseUrl(std::string_view url);

// Builds the Beast/OpenSSL transport. Fails (reason InvalidConfig) when the
// TLS material cannot be loaded.
Result<std::shared_ptr<HttpTransport>> makeHttpTransport(const TransportOptions& options);

}  // namespace opscopilot::net
