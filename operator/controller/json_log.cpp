#include "operator/controller/json_log.h"

#include <chrono>
#include <cstdio>
#include <mutex>

#include <rapidjson/document.h>

#include "agent/graph.h"
#include "agent/redacted.h"

namespace opscopilot::controller {

namespace {

rapidjson::Value jsonString(std::string_view s, rapidjson::Document::AllocatorType& a) {
  return rapidjson::Value(s.data(), static_cast<rapidjson::SizeType>(s.size()), a);
}

void write(std::string_view level, std::string_view msg, std::initializer_list<LogField> fields) {
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::string ts = agent::formatTime(now);
  ts.insert(ts.size() - 1, "." + std::string(ms < 10 ? "00" : ms < 100 ? "0" : "") + std::to_string(ms));
  rapidjson::Document line(rapidjson::kObjectType);
  auto& a = line.GetAllocator();
  line.AddMember("ts", jsonString(ts, a), a);
  line.AddMember("level", jsonString(level, a), a);
  line.AddMember("msg", jsonString(msg, a), a);
  for (const auto& [k, v] : fields) line.AddMember(jsonString(k, a), jsonString(v, a), a);
  // The sink: every message and value passes the redactor, whoever logged it.
  writeLogLine(agent::redactJson(line));
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
