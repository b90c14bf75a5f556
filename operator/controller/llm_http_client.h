// The model providers' HttpClient on the operator's Beast transport: one
// transport per origin (scheme, host, port), TLS verified with the system's
// CAs. Each call is bounded by its timeout and deadline (a stream too) and
// ends at once when its stop token fires.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "agent/llm/llm.h"
#include "operator/net/http_transport.h"

namespace opscopilot::controller {

class LlmHttpClient final : public agent::llm::HttpClient {
 public:
  Outcome send(const agent::llm::HttpCall& call, const std::function<void(std::string_view)>& onChunk) override;

 private:
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<net::HttpTransport>> transports_;  // by origin
};

}  // namespace opscopilot::controller
