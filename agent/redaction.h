// Redaction and guards applied to everything a tool read before it is stored
// in status or shown to a model.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace opscopilot::agent {

struct Redacted {
  std::string text;
  int redactions = 0;
};

// Replaces secrets with "[REDACTED]": bearer tokens and JWTs, private key
// blocks, passwords in URLs and connection strings, values of keys named like
// password/secret/token/api_key/credentials, and well-known token formats
// (AWS access keys, GitHub, Slack, OpenAI/Anthropic keys).
Redacted redactSecrets(std::string_view text);

// True when text looks like it tries to instruct a model ("ignore previous
// instructions", "you are now", "system prompt", ...). Such text is kept as
// data and flagged; it never changes what the run may do.
bool looksLikeInjection(std::string_view text);

struct Truncated {
  std::string text;
  bool truncated = false;
};

// Caps text at maxBytes (on a UTF-8 boundary) with a visible marker saying
// how much was cut. keepTail keeps the end (for logs) instead of the start.
Truncated truncateText(std::string_view text, std::size_t maxBytes, bool keepTail);

}  // namespace opscopilot::agent
