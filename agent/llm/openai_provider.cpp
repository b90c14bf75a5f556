// OpenAI Chat Completions with function calling: OpenAI itself, Azure
// OpenAI, and the compatible local servers (vLLM, Ollama, llama.cpp, LiteLLM).
#include <map>

#include "agent/llm/json_util.h"
#include "agent/llm/llm.h"
#include "agent/llm/provider_http.h"

namespace opscopilot::agent::llm {

namespace {

constexpr const char* kDefaultAzureApiVersion = "2024-10-21";

std::string_view roleName(ChatMessage::Role role) {
  switch (role) {
    case ChatMessage::Role::System: return "system";
    case ChatMessage::Role::User: return "user";
    case ChatMessage::Role::Assistant: return "assistant";
    case ChatMessage::Role::Tool: return "tool";
  }
  return "user";
}

void writeMessage(json::Writer& w, const ChatMessage& m) {
  w.StartObject();
  json::key(w, "role");
  json::string(w, roleName(m.role));
  if (m.role == ChatMessage::Role::Tool) {
    json::key(w, "tool_call_id");
    json::string(w, m.toolCallId);
  }
  json::key(w, "content");
  if (m.role == ChatMessage::Role::Assistant && m.content.empty() && !m.toolCalls.empty()) {
    w.Null();
  } else {
    json::string(w, m.content);
  }
  if (m.role == ChatMessage::Role::Assistant && !m.toolCalls.empty()) {
    json::key(w, "tool_calls");
    w.StartArray();
    for (const auto& call : m.toolCalls) {
      w.StartObject();
      json::key(w, "id");
      json::string(w, call.id);
      json::key(w, "type");
      json::string(w, "function");
      json::key(w, "function");
      w.StartObject();
      json::key(w, "name");
      json::string(w, call.name);
      json::key(w, "arguments");
      json::string(w, call.argsJson.empty() ? "{}" : call.argsJson);
      w.EndObject();
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
}

// Arguments are a JSON string on the wire; a few local servers send the
// object itself.
std::string argumentsText(const rapidjson::Value* args) {
  if (!args) return {};
  if (args->IsString()) return {args->GetString(), args->GetStringLength()};
  if (args->IsObject()) return json::text(*args);
  return {};
}

void readUsage(const rapidjson::Value& root, TokenUsage& usage) {
  if (const auto* u = json::object(root, "usage")) {
    usage.promptTokens = json::count(*u, "prompt_tokens");
    usage.completionTokens = json::count(*u, "completion_tokens");
  }
}

// Builds one response from the chunks of a stream: content deltas appended,
// tool calls assembled by index (id and name first, arguments in pieces),
// usage from the final chunk.
class OpenAIStream {
 public:
  explicit OpenAIStream(const ErrorContext& ctx) : ctx_(ctx) {}

  void onEvent(const SseEvent& event) {
    if (done_ || error_) return;
    ++events_;
    if (event.data == "[DONE]") {
      done_ = true;
      return;
    }
    rapidjson::Document doc;
    doc.Parse(event.data.data(), event.data.size());
    if (doc.HasParseError() || !doc.IsObject()) {
      if (!event.terminated) return;  // the stream was cut mid-event
      error_ = malformedResponse(ctx_, "stream chunk is not a JSON object");
      return;
    }
    if (const auto* err = json::object(doc, "error")) {
      error_ = streamedError(*err, ctx_);
      return;
    }
    if (auto model = json::str(doc, "model"); !model.empty()) response_.model.assign(model);
    readUsage(doc, response_.usage);
    const auto* choices = json::array(doc, "choices");
    if (!choices) return;
    for (const auto& choice : choices->GetArray()) {
      if (json::count(choice, "index") != 0) continue;  // we ask for one choice
      if (auto reason = json::str(choice, "finish_reason"); !reason.empty()) response_.finishReason.assign(reason);
      const auto* delta = json::object(choice, "delta");
      if (!delta) continue;
      response_.content.append(json::str(*delta, "content"));
      const auto* calls = json::array(*delta, "tool_calls");
      if (!calls) continue;
      for (rapidjson::SizeType i = 0; i < calls->Size(); ++i) {
        const auto& piece = (*calls)[i];
        const std::int64_t index = json::member(piece, "index") ? json::count(piece, "index") : i;
        auto& call = toolCalls_[index];
        if (auto id = json::str(piece, "id"); !id.empty()) call.id.assign(id);
        if (const auto* fn = json::object(piece, "function")) {
          if (auto name = json::str(*fn, "name"); !name.empty()) call.name.assign(name);
          call.argsJson += argumentsText(json::member(*fn, "arguments"));
        }
      }
    }
  }

  // The response, or why there is none: an error the stream carried, a
  // malformed chunk, or a stream cut before [DONE].
  LlmResult<ChatResponse> result() {
    if (error_) return LlmResult<ChatResponse>::failure(*error_);
    if (!done_) {
      LlmError e;
      e.kind = LlmError::Kind::Transient;
      e.message = std::string(ctx_.provider) + ": stream ended before [DONE]";
      return LlmResult<ChatResponse>::failure(std::move(e));
    }
    for (auto& [index, call] : toolCalls_) {
      if (call.id.empty()) call.id = "call_" + std::to_string(index);
      response_.toolCalls.push_back(std::move(call));
    }
    return LlmResult<ChatResponse>::success(std::move(response_));
  }

  int events() const { return events_; }

 private:
  const ErrorContext& ctx_;
  ChatResponse response_;
  std::map<std::int64_t, ToolCallRequest> toolCalls_;
  std::optional<LlmError> error_;
  bool done_ = false;
  int events_ = 0;
};

class OpenAIProvider final : public Provider {
 public:
  OpenAIProvider(ProviderConfig config, std::shared_ptr<HttpClient> http)
      : config_(std::move(config)), http_(std::move(http)) {}

  LlmResult<ChatResponse> chat(const RedactedChatRequest& redacted, const CallLimits& limits) override {
    const ChatRequest& request = redacted.get();
    const ErrorContext ctx{providerName(), config_.apiKey, &request};
    try {
      return chatOnce(request, limits, ctx);
    } catch (const std::exception&) {
      LlmError e;
      e.kind = LlmError::Kind::Invalid;
      e.message = std::string(ctx.provider) + ": internal error while handling the response";
      return LlmResult<ChatResponse>::failure(std::move(e));
    }
  }

 private:
  bool azure() const { return config_.provider == "azure-openai"; }
  std::string_view providerName() const { return azure() ? "azure-openai" : "openai"; }

  // OpenAI's own API wants max_completion_tokens (reasoning models reject
  // max_tokens); compatible servers and Azure's older api-versions know only
  // max_tokens.
  std::string_view maxTokensField() const {
    return config_.baseURL.find("api.openai.com") != std::string::npos ? "max_completion_tokens" : "max_tokens";
  }

  LlmResult<ChatResponse> chatOnce(const ChatRequest& request, const CallLimits& limits, const ErrorContext& ctx) {
    const bool stream = config_.stream && request.stream;
    std::string body;
    if (auto error = requestBody(request, stream, body)) return LlmResult<ChatResponse>::failure(std::move(*error));
    HttpCall call;
    call.method = "POST";
    call.body = std::move(body);
    call.timeout = config_.timeout;
    call.headers.emplace_back("content-type", "application/json");
    if (azure()) {
      const std::string version = config_.apiVersion.empty() ? kDefaultAzureApiVersion : config_.apiVersion;
      call.url = joinURL(config_.baseURL, "openai/deployments/" + config_.model + "/chat/completions?api-version=" + version);
      if (!config_.apiKey.empty()) call.headers.emplace_back("api-key", config_.apiKey);
    } else {
      call.url = joinURL(config_.baseURL, "chat/completions");
      if (!config_.apiKey.empty()) call.headers.emplace_back("authorization", "Bearer " + config_.apiKey);
    }
    if (stream) call.headers.emplace_back("accept", "text/event-stream");

    OpenAIStream acc(ctx);
    return sendChat(*http_, std::move(call), limits, stream, acc, [&](const std::string& body) { return parseResponse(body, ctx); }, ctx);
  }

  std::optional<LlmError> requestBody(const ChatRequest& request, bool stream, std::string& out) const {
    rapidjson::StringBuffer sb;
    json::Writer w(sb);
    w.StartObject();
    json::key(w, "model");
    json::string(w, config_.model);
    json::key(w, "messages");
    w.StartArray();
    for (const auto& m : request.messages) writeMessage(w, m);
    w.EndArray();
    if (!request.tools.empty()) {
      json::key(w, "tools");
      w.StartArray();
      for (const auto& tool : request.tools) {
        w.StartObject();
        json::key(w, "type");
        json::string(w, "function");
        json::key(w, "function");
        w.StartObject();
        json::key(w, "name");
        json::string(w, tool.name);
        json::key(w, "description");
        json::string(w, tool.description);
        json::key(w, "parameters");
        if (!json::raw(w, tool.parametersSchema.empty() ? R"({"type":"object","properties":{}})" : tool.parametersSchema)) {
          LlmError e;
          e.kind = LlmError::Kind::Invalid;
          e.message = std::string(providerName()) + ": tool " + tool.name + " has a parameters schema that is not JSON";
          return e;
        }
        w.EndObject();
        w.EndObject();
      }
      w.EndArray();
      json::key(w, "tool_choice");
      json::string(w, request.requireToolCall ? "required" : "auto");
    }
    json::key(w, maxTokensField());
    w.Int(request.maxOutputTokens);
    if (config_.temperature) {
      json::key(w, "temperature");
      w.Double(*config_.temperature);
    }
    if (stream) {
      json::key(w, "stream");
      w.Bool(true);
      json::key(w, "stream_options");
      w.StartObject();
      json::key(w, "include_usage");
      w.Bool(true);
      w.EndObject();
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
    const auto* choices = json::array(doc, "choices");
    if (!choices || choices->Empty() || !(*choices)[0].IsObject()) {
      return LlmResult<ChatResponse>::failure(malformedResponse(ctx, "no choices"));
    }
    const auto& choice = (*choices)[0];
    const auto* message = json::object(choice, "message");
    if (!message) return LlmResult<ChatResponse>::failure(malformedResponse(ctx, "no message in choices[0]"));
    ChatResponse response;
    response.content.assign(json::str(*message, "content"));
    response.finishReason.assign(json::str(choice, "finish_reason"));
    response.model.assign(json::str(doc, "model"));
    readUsage(doc, response.usage);
    if (const auto* calls = json::array(*message, "tool_calls")) {
      for (rapidjson::SizeType i = 0; i < calls->Size(); ++i) {
        const auto& item = (*calls)[i];
        const auto* fn = json::object(item, "function");
        if (!fn) return LlmResult<ChatResponse>::failure(malformedResponse(ctx, "tool call without a function"));
        ToolCallRequest call;
        call.id.assign(json::str(item, "id"));
        if (call.id.empty()) call.id = "call_" + std::to_string(i);
        call.name.assign(json::str(*fn, "name"));
        call.argsJson = argumentsText(json::member(*fn, "arguments"));
        response.toolCalls.push_back(std::move(call));
      }
    }
    return LlmResult<ChatResponse>::success(std::move(response));
  }

  ProviderConfig config_;
  std::shared_ptr<HttpClient> http_;
};

}  // namespace

std::unique_ptr<Provider> makeOpenAIProvider(ProviderConfig config, std::shared_ptr<HttpClient> http) {
  return std::make_unique<OpenAIProvider>(std::move(config), std::move(http));
}

}  // namespace opscopilot::agent::llm
