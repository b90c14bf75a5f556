// Anthropic Messages API with tool use.
#include <map>

#include "agent/llm/json_util.h"
#include "agent/llm/llm.h"
#include "agent/llm/provider_http.h"

namespace opscopilot::agent::llm {

namespace {

constexpr const char* kDefaultVersion = "2023-06-01";

// Anthropic's stop reasons in the vocabulary ChatResponse uses.
std::string finishReason(std::string_view stopReason) {
  if (stopReason == "end_turn" || stopReason == "stop_sequence") return "stop";
  if (stopReason == "tool_use") return "tool_calls";
  if (stopReason == "max_tokens") return "length";
  return std::string(stopReason);
}

// Prompt tokens include what was written to or read from the prompt cache.
std::int64_t inputTokens(const rapidjson::Value& usage) {
  return json::count(usage, "input_tokens") + json::count(usage, "cache_creation_input_tokens") +
         json::count(usage, "cache_read_input_tokens");
}

bool isUserSide(ChatMessage::Role role) { return role == ChatMessage::Role::User || role == ChatMessage::Role::Tool; }

bool hasBlocks(const ChatMessage& m) {
  if (m.role == ChatMessage::Role::Tool) return true;
  return !m.content.empty() || (m.role == ChatMessage::Role::Assistant && !m.toolCalls.empty());
}

void textBlock(json::Writer& w, std::string_view text) {
  w.StartObject();
  json::key(w, "type");
  json::string(w, "text");
  json::key(w, "text");
  json::string(w, text);
  w.EndObject();
}

// The API wants turns that alternate, and a user turn's tool_result blocks
// before its text, so consecutive same-side messages become one turn.
void writeTurn(json::Writer& w, const std::vector<const ChatMessage*>& turn) {
  const bool user = isUserSide(turn.front()->role);
  w.StartObject();
  json::key(w, "role");
  json::string(w, user ? "user" : "assistant");
  json::key(w, "content");
  w.StartArray();
  if (user) {
    for (const auto* m : turn) {
      if (m->role != ChatMessage::Role::Tool) continue;
      w.StartObject();
      json::key(w, "type");
      json::string(w, "tool_result");
      json::key(w, "tool_use_id");
      json::string(w, m->toolCallId);
      json::key(w, "content");
      json::string(w, m->content);
      w.EndObject();
    }
    for (const auto* m : turn) {
      if (m->role == ChatMessage::Role::User && !m->content.empty()) textBlock(w, m->content);
    }
  } else {
    for (const auto* m : turn) {
      if (!m->content.empty()) textBlock(w, m->content);
      for (const auto& call : m->toolCalls) {
        w.StartObject();
        json::key(w, "type");
        json::string(w, "tool_use");
        json::key(w, "id");
        json::string(w, call.id);
        json::key(w, "name");
        json::string(w, call.name);
        json::key(w, "input");
        // input must be an object; arguments the model got wrong are sent
        // back as {} (the tool result already said what was wrong).
        rapidjson::Document args;
        args.Parse(call.argsJson.data(), call.argsJson.size());
        if (!args.HasParseError() && args.IsObject()) {
          args.Accept(w);
        } else {
          w.StartObject();
          w.EndObject();
        }
        w.EndObject();
      }
    }
  }
  w.EndArray();
  w.EndObject();
}

// Builds one response from the events of a stream.
class AnthropicStream {
 public:
  explicit AnthropicStream(const ErrorContext& ctx) : ctx_(ctx) {}

  void onEvent(const SseEvent& event) {
    if (done_ || error_) return;
    ++events_;
    rapidjson::Document doc;
    doc.Parse(event.data.data(), event.data.size());
    if (doc.HasParseError() || !doc.IsObject()) {
      if (!event.terminated) return;  // the stream was cut mid-event
      error_ = malformedResponse(ctx_, "stream event is not a JSON object");
      return;
    }
    std::string_view type = json::str(doc, "type");
    if (type.empty()) type = event.name;
    if (type == "message_start") {
      if (const auto* message = json::object(doc, "message")) {
        response_.model.assign(json::str(*message, "model"));
        if (const auto* usage = json::object(*message, "usage")) {
          response_.usage.promptTokens = inputTokens(*usage);
          response_.usage.completionTokens = json::count(*usage, "output_tokens");
        }
      }
    } else if (type == "content_block_start") {
      const auto* block = json::object(doc, "content_block");
      if (!block) return;
      auto& b = blocks_[json::count(doc, "index")];
      b.type.assign(json::str(*block, "type"));
      b.id.assign(json::str(*block, "id"));
      b.name.assign(json::str(*block, "name"));
      b.text.assign(json::str(*block, "text"));
    } else if (type == "content_block_delta") {
      const auto* delta = json::object(doc, "delta");
      if (!delta) return;
      auto& b = blocks_[json::count(doc, "index")];
      const std::string_view kind = json::str(*delta, "type");
      if (kind == "text_delta") b.text.append(json::str(*delta, "text"));
      if (kind == "input_json_delta") b.input.append(json::str(*delta, "partial_json"));
    } else if (type == "message_delta") {
      if (const auto* delta = json::object(doc, "delta")) {
        if (auto reason = json::str(*delta, "stop_reason"); !reason.empty()) response_.finishReason = finishReason(reason);
      }
      if (const auto* usage = json::object(doc, "usage")) {
        if (json::member(*usage, "output_tokens")) response_.usage.completionTokens = json::count(*usage, "output_tokens");
        if (json::member(*usage, "input_tokens")) response_.usage.promptTokens = inputTokens(*usage);
      }
    } else if (type == "message_stop") {
      done_ = true;
    } else if (type == "error") {
      const auto* err = json::object(doc, "error");
      error_ = err ? streamedError(*err, ctx_) : malformedResponse(ctx_, "error event without an error");
    }
  }

  LlmResult<ChatResponse> result() {
    if (error_) return LlmResult<ChatResponse>::failure(*error_);
    if (!done_) {
      LlmError e;
      e.kind = LlmError::Kind::Transient;
      e.message = std::string(ctx_.provider) + ": stream ended before message_stop";
      return LlmResult<ChatResponse>::failure(std::move(e));
    }
    for (auto& [index, b] : blocks_) {
      if (b.type == "text") response_.content += b.text;
      if (b.type == "tool_use") response_.toolCalls.push_back({b.id, b.name, b.input.empty() ? "{}" : b.input});
    }
    return LlmResult<ChatResponse>::success(std::move(response_));
  }

  int events() const { return events_; }

 private:
  struct Block {
    std::string type, id, name, text, input;
  };
  const ErrorContext& ctx_;
  ChatResponse response_;
  std::map<std::int64_t, Block> blocks_;
  std::optional<LlmError> error_;
  bool done_ = false;
  int events_ = 0;
};

class AnthropicProvider final : public Provider {
 public:
  AnthropicProvider(ProviderConfig config, std::shared_ptr<HttpClient> http)
      : config_(std::move(config)), http_(std::move(http)) {}

  LlmResult<ChatResponse> chat(const RedactedChatRequest& redacted, const CallLimits& limits) override {
    const ChatRequest& request = redacted.get();
    const ErrorContext ctx{"anthropic", config_.apiKey, &request};
    try {
      return chatOnce(request, limits, ctx);
    } catch (const std::exception&) {
      LlmError e;
      e.kind = LlmError::Kind::Invalid;
      e.message = "anthropic: internal error while handling the response";
      return LlmResult<ChatResponse>::failure(std::move(e));
    }
  }

 private:
  std::string url() const {
    std::string_view base = config_.baseURL;
    while (!base.empty() && base.back() == '/') base.remove_suffix(1);
    // Accept a base URL given with the version already on it.
    const bool hasVersion = base.size() >= 3 && base.substr(base.size() - 3) == "/v1";
    return joinURL(base, hasVersion ? "messages" : "v1/messages");
  }

  LlmResult<ChatResponse> chatOnce(const ChatRequest& request, const CallLimits& limits, const ErrorContext& ctx) {
    const bool stream = config_.stream && request.stream;
    std::string body;
    if (auto error = requestBody(request, stream, body)) return LlmResult<ChatResponse>::failure(std::move(*error));
    HttpCall call;
    call.method = "POST";
    call.url = url();
    call.body = std::move(body);
    call.timeout = config_.timeout;
    call.headers.emplace_back("content-type", "application/json");
    call.headers.emplace_back("anthropic-version", config_.apiVersion.empty() ? kDefaultVersion : config_.apiVersion);
    if (!config_.apiKey.empty()) call.headers.emplace_back("x-api-key", config_.apiKey);
    if (stream) call.headers.emplace_back("accept", "text/event-stream");

    AnthropicStream acc(ctx);
    return sendChat(*http_, std::move(call), limits, stream, acc, [&](const std::string& body) { return parseResponse(body, ctx); }, ctx);
  }

  std::optional<LlmError> requestBody(const ChatRequest& request, bool stream, std::string& out) const {
    rapidjson::StringBuffer sb;
    json::Writer w(sb);
    w.StartObject();
    json::key(w, "model");
    json::string(w, config_.model);
    json::key(w, "max_tokens");
    w.Int(request.maxOutputTokens);
    std::string system;
    for (const auto& m : request.messages) {
      if (m.role != ChatMessage::Role::System || m.content.empty()) continue;
      if (!system.empty()) system += "\n\n";
      system += m.content;
    }
    if (!system.empty()) {
      json::key(w, "system");
      json::string(w, system);
    }
    json::key(w, "messages");
    w.StartArray();
    std::vector<const ChatMessage*> turn;
    for (const auto& m : request.messages) {
      if (m.role == ChatMessage::Role::System || !hasBlocks(m)) continue;
      if (!turn.empty() && isUserSide(turn.front()->role) != isUserSide(m.role)) {
        writeTurn(w, turn);
        turn.clear();
      }
      turn.push_back(&m);
    }
    if (!turn.empty()) writeTurn(w, turn);
    w.EndArray();
    if (!request.tools.empty()) {
      json::key(w, "tools");
      w.StartArray();
      for (const auto& tool : request.tools) {
        w.StartObject();
        json::key(w, "name");
        json::string(w, tool.name);
        json::key(w, "description");
        json::string(w, tool.description);
        json::key(w, "input_schema");
        if (!json::raw(w, tool.parametersSchema.empty() ? R"({"type":"object","properties":{}})" : tool.parametersSchema)) {
          LlmError e;
          e.kind = LlmError::Kind::Invalid;
          e.message = "anthropic: tool " + tool.name + " has a parameters schema that is not JSON";
          return e;
        }
        w.EndObject();
      }
      w.EndArray();
      if (request.requireToolCall) {
        json::key(w, "tool_choice");
        w.StartObject();
        json::key(w, "type");
        json::string(w, "any");
        w.EndObject();
      }
    }
    if (config_.temperature) {
      json::key(w, "temperature");
      w.Double(*config_.temperature);
    }
    if (stream) {
      json::key(w, "stream");
      w.Bool(true);
    }
    w.EndObject();
    out.assign(sb.GetString(), sb.GetSize());
    return std::nullopt;
  }

  static LlmResult<ChatResponse> parseResponse(const std::string& body, const ErrorContext& ctx) {
    rapidjson::Document doc;
    doc.Parse(body.data(), body.size());
    if (doc.HasParseError() || !doc.IsObject()) {
      return LlmResult<ChatResponse>::failure(malformedResponse(ctx, "body is not a JSON object"));
    }
    const auto* content = json::array(doc, "content");
    if (!content) return LlmResult<ChatResponse>::failure(malformedResponse(ctx, "no content"));
    ChatResponse response;
    for (const auto& block : content->GetArray()) {
      const std::string_view type = json::str(block, "type");
      if (type == "text") {
        response.content.append(json::str(block, "text"));
      } else if (type == "tool_use") {
        const auto* input = json::member(block, "input");
        response.toolCalls.push_back({std::string(json::str(block, "id")), std::string(json::str(block, "name")),
                                      input ? json::text(*input) : "{}"});
      }
    }
    response.finishReason = finishReason(json::str(doc, "stop_reason"));
    response.model.assign(json::str(doc, "model"));
    if (const auto* usage = json::object(doc, "usage")) {
      response.usage.promptTokens = inputTokens(*usage);
      response.usage.completionTokens = json::count(*usage, "output_tokens");
    }
    return LlmResult<ChatResponse>::success(std::move(response));
  }

  ProviderConfig config_;
  std::shared_ptr<HttpClient> http_;
};

}  // namespace

std::unique_ptr<Provider> makeAnthropicProvider(ProviderConfig config, std::shared_ptr<HttpClient> http) {
  return std::make_unique<AnthropicProvider>(std::move(config), std::move(http));
}

}  // namespace opscopilot::agent::llm
