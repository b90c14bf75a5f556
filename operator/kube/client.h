// Client: the Kubernetes API client the operator and tools use. Every call is
// blocking, has a deadline, returns Result values (never throws for API
// errors) and may impersonate another user.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/redacted.h"
#include "operator/kube/config.h"
#include "operator/kube/object.h"
#include "operator/kube/resource.h"
#include "operator/kube/result.h"
#include "operator/net/cancellation.h"
#include "operator/net/http_transport.h"

namespace opscopilot::kube {

// Impersonate-User / Impersonate-Group headers for one request.
struct Impersonation {
  std::string user;
  std::vector<std::string> groups;
};

struct RequestOptions {
  std::optional<Impersonation> impersonate;
  std::chrono::milliseconds timeout{0};  // 0: the client's default
  std::string fieldManager;               // for writes
  bool dryRun = false;
};

struct ListOptions {
  std::string labelSelector;
  std::string fieldSelector;
  std::int64_t limit = 0;          // page size; 0: server default (all)
  std::string continueToken;
  std::string resourceVersion;
  std::string resourceVersionMatch;
};

struct ListPage {
  std::vector<ObjectPtr> items;
  std::string resourceVersion;
  std::string continueToken;  // empty on the last page
};

enum class PatchType { Merge, Json, StrategicMerge, Apply };

struct DeleteOptions {
  std::string propagationPolicy;      // Foreground, Background, Orphan
  std::string preconditionUID;
  std::string preconditionResourceVersion;
  std::optional<std::int64_t> gracePeriodSeconds;
};

struct LogOptions {
  std::string container;
  bool previous = false;
  std::optional<std::int64_t> tailLines;
  std::optional<std::int64_t> limitBytes;
  std::optional<std::int64_t> sinceSeconds;
  bool timestamps = false;
};

struct WatchOptions {
  std::string resourceVersion;
  std::string labelSelector;
  std::string fieldSelector;
  bool allowBookmarks = true;
  std::int64_t timeoutSeconds = 300;            // server-side end of the watch
  std::chrono::milliseconds idleTimeout{180000}; // client-side: no byte for this long
};

class Client {
 public:
  // Builds a client over the Beast transport for the configured server.
  // Fails (InvalidConfig) on a bad server URL or unusable TLS material.
  static Result<std::shared_ptr<Client>> create(const ClientConfig& config);
  // For tests: a client over any transport.
  Client(ClientConfig config, std::shared_ptr<net::HttpTransport> transport);

  const ClientConfig& config() const { return config_; }

  // Reads one object. NotFound when it does not exist.
  Result<ObjectPtr> get(const ResourceRef& r, std::string_view ns, std::string_view name,
                        const RequestOptions& opts = {});
  // Reads one page of a collection (empty ns: all namespaces).
  Result<ListPage> listPage(const ResourceRef& r, std::string_view ns, const ListOptions& list = {},
                            const RequestOptions& opts = {});
  // Reads a whole collection, following continue tokens page by page; the
  // result's resourceVersion is the one of the first page (a consistent
  // snapshot). A continue token that expired mid-way yields a Gone error.
  Result<ListPage> list(const ResourceRef& r, std::string_view ns, ListOptions list = {},
                        const RequestOptions& opts = {});
  // Writes take only redacted bodies (agent/redacted.h: agent::redactJson,
  // redactJsonBody), so nothing reaches the API server without passing the
  // redactor.
  // POST. The body is the object as JSON.
  Result<ObjectPtr> create(const ResourceRef& r, std::string_view ns, const agent::RedactedText& body,
                           const RequestOptions& opts = {});
  // PUT. Conflict when metadata.resourceVersion in the body is stale.
  Result<ObjectPtr> update(const ResourceRef& r, std::string_view ns, std::string_view name,
                           const agent::RedactedText& body, const RequestOptions& opts = {});
  // PUT to the status subresource.
  Result<ObjectPtr> updateStatus(const ResourceRef& r, std::string_view ns, std::string_view name,
                                 const agent::RedactedText& body, const RequestOptions& opts = {});
  // PATCH the object, or its subresource when subresource is not empty.
  Result<ObjectPtr> patch(const ResourceRef& r, std::string_view ns, std::string_view name, PatchType type,
                          const agent::RedactedText& body, const RequestOptions& opts = {},
                          std::string_view subresource = {});
  // DELETE. NotFound when already gone.
  Result<void> remove(const ResourceRef& r, std::string_view ns, std::string_view name,
                      const DeleteOptions& del = {}, const RequestOptions& opts = {});
  // GET pods/NAME/log as text.
  Result<std::string> podLogs(std::string_view ns, std::string_view pod, const LogOptions& log,
                              const RequestOptions& opts = {});
  // Any GET, e.g. "/version"; the body as text.
  Result<std::string> getRaw(std::string_view path, const RequestOptions& opts = {});

  // Opens a watch and calls onLine with each raw JSON event line (see
  // WatchDecoder) on the calling thread until the server ends the watch
  // (returns ok), onLine returns false (ok), the watch fails (Error: the HTTP
  // error of the watch request, Timeout when idle too long, ConnectionError,
  // Cancelled).
  Result<void> watch(const ResourceRef& r, std::string_view ns, const WatchOptions& w,
                     const net::DataHandler& onData, net::Cancellation& cancel, const RequestOptions& opts = {});

  // Requests sent since creation (for benchmarks and tests).
  std::uint64_t requestCount() const;

  // Called as each request ends, on the calling thread: its HTTP method, the
  // response's status (0 when none came) and, except for watches, how long
  // it took (rest_client_requests_total, rest_client_request_duration_seconds).
  using RequestObserver = std::function<void(std::string_view method, int status, std::optional<double> seconds)>;
  // Set it before the client is shared between threads.
  void observeRequests(RequestObserver observer);

 private:
  Result<net::HttpResponse> send(std::string method, std::string target, std::string body,
                                 std::string_view contentType, const RequestOptions& opts);
  void addAuth(net::HttpRequest& req, const RequestOptions& opts);
  std::string currentToken();
  Result<ObjectPtr> objectFrom(Result<net::HttpResponse> r);
  std::string writeQuery(const RequestOptions& opts) const;

  ClientConfig config_;
  std::shared_ptr<net::HttpTransport> transport_;
  std::string pathPrefix_;  // from a server URL like https://host/prefix
  std::mutex tokenMu_;
  std::string token_;
  std::chrono::steady_clock::time_point tokenReadAt_{};
  std::int64_t tokenMtime_ = 0;
  std::atomic<std::uint64_t> requests_{0};
  RequestObserver observer_;
};

}  // namespace opscopilot::kube
