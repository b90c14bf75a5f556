#include "operator/controller/leader_election.h"

#include <rapidjson/document.h>

#include <ctime>

#include "agent/redacted.h"
#include "operator/controller/json_log.h"

namespace opscopilot::controller {

namespace {

using Clock = std::chrono::system_clock;

// metav1.MicroTime: "2026-11-21T10:00:00.123456Z".
std::string microTime(Clock::time_point t) {
  auto secs = Clock::to_time_t(t);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count() % 1000000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[64];
  std::snprintf(out, sizeof out, "%s.%06lldZ", buf, static_cast<long long>(micros));
  return out;
}

}  // namespace

LeaderElector::LeaderElector(std::shared_ptr<kube::Client> client, std::string ns, std::string name,
                             std::string identity, LeaderElectionOptions options)
    : client_(std::move(client)), ns_(std::move(ns)), name_(std::move(name)), identity_(std::move(identity)),
      opts_(options) {}

bool LeaderElector::tryAcquireOrRenew() {
  const auto now = Clock::now();
  const std::string nowText = microTime(now);
  auto lease = client_->get(kube::resources::kLeases, ns_, name_);
  if (!lease.ok()) {
    if (!lease.error().isNotFound()) return false;
    const std::string body = R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":")" + name_ +
                             R"("},"spec":{"holderIdentity":")" + identity_ + R"(","leaseDurationSeconds":)" +
                             std::to_string(opts_.leaseDuration.count()) + R"(,"acquireTime":")" + nowText +
                             R"(","renewTime":")" + nowText + R"(","leaseTransitions":0}})";
    const bool created = client_->create(kube::resources::kLeases, ns_, agent::redactJsonBody(body)).ok();
    if (created) logInfo("became leader", {{"lease", ns_ + "/" + name_}, {"identity", identity_}});
    return created;
  }
  const auto& l = **lease;
  const std::string holder(l.stringAt({"spec", "holderIdentity"}));
  const std::string record = holder + "|" + std::string(l.stringAt({"spec", "renewTime"})) + "|" +
                             std::to_string(l.intAt({"spec", "leaseDurationSeconds"}).value_or(0));
  const auto seen = std::chrono::steady_clock::now();
  if (record != observedRecord_) {
    observedRecord_ = record;
    observedAt_ = seen;
  }
  const auto duration = std::chrono::seconds(l.intAt({"spec", "leaseDurationSeconds"}).value_or(opts_.leaseDuration.count()));
  const bool ours = holder == identity_;
  const bool expired = holder.empty() || observedAt_ + duration < seen;
  if (!ours && !expired) return false;

  rapidjson::Document doc;
  doc.Parse(l.serialize().c_str());
  auto& a = doc.GetAllocator();
  auto& spec = doc["spec"];
  auto set = [&](const char* key, rapidjson::Value v) {
    if (spec.HasMember(key)) {
      spec[key] = std::move(v);
    } else {
      spec.AddMember(rapidjson::Value(key, a), std::move(v), a);
    }
  };
  set("holderIdentity", rapidjson::Value(identity_.c_str(), a));
  set("leaseDurationSeconds", rapidjson::Value(static_cast<int>(opts_.leaseDuration.count())));
  set("renewTime", rapidjson::Value(nowText.c_str(), a));
  if (!ours) {
    set("acquireTime", rapidjson::Value(nowText.c_str(), a));
    set("leaseTransitions", rapidjson::Value(static_cast<int>(l.intAt({"spec", "leaseTransitions"}).value_or(0) + 1)));
  }
  // The update carries the resourceVersion we read: two candidates racing
  // for an expired lease cannot both win.
  auto r = client_->update(kube::resources::kLeases, ns_, name_, agent::redactJson(doc));
  if (r.ok() && !ours) logInfo("became leader", {{"lease", ns_ + "/" + name_}, {"identity", identity_}});
  return r.ok();
}

bool LeaderElector::acquire(net::Cancellation& stop) {
  logInfo("waiting to become leader", {{"lease", ns_ + "/" + name_}, {"identity", identity_}});
  while (!stop.cancelled()) {
    if (tryAcquireOrRenew()) return true;
    stop.sleepFor(opts_.retryPeriod);
  }
  return false;
}

bool LeaderElector::keepRenewing(net::Cancellation& stop) {
  auto lastRenew = std::chrono::steady_clock::now();
  while (!stop.sleepFor(opts_.retryPeriod)) {
    if (tryAcquireOrRenew()) {
      lastRenew = std::chrono::steady_clock::now();
    } else if (std::chrono::steady_clock::now() - lastRenew > opts_.renewDeadline) {
      logError("lost leadership: the lease could not be renewed in time", {{"lease", ns_ + "/" + name_}});
      return false;
    }
  }
  return true;
}

void LeaderElector::release() {
  auto lease = client_->get(kube::resources::kLeases, ns_, name_);
  if (!lease.ok() || (*lease)->stringAt({"spec", "holderIdentity"}) != identity_) return;
  rapidjson::Document doc;
  doc.Parse((*lease)->serialize().c_str());
  doc["spec"]["holderIdentity"].SetString("", doc.GetAllocator());
  doc["spec"]["leaseDurationSeconds"].SetInt(1);
  (void)client_->update(kube::resources::kLeases, ns_, name_, agent::redactJson(doc));
}

}  // namespace opscopilot::controller
