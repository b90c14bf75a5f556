// RedactedText: text that has passed the redactor (redaction.h). The sinks
// (kube::Client's write bodies, Events, log lines) accept only this type, and
// its only constructors are the redaction functions below, so text cannot
// reach a sink without passing the redactor: a new sink or caller that
// forgets it does not compile. Redaction is idempotent: redacting text that
// was redacted before leaves it unchanged.
#pragma once

#include <rapidjson/fwd.h>

#include <string>
#include <string_view>
#include <utility>

namespace opscopilot::agent {

class RedactedText;

// text with every secret replaced (redactSecrets(text).text).
RedactedText redactText(std::string_view text);
// A JSON text with every string value redacted (and values of secret-like
// keys replaced, see redactJsonStrings), serialized compactly. Text that does
// not parse as JSON is redacted as text.
RedactedText redactJsonBody(std::string_view json);
// doc with every string value redacted in place, then serialized compactly.
RedactedText redactJson(rapidjson::Document& doc);

class RedactedText {
 public:
  const std::string& str() const { return text_; }
  std::string_view view() const { return text_; }
  std::size_t size() const { return text_.size(); }
  bool empty() const { return text_.empty(); }

 private:
  explicit RedactedText(std::string text) : text_(std::move(text)) {}
  friend RedactedText redactText(std::string_view text);
  friend RedactedText redactJsonBody(std::string_view json);
  friend RedactedText redactJson(rapidjson::Document& doc);

  std::string text_;
};

}  // namespace opscopilot::agent
