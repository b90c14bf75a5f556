#include "operator/controller/event_recorder.h"

#include <rapidjson/document.h>

#include "agent/graph.h"
#include "operator/controller/digest.h"
#include "operator/controller/json_log.h"

namespace opscopilot::controller {

EventRecorder::EventRecorder(std::shared_ptr<kube::Client> client, std::string component)
    : client_(std::move(client)), component_(std::move(component)), thread_([this] { loop(); }) {}

EventRecorder::~EventRecorder() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventRecorder::record(const EventTarget& t, const std::string& type, const std::string& reason,
                           const agent::RedactedText& message) {
  rapidjson::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  auto str = [&](const std::string& s) { return rapidjson::Value(s.c_str(), a); };
  auto now = agent::formatTime(std::chrono::system_clock::now());
  d.AddMember("apiVersion", "v1", a);
  d.AddMember("kind", "Event", a);
  const std::string text(message.view().substr(0, 1000));
  // Named by what it says: an Event recorded again (the same run, type,
  // reason and message; e.g. by an operator restarted before its status
  // write) is the same object, so a replay never duplicates it.
  std::string key = t.uid;
  for (const std::string* part : {&type, &reason, &text}) key += '\0' + *part;
  rapidjson::Value meta(rapidjson::kObjectType);
  meta.AddMember("name", str(boundedName(t.name, "." + sha256Hex(key).substr(0, 16))), a);
  meta.AddMember("namespace", str(t.ns), a);
  d.AddMember("metadata", meta, a);
  rapidjson::Value involved(rapidjson::kObjectType);
  involved.AddMember("apiVersion", str(t.apiVersion), a);
  involved.AddMember("kind", str(t.kind), a);
  involved.AddMember("namespace", str(t.ns), a);
  involved.AddMember("name", str(t.name), a);
  involved.AddMember("uid", str(t.uid), a);
  d.AddMember("involvedObject", involved, a);
  d.AddMember("type", str(type), a);
  d.AddMember("reason", str(reason), a);
  d.AddMember("message", str(text), a);
  rapidjson::Value source(rapidjson::kObjectType);
  source.AddMember("component", str(component_), a);
  d.AddMember("source", source, a);
  d.AddMember("reportingComponent", str(component_), a);
  d.AddMember("firstTimestamp", str(now), a);
  d.AddMember("lastTimestamp", str(now), a);
  d.AddMember("count", 1, a);
  // The sink: every string of the Event passes the redactor, whoever wrote it.
  auto body = agent::redactJson(d);
  {
    std::lock_guard lock(mu_);
    if (pending_.size() > 10000) return;  // the API server is not keeping up; drop
    pending_.emplace_back(t.ns, std::move(body));
  }
  cv_.notify_one();
}

std::size_t EventRecorder::pending() const {
  std::lock_guard lock(mu_);
  return pending_.size() + (sending_ ? 1 : 0);
}

void EventRecorder::loop() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stop_ || !pending_.empty(); });
    if (pending_.empty() && stop_) return;
    auto [ns, body] = std::move(pending_.front());
    pending_.pop_front();
    sending_ = true;
    lock.unlock();
    kube::RequestOptions opts;
    opts.timeout = std::chrono::seconds(5);
    auto r = client_->create(kube::resources::kEvents, ns, body, opts);
    // AlreadyExists: recorded before (see record), nothing to add.
    if (!r.ok() && r.error().reason != "AlreadyExists") {
      logError("cannot record event", {{"namespace", ns}, {"error", r.error().toString()}});
    }
    lock.lock();
    sending_ = false;
  }
}

}  // namespace opscopilot::controller
