// What the providers share around one HTTP exchange: sending a call plain or
// as server-sent events, and turning every failure into an LlmError whose
// message holds neither the key nor the prompt. Internal to agent/llm.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "agent/llm/llm.h"
#include "agent/llm/sse.h"

namespace opscopilot::agent::llm {

// Who is calling, for error messages and for scrubbing them.
struct ErrorContext {
  std::string_view provider;  // "openai", "azure-openai", "anthropic"
  std::string_view apiKey;
  const ChatRequest* request = nullptr;
};

struct Exchange {
  std::optional<LlmError> error;  // transport failure or a status other than 2xx
  std::string body;               // the whole body, also when it was streamed
};

// What one model response may hold: more ends the call (Invalid) and closes
// its connection, so a runaway server cannot grow the operator's memory.
inline constexpr std::size_t kMaxResponseBytes = 8u << 20;
inline constexpr std::size_t kMaxSseEventBytes = 1u << 20;  // one line or one event

// Sends the call within limits: its timeout becomes at most the time left
// before limits.deadline, a plain reply must arrive by then and a stream is
// cut there; limits.stop ends it at once. With onEvent set the body is read
// as server-sent events, each passed on as it arrives (and the parser
// finished at the end). Never throws: an exception from the client is a
// Transient error.
Exchange exchange(HttpClient& http, HttpCall call, const CallLimits& limits,
                  const std::function<void(const SseEvent&)>& onEvent, const ErrorContext& ctx);

// The error for a non-2xx reply: 408, 429, 5xx -> Transient (with
// retryAfter), 401/403 -> Auth, other statuses -> Invalid.
LlmError statusError(int status, std::string_view body, const HttpReply& reply, const ErrorContext& ctx,
                     std::chrono::system_clock::time_point now);

// Invalid "malformed response" (what says which part, never its content).
LlmError malformedResponse(const ErrorContext& ctx, std::string_view what);

// An error a server reported inside a 200 stream ({"error": {"type": ...}}).
LlmError streamedError(const rapidjson::Value& error, const ErrorContext& ctx);

// Retry-After as delay-seconds or an IMF-fixdate HTTP-date
// ("Wed, 21 Oct 2015 07:28:00 GMT"); nullopt when it is neither. A date in
// the past is 0. Capped at a day.
std::optional<std::chrono::milliseconds> parseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

// Server-provided text made safe for an error message: the key and secret
// shapes removed, cut to a short line, and dropped entirely when it quotes
// the prompt.
std::string safeDetail(std::string_view serverText, const ErrorContext& ctx);

// True when a body that should have been an event stream is one JSON
// object instead (a server that ignored "stream": true, answering plainly).
bool looksLikeJsonObject(std::string_view body);

// base + "/" + path without doubling or losing the slash.
std::string joinURL(std::string_view base, std::string_view path);

// Sends a chat call and reads its answer: with stream set, the events go to
// acc (onEvent/events/result) and its result is returned, unless the server
// ignored streaming and sent one JSON body, which parse reads like a plain
// reply.
template <class Stream, class Parse>
LlmResult<ChatResponse> sendChat(HttpClient& http, HttpCall call, const CallLimits& limits, bool stream, Stream& acc,
                                 Parse&& parse, const ErrorContext& ctx) {
  std::function<void(const SseEvent&)> onEvent;
  if (stream) onEvent = [&acc](const SseEvent& e) { acc.onEvent(e); };
  Exchange ex = exchange(http, std::move(call), limits, onEvent, ctx);
  if (ex.error) return LlmResult<ChatResponse>::failure(std::move(*ex.error));
  if (stream && !(acc.events() == 0 && looksLikeJsonObject(ex.body))) return acc.result();
  return parse(ex.body);
}

}  // namespace opscopilot::agent::llm
