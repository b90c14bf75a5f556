// The model side of OpsCopilot, with no Kubernetes and no sockets in it:
// chat types, the HTTP client interface providers speak through, the
// provider interface (OpenAI-compatible, Anthropic), and the gateway that
// owns retries, rate limits, the circuit breaker, cost and budgets.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace opscopilot::agent::llm {

// ---- chat types ---------------------------------------------------------------

struct ToolDef {
  std::string name;
  std::string description;
  std::string parametersSchema;  // JSON Schema object, as text
};

struct ToolCallRequest {
  std::string id;        // provider's call id ("call_abc", "toolu_01...")
  std::string name;      // tool name as the model wrote it (may be unknown!)
  std::string argsJson;  // arguments as the model wrote them (may be invalid JSON!)
};

struct ChatMessage {
  enum class Role { System, User, Assistant, Tool };
  Role role = Role::User;
  std::string content;
  std::vector<ToolCallRequest> toolCalls;  // Assistant turns that call tools
  std::string toolCallId;                  // Tool turns: which call this answers
  std::string toolName;                    // Tool turns: the tool's name
};

struct ChatRequest {
  std::vector<ChatMessage> messages;  // system first
  std::vector<ToolDef> tools;         // offered tools (empty: none)
  bool requireToolCall = false;       // tool_choice required / any
  int maxOutputTokens = 1024;
  bool stream = false;                // use SSE when the profile allows it (the graph always asks)
};

struct TokenUsage {
  std::int64_t promptTokens = 0;
  std::int64_t completionTokens = 0;
};

struct ChatResponse {
  std::string content;                     // assistant text (may be empty when calling tools)
  std::vector<ToolCallRequest> toolCalls;  // in order
  TokenUsage usage;                        // as the provider reported it
  std::string finishReason;                // stop, tool_calls, length, ...
  std::string model;
};

// An expected failure of a model call. Kind drives the gateway: Transient
// failures are retried, the rest are not.
struct LlmError {
  enum class Kind {
    Transient,     // 429, 5xx, connection error, timeout, cut stream
    Invalid,       // 4xx other than 429, malformed response
    Auth,          // 401/403: bad or missing key
    BudgetExceeded,
    CircuitOpen,
    RateLimited,   // the local limiter would wait past the deadline
    Cancelled,     // the gateway was shut down (the operator is stopping)
  };
  Kind kind = Kind::Transient;
  int httpCode = 0;
  std::string message;  // never contains the prompt or a key
  std::optional<std::chrono::milliseconds> retryAfter;
  // Set by the gateway when a call was made and paid for but refused
  // afterwards (BudgetExceeded on the reported usage): what it cost, so the
  // run still charges it.
  TokenUsage chargedUsage;
  std::int64_t chargedMicroUSD = 0;
};

template <class T>
struct LlmResult {
  std::optional<T> value;
  LlmError error;
  bool ok() const { return value.has_value(); }
  static LlmResult success(T v) { return {std::move(v), {}}; }
  static LlmResult failure(LlmError e) { return {std::nullopt, std::move(e)}; }
};

// ---- HTTP ------------------------------------------------------------------------

struct HttpCall {
  std::string method = "POST";
  std::string url;  // absolute: https://api.openai.com/v1/chat/completions
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  // Plain reply: the whole exchange. Stream: the wait for the headers and
  // the longest silence between two pieces of the body.
  std::chrono::milliseconds timeout{60000};
  // Nothing of the exchange runs past this, a stream included.
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::stop_token stop;  // ends the exchange at once (Outcome::cancelled)
};

struct HttpReply {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::string header(std::string_view name) const;  // case-insensitive; "" when absent
};

// The HTTP the providers need. The operator implements it on its Beast
// transport; tests implement it with a fake.
// Thread safety: send() is called concurrently by every worker using the
// provider that holds it.
class HttpClient {
 public:
  virtual ~HttpClient() = default;
  // Sends the call and returns the reply (any status), or an error string
  // (connection failure, timeout). onChunk, when set, receives the body as it
  // arrives (for server-sent events); the reply's body is then empty.
  struct Outcome {
    std::optional<HttpReply> reply;
    std::string error;
    bool timedOut = false;
    bool cancelled = false;  // the call's stop token fired
  };
  virtual Outcome send(const HttpCall& call, const std::function<void(std::string_view)>& onChunk = {}) = 0;
};

// ---- providers -----------------------------------------------------------------------

struct ProviderConfig {
  std::string name;      // profile name
  std::string provider;  // "openai", "azure-openai", "anthropic"
  std::string baseURL;   // https://api.openai.com/v1 ; http://127.0.0.1:11434/v1 ; https://RES.openai.azure.com
  std::string model;     // model id, or the Azure deployment name
  std::string apiVersion;  // Azure: api-version query parameter; Anthropic: anthropic-version header
  std::string apiKey;      // resolved at start from a Secret or an environment variable; never logged
  bool stream = false;
  std::chrono::milliseconds timeout{60000};
  // Sent only when set: some models (reasoning ones) accept only their default.
  std::optional<double> temperature;
};

// What bounds one provider call: the run's deadline (the HTTP timeout is at
// most the time left; a stream is cut there) and a stop signal (shutdown).
struct CallLimits {
  std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
  std::stop_token stop;
};

class RedactedChatRequest;
// request with every message's content and every tool call's arguments
// passed through the redactor (the same one as every other sink,
// sink_redaction.h). Idempotent.
RedactedChatRequest redactChatRequest(ChatRequest request);

// A ChatRequest that has passed the redactor: what a provider sends to a
// model. Only redactChatRequest constructs one, so nothing reaches a model
// unredacted.
class RedactedChatRequest {
 public:
  const ChatRequest& get() const { return request_; }

 private:
  explicit RedactedChatRequest(ChatRequest request) : request_(std::move(request)) {}
  friend RedactedChatRequest redactChatRequest(ChatRequest request);

  ChatRequest request_;
};

// Thread safety: one instance per model profile, behind its Gateway, which
// calls chat() concurrently from every worker; providers keep no per-call
// state in members.
class Provider {
 public:
  virtual ~Provider() = default;
  // One model call. Maps the provider's wire format both ways. Never throws.
  // Only a RedactedChatRequest reaches it (nothing unredacted reaches a model).
  // A deadline already passed fails Transient without sending anything.
  virtual LlmResult<ChatResponse> chat(const RedactedChatRequest& request, const CallLimits& limits) = 0;
};

std::unique_ptr<Provider> makeOpenAIProvider(ProviderConfig config, std::shared_ptr<HttpClient> http);
std::unique_ptr<Provider> makeAnthropicProvider(ProviderConfig config, std::shared_ptr<HttpClient> http);

// ---- gateway -----------------------------------------------------------------------

struct Price {
  std::int64_t inputMicroUSDPerMTok = 0;   // micro-dollars per million prompt tokens
  std::int64_t outputMicroUSDPerMTok = 0;  // micro-dollars per million completion tokens
};

// Exact cost in micro-dollars for the usage at this price, rounded up.
std::int64_t costMicroUSD(const TokenUsage& usage, const Price& price);

// What the gateway reports of each call it ends, for metrics and traces:
// kinds and numbers, never text.
struct CallRecord {
  std::optional<LlmError::Kind> error;  // nullopt: the model answered
  int attempts = 0;                     // provider calls made; retries are attempts - 1
  TokenUsage usage;                     // charged (also for a call refused after it was paid for)
  std::int64_t costMicroUSD = 0;
  std::chrono::steady_clock::duration elapsed{};
};

// The spelling of a kind in metric labels and traces: "Transient", "Invalid", ...
const char* kindName(LlmError::Kind kind);

enum class CircuitState {
  Closed,    // calls go through
  Open,      // calls fail fast until the cooldown ends
  HalfOpen,  // the cooldown ended: the next call (or the one in flight) is the trial
};

struct GatewayOptions {
  int maxAttempts = 4;
  std::chrono::milliseconds backoffInitial{500};
  std::chrono::milliseconds backoffMax{20000};
  int requestsPerMinute = 0;   // 0: unlimited
  int tokensPerMinute = 0;     // 0: unlimited
  int breakerFailures = 5;     // consecutive failed calls that open the circuit
  std::chrono::milliseconds breakerCooldown{30000};  // then one trial call (half-open)
  Price price;
  // Called once per call() as it returns, on the calling thread (may be empty).
  std::function<void(const CallRecord&)> onCallEnded;
};

// What a run may still spend; the gateway refuses calls that would exceed it.
struct Budget {
  std::int64_t tokensLeft = 0;        // <= 0 with a limit set: nothing left
  std::int64_t microUSDLeft = 0;
  bool unlimitedTokens = false;
  bool unlimitedCost = false;
};

struct GatewayCall {
  ChatResponse response;
  TokenUsage usage;
  std::int64_t costMicroUSD = 0;
  int attempts = 0;
};

// Estimates prompt tokens for a request (about 4 characters a token), for the
// budget check before a call.
std::int64_t estimateTokens(const ChatRequest& request);

// Waits d, or less when stop is requested; true when it was. The gateway's
// default Sleep.
bool interruptibleWait(std::chrono::milliseconds d, const std::stop_token& stop);

// Thread safety: one per model profile, shared by every worker; every member
// function may be called concurrently (the breaker and limiters lock).
class Gateway {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;
  // Waits for a retry or a rate-limit slot; must return early when stop fires.
  using Sleep = std::function<void(std::chrono::milliseconds, const std::stop_token& stop)>;
  Gateway(std::unique_ptr<Provider> provider, GatewayOptions options, Clock clock = {}, Sleep sleep = {});
  // A uniform number in [0, 1) for backoff jitter. The other constructor
  // uses a Mersenne Twister seeded from std::random_device.
  using Random = std::function<double()>;
  Gateway(std::unique_ptr<Provider> provider, GatewayOptions options, Clock clock, Sleep sleep, Random random);
  ~Gateway();

  // Checks the budget with an estimate, waits for the rate limiters, calls
  // the provider with retries (429/5xx/connection errors/timeouts, honouring
  // Retry-After, exponential backoff with jitter, bounded attempts), then
  // charges the reported usage. BudgetExceeded when the estimate or the
  // reported usage does not fit; CircuitOpen while the breaker is open.
  // Nothing waits past deadline: a Retry-After, backoff or rate-limit slot
  // beyond it ends the call at once with the reason, and each provider call
  // gets the deadline. Cancelled once shutdown() was called.
  LlmResult<GatewayCall> call(const ChatRequest& request, const Budget& budget,
                              std::chrono::steady_clock::time_point deadline);

  // Wakes every wait and ends every provider call in flight at once, and
  // refuses later calls; they return Cancelled. For the operator's shutdown.
  void shutdown();

  bool circuitOpen() const;
  CircuitState circuitState() const;

 private:
  LlmResult<GatewayCall> attempt(const ChatRequest& request, const Budget& budget,
                                 std::chrono::steady_clock::time_point deadline, int& attempts);
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace opscopilot::agent::llm
