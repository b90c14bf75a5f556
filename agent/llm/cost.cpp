// Cost and token estimates for the gateway's budget checks.
#include <algorithm>

#include "agent/llm/llm.h"

namespace opscopilot::agent::llm {

namespace {

constexpr std::int64_t kPerMillion = 1'000'000;
constexpr std::int64_t kTokensPerMessage = 4;  // role and separators
constexpr std::int64_t kTokensPerTool = 8;     // the wrapping around name, description, schema

}  // namespace

std::int64_t costMicroUSD(const TokenUsage& usage, const Price& price) {
  const std::int64_t prompt = std::max<std::int64_t>(usage.promptTokens, 0);
  const std::int64_t completion = std::max<std::int64_t>(usage.completionTokens, 0);
  const std::int64_t in = std::max<std::int64_t>(price.inputMicroUSDPerMTok, 0);
  const std::int64_t out = std::max<std::int64_t>(price.outputMicroUSDPerMTok, 0);
  // ceil((prompt*in + completion*out) / 1e6) without forming the products:
  // split each count into millions and a remainder so nothing overflows.
  std::int64_t whole = (prompt / kPerMillion) * in + (completion / kPerMillion) * out;
  std::int64_t rest = (prompt % kPerMillion) * in + (completion % kPerMillion) * out;
  whole += rest / kPerMillion;
  rest %= kPerMillion;
  return whole + (rest > 0 ? 1 : 0);
}

std::int64_t estimateTokens(const ChatRequest& request) {
  std::int64_t chars = 0;
  std::int64_t overhead = 0;
  for (const auto& m : request.messages) {
    chars += static_cast<std::int64_t>(m.content.size() + m.toolCallId.size() + m.toolName.size());
    for (const auto& call : m.toolCalls) {
      chars += static_cast<std::int64_t>(call.id.size() + call.name.size() + call.argsJson.size());
    }
    overhead += kTokensPerMessage;
  }
  for (const auto& tool : request.tools) {
    chars += static_cast<std::int64_t>(tool.name.size() + tool.description.size() + tool.parametersSchema.size());
    overhead += kTokensPerTool;
  }
  return (chars + 3) / 4 + overhead;
}

}  // namespace opscopilot::agent::llm
