#include "tools/tool_call.h"

#include <algorithm>

namespace opscopilot::tools {

namespace {

kube::Error deadlinePassed() { return kube::Error{0, "Timeout", "the tool's deadline passed before the request"}; }

std::string_view scopeOf(const ApiKind& kind) { return kind.ref.namespaced ? "namespaced" : "cluster-scoped"; }

}  // namespace

ToolCall::ToolCall(kube::Client& client, std::string ns, kube::Impersonation reader,
                   std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds maxRequestTimeout,
                   std::optional<RequesterCheck> requester)
    : requester_(std::move(requester)),
      client_(client),
      ns_(std::move(ns)),
      reader_(std::move(reader)),
      deadline_(deadline),
      maxRequestTimeout_(maxRequestTimeout) {}

std::optional<kube::RequestOptions> ToolCall::requestOptions() const {
  kube::RequestOptions o;
  o.impersonate = reader_;
  o.timeout = maxRequestTimeout_;
  if (deadline_ != std::chrono::steady_clock::time_point{}) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    o.timeout = std::min(o.timeout, left);
  }
  return o;
}

std::optional<kube::Error> ToolCall::mayRead(std::string_view verb, const ApiKind& kind, AccessReviewer& reviewer) {
  auto opts = requestOptions();
  if (!opts) return deadlinePassed();
  agent::Requester reader;
  reader.username = reader_.user;
  reader.groups = reader_.groups;
  if (reader.groups.empty()) {
    // What the API server gives an impersonated user without groups.
    constexpr std::string_view sa = "system:serviceaccount:";
    if (reader.username.starts_with(sa)) {
      const std::string rest = reader.username.substr(sa.size());
      reader.groups = {"system:serviceaccounts", "system:serviceaccounts:" + rest.substr(0, rest.find(':'))};
    }
    reader.groups.push_back("system:authenticated");
  }
  AccessAttributes at{std::string(verb), kind.ref.group, kind.ref.resource, "", kind.ref.namespaced ? ns_ : std::string(), ""};
  auto verdict = reviewer.review(reader, at, opts->timeout);
  if (!verdict.ok() || !verdict->cached) ++requests_;
  const std::string what = std::string(verb) + " " + kind.ref.resource + "." + kind.ref.group + " in namespace " + ns_;
  if (!verdict.ok()) {
    return kube::Error{verdict.error().httpCode, verdict.error().isTimeout() ? "Timeout" : "Forbidden",
                       "could not check whether the reader identity " + reader_.user + " may " + what + ": " +
                           verdict.error().toString()};
  }
  if (!verdict->allowed) {
    return kube::Error{403, "Forbidden",
                       "forbidden: the reader identity " + reader_.user + " may not " + what +
                           " (the permission that stands for reading the namespace's metrics)"};
  }
  return refusedForRequester(verb, kind, "", "");
}

std::optional<kube::Error> ToolCall::refusedForRequester(std::string_view verb, const ApiKind& kind,
                                                         std::string_view name, std::string_view subresource) {
  if (!requester_) return std::nullopt;
  auto opts = requestOptions();
  if (!opts) return deadlinePassed();
  AccessAttributes at{std::string(verb), kind.ref.group, kind.ref.resource, std::string(subresource),
                      kind.ref.namespaced ? ns_ : std::string(), std::string(name)};
  auto verdict = requester_->reviewer->review(requester_->who, at, opts->timeout);
  if (verdict.ok() && !verdict->cached) ++requests_;
  if (!verdict.ok()) ++requests_;
  std::string what = std::string(verb) + " " + kind.ref.resource;
  if (!subresource.empty()) what.append("/").append(subresource);
  if (!name.empty()) what.append(" \"").append(name).append("\"");
  what += kind.ref.namespaced ? " in namespace " + ns_ : std::string(" (cluster-scoped)");
  const std::string who = requester_->who.username.empty() ? std::string("(nobody)") : requester_->who.username;
  if (!verdict.ok() || !verdict->allowed) ++requesterRefusals_;
  if (!verdict.ok()) {
    // Fail closed: a read the requester's rights could not be checked for is
    // not made.
    const bool timedOut = verdict.error().isTimeout();
    return kube::Error{verdict.error().httpCode, timedOut ? "Timeout" : "Forbidden",
                       std::string(timedOut ? "timed out: " : "refused: ") + "could not check whether " + who +
                           ", who asked for this run, may " + what + ", so it was not read: " + verdict.error().toString(),
                       "requester"};
  }
  if (verdict->allowed) return std::nullopt;
  std::string message = "forbidden: " + who + ", who asked for this run, may not " + what +
                        "; the run does not read it for them (grant them that permission to include it)";
  if (!verdict->reason.empty()) message += " [" + verdict->reason + "]";
  return kube::Error{403, "Forbidden", std::move(message), "requester"};
}

kube::Result<kube::ObjectPtr> ToolCall::get(const ApiKind& kind, std::string_view name) {
  if (auto refused = refusedForRequester("get", kind, name, {})) return *refused;
  auto opts = requestOptions();
  if (!opts) return deadlinePassed();
  ++requests_;
  auto got = client_.get(kind.ref, kind.ref.namespaced ? std::string_view(ns_) : std::string_view(), name, *opts);
  if (got.ok()) keep(kind, {*got});
  return got;
}

kube::Result<kube::ObjectPtr> ToolCall::getRecent(const ApiKind& kind, std::string_view name,
                                                  std::chrono::milliseconds maxAge) {
  if (recent_) {
    if (auto kept = recent_->find(RecentObjects::keyFor(kind.ref.resource, name), maxAge)) {
      if (auto refused = refusedForRequester("get", kind, name, {})) return *refused;
      return kept;
    }
  }
  return get(kind, name);
}

void ToolCall::keep(const ApiKind& kind, const std::vector<kube::ObjectPtr>& objects) {
  if (!recent_ || !kind.ref.namespaced || objects.size() > RecentObjects::kMaxObjects) return;
  std::vector<std::pair<std::string, kube::ObjectPtr>> keyed;
  keyed.reserve(objects.size());
  for (const auto& o : objects) keyed.emplace_back(RecentObjects::keyFor(kind.ref.resource, o->name()), o);
  recent_->keep(keyed);
}

std::optional<std::vector<kube::ObjectPtr>> ToolCall::getOrList(
    const ApiKind& kind, const std::string& name, std::size_t maxItems,
    const std::shared_ptr<const rapidjson::Document>& data, agent::ToolOutput* failure) {
  if (!name.empty()) {
    auto one = get(kind, name);
    if (!one.ok()) {
      *failure = failed(one.error(), "get", kind, name, data);
      return std::nullopt;
    }
    return std::vector<kube::ObjectPtr>{*one};
  }
  auto listed = list(kind, {}, maxItems);
  if (!listed.ok()) {
    *failure = failed(listed.error(), "list", kind, {}, data);
    return std::nullopt;
  }
  return std::move(listed->items);
}

kube::Result<ToolCall::Listed> ToolCall::list(const ApiKind& kind, kube::ListOptions options, std::size_t maxItems) {
  constexpr std::int64_t kPageSize = 500;
  if (auto refused = refusedForRequester("list", kind, {}, {})) return *refused;
  Listed out;
  options.limit = kPageSize;
  options.continueToken.clear();
  while (true) {
    auto opts = requestOptions();
    if (!opts) return deadlinePassed();
    ++requests_;
    auto page = client_.listPage(kind.ref, kind.ref.namespaced ? std::string_view(ns_) : std::string_view(),
                                 options, *opts);
    if (!page.ok()) return page.error();
    for (auto& item : page->items) {
      if (out.items.size() == maxItems) {
        out.truncated = true;
        return out;
      }
      out.items.push_back(std::move(item));
    }
    if (page->continueToken.empty()) {
      keep(kind, out.items);
      return out;
    }
    if (out.items.size() == maxItems) {
      out.truncated = true;
      return out;
    }
    options.continueToken = page->continueToken;
  }
}

kube::Result<ToolCall::Listed> ToolCall::listRecent(const ApiKind& kind, kube::ListOptions options,
                                                   std::size_t maxItems, std::chrono::milliseconds maxAge) {
  if (!recent_) return list(kind, std::move(options), maxItems);
  const auto key =
      RecentObjects::listKeyFor(reader_.user, ns_, kind.ref.resource, options.labelSelector, options.fieldSelector);
  if (auto kept = recent_->findList(key, maxAge); kept && kept->size() <= maxItems) {
    if (auto refused = refusedForRequester("list", kind, {}, {})) return *refused;
    return Listed{std::move(*kept), false};
  }
  auto listed = list(kind, std::move(options), maxItems);
  if (listed.ok() && !listed->truncated) recent_->keepList(key, listed->items);
  return listed;
}

kube::Result<std::string> ToolCall::podLogs(std::string_view pod, const kube::LogOptions& log) {
  if (auto refused = refusedForRequester("get", kinds::kPod, pod, "log")) return *refused;
  auto opts = requestOptions();
  if (!opts) return deadlinePassed();
  ++requests_;
  return client_.podLogs(ns_, pod, log, *opts);
}

std::string ToolCall::describeFailure(const kube::Error& e, std::string_view verb, const ApiKind& kind,
                                      std::string_view name, std::string_view subresource) const {
  std::string resource(kind.ref.resource);
  if (!subresource.empty()) resource.append("/").append(subresource);
  std::string object = resource;
  if (!name.empty()) object.append(" \"").append(name).append("\"");
  std::string where = kind.ref.namespaced ? " in namespace " + ns_ : " (" + std::string(scopeOf(kind)) + ")";
  if (e.deniedBy == "requester") return e.message;  // already the whole sentence
  if (e.isForbidden()) {
    // The operator itself may lack the right to impersonate; that is a
    // different fix than granting the reader more.
    if (e.message.find("cannot impersonate") != std::string::npos) {
      return "forbidden: the operator may not impersonate the reader identity " + reader_.user +
             " (it needs `impersonate` on serviceaccounts/opscopilot-reader): " + e.message;
    }
    return "forbidden: the reader identity " + reader_.user + " cannot " + std::string(verb) + " " + object + where;
  }
  if (e.isNotFound()) {
    if (!name.empty()) return "not found: " + std::string(kind.kind) + " " + std::string(name) + " does not exist" + where;
    return "not found: " + resource + where + ": " + e.message;
  }
  if (e.isTimeout()) {
    return "timed out: could not " + std::string(verb) + " " + object + where + " in time: " + e.message;
  }
  return "error: could not " + std::string(verb) + " " + object + where + ": " + e.toString();
}

agent::EvidenceDraft ToolCall::failureEvidence(const kube::Error& e, std::string_view verb, const ApiKind& kind,
                                               std::string_view name, std::string_view subresource) const {
  std::string ref(kind.kind);
  ref.append("/").append(name.empty() ? std::string_view("*") : name);
  return {std::move(ref), describeFailure(e, verb, kind, name, subresource)};
}

agent::ToolOutput ToolCall::failed(const kube::Error& e, std::string_view verb, const ApiKind& kind,
                                   std::string_view name, std::shared_ptr<const rapidjson::Document> data,
                                   std::string_view subresource) const {
  agent::ToolOutput out;
  out.ok = false;
  out.errorReason = errorReasonFor(e);
  auto evidence = failureEvidence(e, verb, kind, name, subresource);
  out.summary = evidence.text;
  out.evidence.push_back(std::move(evidence));
  out.data = std::move(data);
  return out;
}

std::string errorReasonFor(const kube::Error& e) {
  if (e.isForbidden()) return "Forbidden";
  if (e.isNotFound()) return "NotFound";
  if (e.isTimeout()) return "Timeout";
  return "Error";
}

}  // namespace opscopilot::tools
