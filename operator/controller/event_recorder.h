// EventRecorder: posts core/v1 Events about objects from a background
// thread, so that recording an Event never delays a reconcile. Failures are
// logged and dropped (Events are best effort, as in client-go). An Event is
// named by a hash of its object's UID, type, reason and message, so the same
// Event recorded twice (a run resumed after a crash) is one object.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "agent/redacted.h"
#include "operator/kube/client.h"

namespace opscopilot::controller {

struct EventTarget {
  std::string apiVersion, kind, ns, name, uid;
};

class EventRecorder {
 public:
  explicit EventRecorder(std::shared_ptr<kube::Client> client, std::string component = "opscopilot");
  ~EventRecorder();  // sends what is queued, then stops

  // type: "Normal" or "Warning"; reason: CamelCase; message: one sentence,
  // redacted (agent::redactText), cut at 1000 bytes. The whole Event passes
  // the redactor again on its way to the API server (kube::Client).
  void record(const EventTarget& target, const std::string& type, const std::string& reason,
              const agent::RedactedText& message);
  // Events recorded and not yet sent (the one being sent included).
  std::size_t pending() const;

 private:
  void loop();
  std::shared_ptr<kube::Client> client_;
  std::string component_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, agent::RedactedText>> pending_;  // namespace, JSON body
  bool sending_ = false;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace opscopilot::controller
