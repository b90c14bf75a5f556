// Server-sent events and the providers' readers of them. The first byte picks
// the provider (OpenAI or Anthropic), streamed or plain, and the size of the
// pieces the body arrives in; the rest is the body of a 200 reply.
#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "agent/llm/llm.h"
#include "agent/llm/sse.h"

using namespace opscopilot::agent::llm;

namespace {

// Answers every call with the fuzz input: the HTTP layer is not under test.
class InputReply : public HttpClient {
 public:
  std::string_view body;
  std::size_t piece = 1;
  Outcome send(const HttpCall&, const std::function<void(std::string_view)>& onChunk) override {
    Outcome out;
    out.reply = HttpReply{200, {{"Content-Type", onChunk ? "text/event-stream" : "application/json"}}, ""};
    if (!onChunk) {
      out.reply->body = std::string(body);
      return out;
    }
    for (std::string_view rest = body; !rest.empty();) {
      auto n = std::min(piece, rest.size());
      onChunk(rest.substr(0, n));
      rest.remove_prefix(n);
    }
    return out;
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::uint8_t mode = data[0];
  auto http = std::make_shared<InputReply>();
  http->body = std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1);
  http->piece = 1 + (mode >> 2);

  std::size_t events = 0;
  SseParser parser([&events](const SseEvent&) { ++events; });
  parser.feed(http->body);
  parser.finish();

  const bool anthropic = mode & 1, stream = mode & 2;
  ProviderConfig cfg{"fuzz", anthropic ? "anthropic" : "openai", "http://127.0.0.1:1/v1", "model", "2023-06-01",
                     "sk-fuzz", stream, std::chrono::seconds(5)};
  auto provider = anthropic ? makeAnthropicProvider(cfg, http) : makeOpenAIProvider(cfg, http);
  ChatRequest req;
  req.messages.push_back({ChatMessage::Role::System, "You diagnose.", {}, {}, {}});
  req.messages.push_back({ChatMessage::Role::User, "Why?", {}, {}, {}});
  req.tools.push_back({"get_workload", "Reads a workload.", R"({"type":"object"})"});
  req.stream = stream;
  auto result = provider->chat(redactChatRequest(std::move(req)), CallLimits{});
  (void)result;
  return 0;
}
