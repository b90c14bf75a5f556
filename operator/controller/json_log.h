// JSON log lines on stderr: {"ts":..., "level":..., "msg":..., fields...}.
// Never log secrets or prompts: callers pass names, reasons and counts.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "agent/redacted.h"

namespace opscopilot::controller {

using LogField = std::pair<std::string_view, std::string_view>;

// Each line passes the redactor as a whole (every string value, and the
// value of a field whose name says it is a secret), whoever logged it.
void logInfo(std::string_view msg, std::initializer_list<LogField> fields = {});
void logError(std::string_view msg, std::initializer_list<LogField> fields = {});

// Writes one line (a JSON object; the newline is added) to stderr: the only
// writer of the log, and it takes only redacted text.
void writeLogLine(const agent::RedactedText& line);

}  // namespace opscopilot::controller
