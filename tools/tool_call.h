// ToolCall: one run of one tool. Every Kubernetes request the tool makes goes
// through it, so every request is made in the run's namespace only (cluster-
// scoped kinds: cluster-wide reads, which a namespace reader is normally
// refused), impersonating that namespace's reader identity, and within the
// call's deadline.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/tool.h"
#include "operator/kube/client.h"
#include "tools/access_review.h"
#include "tools/api_kinds.h"
#include "tools/recent_objects.h"

namespace opscopilot::tools {

// Whose rights, besides the reader identity's, bound the call's reads.
struct RequesterCheck {
  agent::Requester who;
  AccessReviewer* reviewer = nullptr;  // must be set
};

class ToolCall {
 public:
  // deadline: time_point{} for none; every request's timeout is at most
  // maxRequestTimeout and never beyond the deadline.
  // requester: when set, every read is first checked for that requester
  // (AccessReviewer) and refused, without being made, when they may not.
  ToolCall(kube::Client& client, std::string ns, kube::Impersonation reader,
           std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds maxRequestTimeout,
           std::optional<RequesterCheck> requester = std::nullopt);

  const std::string& ns() const { return ns_; }
  // A follow-up run's: Events and logs older than this were read by the
  // earlier run (ToolContext::since); {} for none.
  std::chrono::system_clock::time_point since() const { return since_; }
  void setSince(std::chrono::system_clock::time_point t) { since_ = t; }
  std::chrono::steady_clock::time_point deadline() const { return deadline_; }
  // A call for another namespace as another reader, within this call's
  // deadline and without a requester check: for what the operator publishes
  // to every run (shared runbooks), never for the cluster's own objects.
  // Its lists are kept in the same RecentObjects, under its reader.
  ToolCall sharedIn(std::string ns, kube::Impersonation reader) const {
    ToolCall c(client_, std::move(ns), std::move(reader), deadline_, maxRequestTimeout_);
    c.recent_ = recent_;
    return c;
  }
  const std::string& readerUser() const { return reader_.user; }
  // Requests sent so far (access reviews included).
  int requests() const { return requests_; }
  // Reads refused so far because the requester may not make them.
  int requesterRefusals() const { return requesterRefusals_; }

  // Reads one object. Errors are the API's (NotFound, Forbidden, ...), or
  // Timeout, without a request, once the deadline has passed.
  kube::Result<kube::ObjectPtr> get(const ApiKind& kind, std::string_view name);
  // The same, but an object this run read within maxAge (RecentObjects, when
  // the run keeps them) is taken without a request. The requester check
  // still applies.
  kube::Result<kube::ObjectPtr> getRecent(const ApiKind& kind, std::string_view name, std::chrono::milliseconds maxAge);
  // What this call's reads return is kept there for the run's later steps.
  void keepReadsIn(std::shared_ptr<RecentObjects> recent) { recent_ = std::move(recent); }

  struct Listed {
    std::vector<kube::ObjectPtr> items;
    bool truncated = false;  // more than maxItems existed
  };
  // Reads a collection page by page, stopping after maxItems objects.
  kube::Result<Listed> list(const ApiKind& kind, kube::ListOptions options = {}, std::size_t maxItems = 1000);
  // The same, but the same list (this reader, namespace and selectors) read
  // whole through listRecent by this run within maxAge is taken without a
  // request, and a list read whole is kept (RecentObjects::keepList). The
  // requester check still applies.
  kube::Result<Listed> listRecent(const ApiKind& kind, kube::ListOptions options, std::size_t maxItems,
                                  std::chrono::milliseconds maxAge);

  // Reads the named object, or, when name is empty, every object of the kind
  // in the namespace (at most maxItems). On failure *failure holds the tool
  // output to return (see failed()), built around data.
  std::optional<std::vector<kube::ObjectPtr>> getOrList(const ApiKind& kind, const std::string& name,
                                                        std::size_t maxItems,
                                                        const std::shared_ptr<const rapidjson::Document>& data,
                                                        agent::ToolOutput* failure);

  // For a read that is not a Kubernetes request (a Prometheus query): may
  // the reader identity, and the run's requester when there is one, `verb`
  // kind in the namespace? Asked of the API server (SubjectAccessReview, as
  // the API server sees an impersonated service account: with its groups);
  // nullopt when both may, else the error to return instead of reading.
  std::optional<kube::Error> mayRead(std::string_view verb, const ApiKind& kind, AccessReviewer& reviewer);

  // Reads a pod's log as text.
  kube::Result<std::string> podLogs(std::string_view pod, const kube::LogOptions& log);

  // The options of the next request: impersonation and the time left;
  // nullopt when the deadline has passed.
  std::optional<kube::RequestOptions> requestOptions() const;

  // One plain sentence saying what could not be read and why, e.g.
  // "forbidden: the reader identity system:serviceaccount:shop:opscopilot-reader
  // cannot list pods in namespace shop", or, when the requester may not,
  // "forbidden: alice, who asked for this run, may not get pods/log "web-1"
  // in namespace shop; the run does not read it for them".
  std::string describeFailure(const kube::Error& e, std::string_view verb, const ApiKind& kind,
                              std::string_view name = {}, std::string_view subresource = {}) const;

  // The evidence item for a failed read: ref "Kind/name" ("Kind/*" for a
  // list), text describeFailure(...).
  agent::EvidenceDraft failureEvidence(const kube::Error& e, std::string_view verb, const ApiKind& kind,
                                       std::string_view name = {}, std::string_view subresource = {}) const;

  // The whole output of a call whose main read failed: ok=false, errorReason
  // from the error, the sentence as summary and as its only evidence item,
  // and data (the tool's shape, usually empty) when given.
  agent::ToolOutput failed(const kube::Error& e, std::string_view verb, const ApiKind& kind,
                           std::string_view name = {}, std::shared_ptr<const rapidjson::Document> data = {},
                           std::string_view subresource = {}) const;

 private:
  // nullopt when the requester may make the request (or none is checked);
  // otherwise the error to return instead of making it.
  std::optional<kube::Error> refusedForRequester(std::string_view verb, const ApiKind& kind, std::string_view name,
                                                 std::string_view subresource);

  void keep(const ApiKind& kind, const std::vector<kube::ObjectPtr>& objects);

  std::shared_ptr<RecentObjects> recent_;
  int requests_ = 0;
  int requesterRefusals_ = 0;
  std::chrono::system_clock::time_point since_{};
  std::optional<RequesterCheck> requester_;
  kube::Client& client_;
  std::string ns_;
  kube::Impersonation reader_;
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::milliseconds maxRequestTimeout_;
};

// The ToolOutput errorReason for an API error: Forbidden, NotFound, Timeout
// or Error.
std::string errorReasonFor(const kube::Error& e);

}  // namespace opscopilot::tools
