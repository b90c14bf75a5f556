// EventRecorder: Events go out one at a time from a background thread, and
// what is recorded and not yet sent is counted (opscopilot_events_pending).
#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "agent/redaction.h"
#include "fake_transport.h"
#include "operator/controller/event_recorder.h"
#include "operator/kube/client.h"

using namespace opscopilot;

TEST(EventRecorder, CountsWhatIsRecordedAndNotYetSent) {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int sent = 0;
  auto transport = std::make_shared<test::FakeTransport>();
  transport->onRoundTrip = [&](const net::HttpRequest& r) {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return open; });  // the API server answers once let
    ++sent;
    cv.notify_all();
    return net::Result<net::HttpResponse>(net::HttpResponse{201, {}, r.body});
  };
  kube::ClientConfig cfg;
  cfg.server = "https://127.0.0.1:6443";
  controller::EventRecorder recorder(std::make_shared<kube::Client>(cfg, transport));
  EXPECT_EQ(recorder.pending(), 0u);
  const controller::EventTarget target{"opscopilot.io/v1alpha1", "DiagnosticRun", "shop", "why", "uid-1"};
  for (const char* reason : {"Started", "Completed", "Failed"}) {
    recorder.record(target, "Normal", reason, agent::redactText(std::string("run ") + reason));
  }
  EXPECT_EQ(recorder.pending(), 3u) << "one being sent and two queued";
  {
    std::lock_guard lock(mu);
    open = true;
  }
  cv.notify_all();
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(cv.wait_for(lock, std::chrono::seconds(10), [&] { return sent == 3; }));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (recorder.pending() != 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  EXPECT_EQ(recorder.pending(), 0u);
}
