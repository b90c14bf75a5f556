#include "agent/llm/llm.h"
#include "agent/sink_redaction.h"

namespace opscopilot::agent::llm {

RedactedChatRequest redactChatRequest(ChatRequest request) {
  for (auto& m : request.messages) {
    m.content = redactForSink(m.content);
    for (auto& c : m.toolCalls) c.argsJson = redactForSink(c.argsJson);
  }
  return RedactedChatRequest(std::move(request));
}

}  // namespace opscopilot::agent::llm
