// Redaction and guards applied to everything a tool read before it is stored
// in status or shown to a model.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace opscopilot::agent {

// Thread safety: every function here may be called concurrently (the
// patterns are compiled once, RE2 matching is const).

struct Redacted {
  std::string text;
  int redactions = 0;
};

// What replaces each secret. Only the secret goes: the key name, URL scheme,
// user and host, header name and auth scheme stay readable
// ("DB_PASSWORD=[REDACTED]", "postgres://app:[REDACTED]@db:5432/x",
// "Authorization: Bearer [REDACTED]").
inline constexpr std::string_view kRedactedMarker = "[REDACTED]";

// Replaces secrets with kRedactedMarker and counts them (one per marker):
// - private key blocks (PEM, also flattened onto one line or cut short);
// - passwords in URLs (redis://:pw@host, postgres://u:p@h/db) and DSNs
//   (u:p@tcp(host:3306)/db);
// - Authorization headers (Basic, Bearer, Token; header, JSON and log form),
//   bare "Bearer <token>" and "Basic <base64 of user:pass>";
// - values of secret-like keys in key=value, key: value, "key": "value",
//   key: "quoted value", {\"key\":\"value\"}, --key value, and container env
//   {"name": "DB_PASSWORD", "value": ...}: password, passwd, pass, pw, pwd,
//   secret, token, api_key, x-api-key, access_key, private_key,
//   client_secret, AccountKey and any *_PASSWORD, *_TOKEN, *_SECRET, *_KEY
//   (case-insensitive; not lookup keys like routing_key, not key alone, not
//   secretKeyRef/password_file; placeholders, paths and prose stay);
// - token formats: AWS key IDs, GitHub, GitLab, Slack (and webhook URLs),
//   Stripe, npm, Vault, Google API keys and OAuth tokens, Azure SAS sig= and
//   client secrets, OpenAI, Anthropic, JWTs, Hugging Face, SendGrid and more;
// - long high-entropy tokens standing right after a key-like word
//   ("secret key wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY").
// Linear time in the input (RE2); safe on megabytes of one line.
Redacted redactSecrets(std::string_view text);

// True when a key of this name holds a secret (the rule redactSecrets uses
// for key=value): password, DB_PASSWORD, dbPassword, client_secret,
// x-api-key, AccountKey, aws_secret_access_key. False for key, secretKeyRef,
// password_file, token_type, max_tokens, routing_key, PUBLIC_KEY. For
// callers that walk parsed JSON and see the key apart from its value.
bool looksLikeSecretKeyName(std::string_view name);

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
