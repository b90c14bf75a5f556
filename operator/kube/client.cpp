#include "operator/kube/client.h"

#include <rapidjson/document.h>

#include <filesystem>

#include "operator/kube/error.h"

namespace opscopilot::kube {

namespace {

struct ParsedServer {
  bool tls = true;
  std::string host, port, prefix;
};

Result<ParsedServer> parseServer(const std::string& server) {
  ParsedServer p;
  std::string_view rest(server);
  if (rest.starts_with("https://")) {
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
    p.tls = false;
  } else {
    return Error{0, "InvalidConfig", "server URL must start with https:// or http://: " + server};
  }
  auto slash = rest.find('/');
  std::string_view hostport = rest.substr(0, slash);
  if (slash != std::string_view::npos) p.prefix = std::string(rest.substr(slash));
  while (!p.prefix.empty() && p.prefix.back() == '/') p.prefix.pop_back();
  if (hostport.starts_with("[")) {
    auto close = hostport.find(']');
    if (close == std::string_view::npos) return Error{0, "InvalidConfig", "bad IPv6 address in " + server};
    p.host = std::string(hostport.substr(1, close - 1));
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') p.port = std::string(hostport.substr(close + 2));
  } else {
    auto colon = hostport.rfind(':');
    p.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) p.port = std::string(hostport.substr(colon + 1));
  }
  if (p.host.empty()) return Error{0, "InvalidConfig", "server URL has no host: " + server};
  if (p.port.empty()) p.port = p.tls ? "443" : "80";
  return p;
}

void appendParam(std::string& target, std::string_view key, std::string_view value) {
  if (value.empty()) return;
  target.push_back(target.find('?') == std::string::npos ? '?' : '&');
  target.append(key).append("=").append(urlEncode(value));
}

std::string_view contentTypeFor(PatchType t) {
  switch (t) {
    case PatchType::Merge: return "application/merge-patch+json";
    case PatchType::Json: return "application/json-patch+json";
    case PatchType::StrategicMerge: return "application/strategic-merge-patch+json";
    case PatchType::Apply: return "application/apply-patch+yaml";
  }
  return "application/json";
}

}  // namespace

Result<std::shared_ptr<Client>> Client::create(const ClientConfig& config) {
  auto server = parseServer(config.server);
  if (!server.ok()) return server.error();
  net::TransportOptions t;
  t.host = server->host;
  t.port = server->port;
  t.tls = server->tls;
  t.caPem = config.caPem;
  t.clientCertPem = config.clientCertPem;
  t.clientKeyPem = config.clientKeyPem;
  t.insecureSkipVerify = config.insecureSkipTLSVerify;
  t.serverName = config.tlsServerName;
  // Up to 64 requests in flight (the node pool's default), each on a kept
  // connection: more would queue in the API server's own limits anyway, and
  // a connection opened only to be closed costs a TLS handshake on both sides.
  t.maxConnections = 64;
  t.maxIdleConnections = 64;
  auto transport = net::makeHttpTransport(t);
  if (!transport.ok()) return transport.error();
  return std::make_shared<Client>(config, std::move(transport.value()));
}

Client::Client(ClientConfig config, std::shared_ptr<net::HttpTransport> transport)
    : config_(std::move(config)), transport_(std::move(transport)) {
  token_ = config_.bearerToken;
  if (auto server = parseServer(config_.server); server.ok()) pathPrefix_ = server->prefix;
}

std::uint64_t Client::requestCount() const { return requests_.load(); }

void Client::observeRequests(RequestObserver observer) { observer_ = std::move(observer); }

std::string Client::currentToken() {
  if (config_.tokenFile.empty()) return config_.bearerToken;
  std::lock_guard lock(tokenMu_);
  // Projected service-account tokens rotate; the kubelet rewrites the file.
  // Checking the modification time at most every few seconds keeps this cheap.
  auto now = std::chrono::steady_clock::now();
  if (token_.empty() || now - tokenReadAt_ > std::chrono::seconds(5)) {
    tokenReadAt_ = now;
    std::error_code ec;
    auto mtime = std::filesystem::last_write_time(config_.tokenFile, ec);
    std::int64_t m = ec ? 0 : static_cast<std::int64_t>(mtime.time_since_epoch().count());
    if (token_.empty() || m != tokenMtime_) {
      if (auto t = readFile(config_.tokenFile); t.ok()) {
        auto v = std::move(t.value());
        while (!v.empty() && (v.back() == '\n' || v.back() == '\r' || v.back() == ' ')) v.pop_back();
        token_ = std::move(v);
        tokenMtime_ = m;
      }
    }
  }
  return token_;
}

void Client::addAuth(net::HttpRequest& req, const RequestOptions& opts) {
  if (auto token = currentToken(); !token.empty()) req.headers.emplace_back("Authorization", "Bearer " + token);
  if (opts.impersonate) {
    req.headers.emplace_back("Impersonate-User", opts.impersonate->user);
    for (const auto& g : opts.impersonate->groups) req.headers.emplace_back("Impersonate-Group", g);
  }
}

Result<net::HttpResponse> Client::send(std::string method, std::string target, std::string body,
                                       std::string_view contentType, const RequestOptions& opts) {
  net::HttpRequest req;
  req.method = std::move(method);
  req.target = pathPrefix_ + target;
  req.body = std::move(body);
  req.timeout = opts.timeout.count() > 0 ? opts.timeout : config_.requestTimeout;
  req.headers.emplace_back("Accept", "application/json");
  if (!contentType.empty()) req.headers.emplace_back("Content-Type", std::string(contentType));
  addAuth(req, opts);
  requests_.fetch_add(1, std::memory_order_relaxed);
  if (!observer_) return transport_->roundTrip(req);
  const auto started = std::chrono::steady_clock::now();
  auto res = transport_->roundTrip(req);
  observer_(req.method, res.ok() ? res->status : 0,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  return res;
}

Result<ObjectPtr> Client::objectFrom(Result<net::HttpResponse> r) {
  if (!r.ok()) return r.error();
  if (r->status < 200 || r->status >= 300) return errorFromResponse(r->status, r->body);
  return Object::parse(r->body);
}

std::string Client::writeQuery(const RequestOptions& opts) const {
  std::string q;
  appendParam(q, "fieldManager", opts.fieldManager);
  if (opts.dryRun) appendParam(q, "dryRun", "All");
  return q;
}

Result<ObjectPtr> Client::get(const ResourceRef& r, std::string_view ns, std::string_view name,
                              const RequestOptions& opts) {
  return objectFrom(send("GET", r.path(ns, name), {}, {}, opts));
}

Result<ListPage> Client::listPage(const ResourceRef& r, std::string_view ns, const ListOptions& list,
                                  const RequestOptions& opts) {
  std::string target = r.path(ns);
  appendParam(target, "labelSelector", list.labelSelector);
  appendParam(target, "fieldSelector", list.fieldSelector);
  if (list.limit > 0) appendParam(target, "limit", std::to_string(list.limit));
  appendParam(target, "continue", list.continueToken);
  appendParam(target, "resourceVersion", list.resourceVersion);
  appendParam(target, "resourceVersionMatch", list.resourceVersionMatch);
  auto obj = objectFrom(send("GET", target, {}, {}, opts));
  if (!obj.ok()) return obj.error();
  const auto& doc = (*obj)->json();
  ListPage page;
  page.resourceVersion = std::string((*obj)->stringAt({"metadata", "resourceVersion"}));
  page.continueToken = std::string((*obj)->stringAt({"metadata", "continue"}));
  if (const auto* items = member(doc, "items"); items && items->IsArray()) {
    page.items.reserve(items->Size());
    // Lists leave kind and apiVersion out of their items; fill them in so
    // cached objects look the same whether they came from a list or a watch.
    std::string itemKind(stringMember(doc, "kind"));
    if (itemKind.ends_with("List")) itemKind.resize(itemKind.size() - 4);
    std::string apiVersion(stringMember(doc, "apiVersion"));
    for (const auto& item : items->GetArray()) {
      if (!item.IsObject()) continue;
      if (member(item, "kind")) {
        page.items.push_back(Object::copyOf(item));
        continue;
      }
      rapidjson::Document copy;
      copy.CopyFrom(item, copy.GetAllocator());
      copy.AddMember("kind", rapidjson::Value(itemKind.c_str(), copy.GetAllocator()), copy.GetAllocator());
      copy.AddMember("apiVersion", rapidjson::Value(apiVersion.c_str(), copy.GetAllocator()), copy.GetAllocator());
      page.items.push_back(Object::copyOf(copy));
    }
  }
  return page;
}

Result<ListPage> Client::list(const ResourceRef& r, std::string_view ns, ListOptions list,
                              const RequestOptions& opts) {
  ListPage all;
  list.continueToken.clear();
  bool first = true;
  while (true) {
    auto page = listPage(r, ns, list, opts);
    if (!page.ok()) return page.error();
    if (first) all.resourceVersion = page->resourceVersion;
    first = false;
    for (auto& item : page->items) all.items.push_back(std::move(item));
    if (page->continueToken.empty()) break;
    list.continueToken = page->continueToken;
    list.resourceVersion.clear();  // not allowed together with continue
    list.resourceVersionMatch.clear();
  }
  return all;
}

Result<ObjectPtr> Client::create(const ResourceRef& r, std::string_view ns, const agent::RedactedText& body,
                                 const RequestOptions& opts) {
  return objectFrom(send("POST", r.path(ns) + writeQuery(opts), body.str(), "application/json", opts));
}

Result<ObjectPtr> Client::update(const ResourceRef& r, std::string_view ns, std::string_view name,
                                 const agent::RedactedText& body, const RequestOptions& opts) {
  return objectFrom(send("PUT", r.path(ns, name) + writeQuery(opts), body.str(), "application/json", opts));
}

Result<ObjectPtr> Client::updateStatus(const ResourceRef& r, std::string_view ns, std::string_view name,
                                       const agent::RedactedText& body, const RequestOptions& opts) {
  return objectFrom(send("PUT", r.path(ns, name, "status") + writeQuery(opts), body.str(), "application/json", opts));
}

Result<ObjectPtr> Client::patch(const ResourceRef& r, std::string_view ns, std::string_view name, PatchType type,
                                const agent::RedactedText& body, const RequestOptions& opts,
                                std::string_view subresource) {
  std::string target = r.path(ns, name, subresource) + writeQuery(opts);
  if (type == PatchType::Apply && opts.fieldManager.empty()) appendParam(target, "fieldManager", "opscopilot");
  return objectFrom(send("PATCH", std::move(target), body.str(), contentTypeFor(type), opts));
}

Result<void> Client::remove(const ResourceRef& r, std::string_view ns, std::string_view name,
                            const DeleteOptions& del, const RequestOptions& opts) {
  rapidjson::Document body(rapidjson::kObjectType);
  auto& a = body.GetAllocator();
  body.AddMember("kind", "DeleteOptions", a);
  body.AddMember("apiVersion", "v1", a);
  if (!del.propagationPolicy.empty()) {
    body.AddMember("propagationPolicy", rapidjson::Value(del.propagationPolicy.c_str(), a), a);
  }
  if (del.gracePeriodSeconds) body.AddMember("gracePeriodSeconds", *del.gracePeriodSeconds, a);
  if (!del.preconditionUID.empty() || !del.preconditionResourceVersion.empty()) {
    rapidjson::Value pre(rapidjson::kObjectType);
    if (!del.preconditionUID.empty()) pre.AddMember("uid", rapidjson::Value(del.preconditionUID.c_str(), a), a);
    if (!del.preconditionResourceVersion.empty()) {
      pre.AddMember("resourceVersion", rapidjson::Value(del.preconditionResourceVersion.c_str(), a), a);
    }
    body.AddMember("preconditions", pre, a);
  }
  auto r2 = send("DELETE", r.path(ns, name) + writeQuery(opts), serializeJson(body), "application/json", opts);
  if (!r2.ok()) return r2.error();
  if (r2->status < 200 || r2->status >= 300) return errorFromResponse(r2->status, r2->body);
  return {};
}

Result<std::string> Client::podLogs(std::string_view ns, std::string_view pod, const LogOptions& log,
                                    const RequestOptions& opts) {
  std::string target = resources::kPods.path(ns, pod, "log");
  appendParam(target, "container", log.container);
  if (log.previous) appendParam(target, "previous", "true");
  if (log.tailLines) appendParam(target, "tailLines", std::to_string(*log.tailLines));
  if (log.limitBytes) appendParam(target, "limitBytes", std::to_string(*log.limitBytes));
  if (log.sinceSeconds) appendParam(target, "sinceSeconds", std::to_string(*log.sinceSeconds));
  if (log.timestamps) appendParam(target, "timestamps", "true");
  auto r = send("GET", std::move(target), {}, {}, opts);
  if (!r.ok()) return r.error();
  if (r->status != 200) return errorFromResponse(r->status, r->body);
  return std::move(r->body);
}

Result<std::string> Client::getRaw(std::string_view path, const RequestOptions& opts) {
  auto r = send("GET", std::string(path), {}, {}, opts);
  if (!r.ok()) return r.error();
  if (r->status < 200 || r->status >= 300) return errorFromResponse(r->status, r->body);
  return std::move(r->body);
}

Result<void> Client::watch(const ResourceRef& r, std::string_view ns, const WatchOptions& w,
                           const net::DataHandler& onData, net::Cancellation& cancel, const RequestOptions& opts) {
  std::string target = r.path(ns);
  appendParam(target, "watch", "true");
  appendParam(target, "resourceVersion", w.resourceVersion);
  appendParam(target, "labelSelector", w.labelSelector);
  appendParam(target, "fieldSelector", w.fieldSelector);
  if (w.allowBookmarks) appendParam(target, "allowWatchBookmarks", "true");
  if (w.timeoutSeconds > 0) appendParam(target, "timeoutSeconds", std::to_string(w.timeoutSeconds));
  net::HttpRequest req;
  req.target = pathPrefix_ + target;
  req.timeout = opts.timeout.count() > 0 ? opts.timeout : config_.requestTimeout;
  req.headers.emplace_back("Accept", "application/json");
  addAuth(req, opts);
  requests_.fetch_add(1, std::memory_order_relaxed);
  auto res = transport_->stream(req, w.idleTimeout, onData, cancel);
  if (observer_) observer_("GET", res.ok() ? res->status : 0, std::nullopt);
  if (!res.ok()) return res.error();
  if (res->status != 200) return errorFromResponse(res->status, res->body);
  return {};
}

}  // namespace opscopilot::kube
