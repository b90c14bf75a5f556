// FakeTransport: an HttpTransport whose answers come from test code, and
// which records every request it is sent.
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "operator/net/http_transport.h"

namespace opscopilot::test {

class FakeTransport : public net::HttpTransport {
 public:
  using RoundTripFn = std::function<net::Result<net::HttpResponse>(const net::HttpRequest&)>;
  // Returns the stream's end; calls onData with the pieces to deliver.
  using StreamFn = std::function<net::Result<net::HttpResponse>(const net::HttpRequest&, const net::DataHandler&,
                                                                net::Cancellation&)>;

  RoundTripFn onRoundTrip;
  StreamFn onStream;

  net::Result<net::HttpResponse> roundTrip(const net::HttpRequest& r) override {
    record(r);
    return onRoundTrip(r);
  }
  net::Result<net::HttpResponse> stream(const net::HttpRequest& r, std::chrono::milliseconds,
                                        const net::DataHandler& onData, net::Cancellation& cancel) override {
    record(r);
    return onStream(r, onData, cancel);
  }

  std::vector<net::HttpRequest> requests() {
    std::lock_guard l(mu_);
    return requests_;
  }

 private:
  void record(const net::HttpRequest& r) {
    std::lock_guard l(mu_);
    requests_.push_back(r);
  }
  std::mutex mu_;
  std::vector<net::HttpRequest> requests_;
};

inline std::string headerOf(const net::HttpRequest& r, const std::string& name) {
  for (const auto& [k, v] : r.headers) {
    if (k == name) return v;
  }
  return {};
}

}  // namespace opscopilot::test
