#include "tools/access_review.h"

#include <rapidjson/document.h>

#include "agent/redacted.h"

namespace opscopilot::tools {

namespace {

const kube::ResourceRef kSubjectAccessReviews{"authorization.k8s.io", "v1", "subjectaccessreviews", false};

using Alloc = rapidjson::Document::AllocatorType;

rapidjson::Value str(const std::string& s, Alloc& a) { return rapidjson::Value(s.c_str(), static_cast<rapidjson::SizeType>(s.size()), a); }

std::string cacheKey(const agent::Requester& who, const AccessAttributes& at) {
  // The whole identity is the key (name, UID, groups, extra): one identity's
  // decision never answers for another's.
  std::string k;
  for (const std::string* s : {&who.username, &who.uid, &at.verb, &at.group, &at.resource, &at.subresource,
                               &at.ns, &at.name}) {
    k.append(*s).push_back('\x1f');
  }
  for (const auto& g : who.groups) k.append(g).push_back('\x1e');
  for (const auto& [key, values] : who.extra) {
    k.append(key).push_back('=');
    for (const auto& v : values) k.append(v).push_back('\x1e');
  }
  return k;
}

}  // namespace

std::string subjectAccessReviewJson(const agent::Requester& who, const AccessAttributes& at) {
  rapidjson::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  d.AddMember("apiVersion", "authorization.k8s.io/v1", a);
  d.AddMember("kind", "SubjectAccessReview", a);
  rapidjson::Value spec(rapidjson::kObjectType);
  spec.AddMember("user", str(who.username, a), a);
  if (!who.uid.empty()) spec.AddMember("uid", str(who.uid, a), a);
  rapidjson::Value groups(rapidjson::kArrayType);
  for (const auto& g : who.groups) groups.PushBack(str(g, a), a);
  spec.AddMember("groups", groups, a);
  if (!who.extra.empty()) {
    rapidjson::Value extra(rapidjson::kObjectType);
    for (const auto& [key, values] : who.extra) {
      rapidjson::Value vs(rapidjson::kArrayType);
      for (const auto& v : values) vs.PushBack(str(v, a), a);
      extra.AddMember(str(key, a), vs, a);
    }
    spec.AddMember("extra", extra, a);
  }
  rapidjson::Value attrs(rapidjson::kObjectType);
  if (!at.ns.empty()) attrs.AddMember("namespace", str(at.ns, a), a);
  attrs.AddMember("verb", str(at.verb, a), a);
  attrs.AddMember("group", str(at.group, a), a);
  attrs.AddMember("resource", str(at.resource, a), a);
  if (!at.subresource.empty()) attrs.AddMember("subresource", str(at.subresource, a), a);
  if (!at.name.empty()) attrs.AddMember("name", str(at.name, a), a);
  spec.AddMember("resourceAttributes", attrs, a);
  d.AddMember("spec", spec, a);
  return kube::serializeJson(d);
}

AccessReviewer::AccessReviewer(std::shared_ptr<kube::Client> client, Options options)
    : client_(std::move(client)), options_(options) {}

std::uint64_t AccessReviewer::reviewsSent() const {
  std::lock_guard lock(mu_);
  return sent_;
}

kube::Result<AccessVerdict> AccessReviewer::review(const agent::Requester& who, const AccessAttributes& attrs,
                                                   std::chrono::milliseconds timeout) {
  if (who.username.empty()) return kube::Error{0, "Forbidden", "the run has no requester to check", "requester"};
  const auto key = cacheKey(who, attrs);
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mu_);
    if (auto it = cache_.find(key); it != cache_.end() && it->second.expires > now) {
      AccessVerdict v = it->second.verdict;
      v.cached = true;
      return v;
    }
    ++sent_;
  }
  kube::RequestOptions opts;
  opts.timeout = timeout;
  // Like every write, through the redactor (an identity holds no secret, so
  // the review is unchanged).
  auto created = client_->create(kSubjectAccessReviews, "", agent::redactJsonBody(subjectAccessReviewJson(who, attrs)), opts);
  if (!created.ok()) return created.error();
  const auto* status = (*created)->at({"status"});
  AccessVerdict v;
  if (status && status->IsObject()) {
    const auto* allowed = kube::member(*status, "allowed");
    const auto* denied = kube::member(*status, "denied");
    v.allowed = allowed && allowed->IsBool() && allowed->GetBool() && !(denied && denied->IsBool() && denied->GetBool());
    v.reason = std::string(kube::stringMember(*status, "reason"));
    if (!v.allowed && v.reason.empty()) v.reason = std::string(kube::stringMember(*status, "evaluationError"));
  }
  std::lock_guard lock(mu_);
  if (cache_.size() >= options_.maxEntries) {
    // Drop the oldest decisions (an entry already replaced may appear twice
    // in order_; erasing a missing key is harmless).
    while (!order_.empty() && cache_.size() >= options_.maxEntries) {
      cache_.erase(order_.front());
      order_.pop_front();
    }
  }
  if (cache_.insert_or_assign(key, Entry{v, std::chrono::steady_clock::now() + options_.ttl}).second) {
    order_.push_back(key);
  }
  return v;
}

}  // namespace opscopilot::tools
