// JSON log lines on stderr: {"ts":..., "level":..., "msg":..., fields...}.
// Never log secrets or prompts: callers pass names, reasons and counts.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace opscopilot::controller {

using LogField = std::pair<std::string_view, std::string_view>;

void logInfo(std::string_view msg, std::initializer_list<LogField> fields = {});
void logError(std::string_view msg, std::initializer_list<LogField> fields = {});

}  // namespace opscopilot::controller
