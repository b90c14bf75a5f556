// A scripted HttpClient for tests: records every call and answers with the
// next scripted reply, streamed in the given chunks when the caller reads
// server-sent events. Header-only; not part of the operator build.
#pragma once

#include <cctype>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "agent/llm/llm.h"

namespace opscopilot::agent::llm::testing {

class FakeHttpClient : public HttpClient {
 public:
  struct Script {
    Outcome outcome;
    std::vector<std::string> chunks;  // streamed bodies: delivered through onChunk in these pieces
    bool throws = false;
  };

  static Script reply(int status, std::string body, std::vector<std::pair<std::string, std::string>> headers = {}) {
    Script s;
    s.outcome.reply = HttpReply{status, std::move(headers), std::move(body)};
    return s;
  }
  static Script stream(std::vector<std::string> chunks, int status = 200) {
    Script s;
    s.outcome.reply = HttpReply{status, {{"Content-Type", "text/event-stream"}}, ""};
    s.chunks = std::move(chunks);
    return s;
  }
  static Script connectionError(std::string error, bool timedOut = false) {
    Script s;
    s.outcome.error = std::move(error);
    s.outcome.timedOut = timedOut;
    return s;
  }
  static Script throwing() {
    Script s;
    s.throws = true;
    return s;
  }

  void push(Script script) {
    std::lock_guard lock(mu_);
    scripts_.push_back(std::move(script));
  }

  Outcome send(const HttpCall& call, const std::function<void(std::string_view)>& onChunk) override {
    Script script;
    {
      std::lock_guard lock(mu_);
      calls_.push_back(call);
      if (scripts_.empty()) return {std::nullopt, "fake: no scripted reply", false};
      script = std::move(scripts_.front());
      scripts_.pop_front();
    }
    if (script.throws) throw std::runtime_error("fake: client exploded");
    if (script.outcome.reply) {
      auto& body = script.outcome.reply->body;
      if (onChunk) {
        for (const auto& chunk : script.chunks) onChunk(chunk);
        if (!body.empty()) onChunk(body);
        body.clear();
      } else {
        for (const auto& chunk : script.chunks) body += chunk;
      }
    } else if (onChunk) {
      for (const auto& chunk : script.chunks) onChunk(chunk);  // a stream cut by a connection error
    }
    return script.outcome;
  }

  std::vector<HttpCall> calls() const {
    std::lock_guard lock(mu_);
    return calls_;
  }
  HttpCall lastCall() const {
    std::lock_guard lock(mu_);
    return calls_.empty() ? HttpCall{} : calls_.back();
  }

 private:
  mutable std::mutex mu_;
  std::deque<Script> scripts_;
  std::vector<HttpCall> calls_;
};

// The value of a header in a recorded call, "" when absent (names compared
// case-insensitively, as HTTP does).
inline std::string headerOf(const HttpCall& call, std::string_view name) {
  HttpReply r;
  r.headers = call.headers;
  return r.header(name);
}

inline bool hasHeader(const HttpCall& call, std::string_view name) {
  for (const auto& [key, value] : call.headers) {
    if (key.size() != name.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < key.size(); ++i) {
      same = same && std::tolower(static_cast<unsigned char>(key[i])) == std::tolower(static_cast<unsigned char>(name[i]));
    }
    if (same) return true;
  }
  return false;
}

}  // namespace opscopilot::agent::llm::testing
