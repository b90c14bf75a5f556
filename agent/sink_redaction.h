// Guards at the sinks. Whatever leaves the process (a DiagnosticRun's status,
// an ApprovalRequest, an Event, a Lease, a log line, a prompt) passes the
// redactor on its way out, whoever produced the text: an analyzer quoting a
// termination message in a finding title is caught here even if nothing
// upstream redacted it. The type enforces it: the sinks accept only
// RedactedText (redacted.h; kube::Client's write bodies, EventRecorder,
// the log writer) or llm::RedactedChatRequest (Provider::chat), and only the
// redaction functions construct those. Redaction is idempotent, so text
// redacted earlier passes unchanged.
#pragma once

#include <rapidjson/document.h>

#include <string>
#include <string_view>

#include "agent/redacted.h"

namespace opscopilot::agent {

// Replaces every string value in v (object keys are kept) with its redacted
// form. Returns how many secrets were removed. Thread-safe.
int redactJsonStrings(rapidjson::Value& v, rapidjson::Document::AllocatorType& alloc);

// The redacted form of text (redactSecrets(text).text), as a plain string for
// text that is redacted early, before it reaches a sink.
std::string redactForSink(std::string_view text);

}  // namespace opscopilot::agent
