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
#include "tools/api_kinds.h"

namespace opscopilot::tools {

class ToolCall {
 public:
  // deadline: time_point{} for none; every request's timeout is at most
  // maxRequestTimeout and never beyond the deadline.
  ToolCall(kube::Client& client, std::string ns, kube::Impersonation reader,
           std::chrono::steady_clock::time_point deadline, std::chrono::milliseconds maxRequestTimeout);

  const std::string& ns() const { return ns_; }
  const std::string& readerUser() const { return reader_.user; }
  // Requests sent so far.
  int requests() const { return requests_; }

  // Reads one object. Errors are the API's (NotFound, Forbidden, ...), or
  // Timeout, without a request, once the deadline has passed.
  kube::Result<kube::ObjectPtr> get(const ApiKind& kind, std::string_view name);

  struct Listed {
    std::vector<kube::ObjectPtr> items;
    bool truncated = false;  // more than maxItems existed
  };
  // Reads a collection page by page, stopping after maxItems objects.
  kube::Result<Listed> list(const ApiKind& kind, kube::ListOptions options = {}, std::size_t maxItems = 1000);

  // Reads the named object, or, when name is empty, every object of the kind
  // in the namespace (at most maxItems). On failure *failure holds the tool
  // output to return (see failed()), built around data.
  std::optional<std::vector<kube::ObjectPtr>> getOrList(const ApiKind& kind, const std::string& name,
                                                        std::size_t maxItems,
                                                        const std::shared_ptr<const rapidjson::Document>& data,
                                                        agent::ToolOutput* failure);

  // Reads a pod's log as text.
  kube::Result<std::string> podLogs(std::string_view pod, const kube::LogOptions& log);

  // The options of the next request: impersonation and the time left;
  // nullopt when the deadline has passed.
  std::optional<kube::RequestOptions> requestOptions() const;

  // One plain sentence saying what could not be read and why, e.g.
  // "forbidden: the reader identity system:serviceaccount:shop:opscopilot-reader
  // cannot list pods in namespace shop".
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
  int requests_ = 0;
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
