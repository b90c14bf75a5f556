#include "operator/controller/json_log.h"

#include <chrono>
#include <cstdio>
#include <mutex>

#include "agent/graph.h"
#include "agent/redacted.h"

namespace opscopilot::controller {

namespace {

void appendEscaped(std::string& out, std::string_view s) {
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
}

void write(std::string_view level, std::string_view msg, std::initializer_list<LogField> fields) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::string line = "{\"ts\":\"" + agent::formatTime(now);
  line.insert(line.size() - 1, "." + std::string(ms < 10 ? "00" : ms < 100 ? "0" : "") + std::to_string(ms));
  line += "\",\"level\":\"";
  line += level;
  line += "\",\"msg\":\"";
  appendEscaped(line, msg);
  line += "\"";
  for (const auto& [k, v] : fields) {
    line += ",\"";
    appendEscaped(line, k);
    line += "\":\"";
    appendEscaped(line, v);
    line += "\"";
  }
  line += "}";
  // The sink: every message and value passes the redactor, whoever logged it.
  writeLogLine(agent::redactJsonBody(line));
}

}  // namespace

void writeLogLine(const agent::RedactedText& line) {
  const std::string out = line.str() + "\n";  // one write: lines from threads never interleave
  static std::mutex mu;
  std::lock_guard lock(mu);
  std::fwrite(out.data(), 1, out.size(), stderr);
}

void logInfo(std::string_view msg, std::initializer_list<LogField> fields) { write("info", msg, fields); }
void logError(std::string_view msg, std::initializer_list<LogField> fields) { write("error", msg, fields); }

}  // namespace opscopilot::controller
