#include "agent/llm/sse.h"

#include <utility>

namespace opscopilot::agent::llm {

SseParser::SseParser(std::function<void(const SseEvent&)> onEvent, std::size_t maxEventBytes)
    : onEvent_(std::move(onEvent)), maxEventBytes_(maxEventBytes) {}

void SseParser::overflow() {
  overflowed_ = true;
  pending_ = {};
  event_ = {};
  hasData_ = false;
}

bool SseParser::feed(std::string_view chunk) {
  if (overflowed_) return false;
  // Only the unfinished line is held; check it before taking the chunk so a
  // huge chunk without a newline is never copied whole.
  const auto firstNl = chunk.find('\n');
  const std::size_t unfinished = pending_.size() + (firstNl == std::string_view::npos ? chunk.size() : firstNl);
  if (unfinished > maxEventBytes_ + 1) {  // +1: a trailing '\r'
    overflow();
    return false;
  }
  pending_.append(chunk);
  std::size_t start = 0;
  for (std::size_t nl; (nl = pending_.find('\n', start)) != std::string::npos; start = nl + 1) {
    std::string_view text(pending_.data() + start, nl - start);
    if (!text.empty() && text.back() == '\r') text.remove_suffix(1);
    if (text.size() > maxEventBytes_) {
      overflow();
      return false;
    }
    line(text);
    if (overflowed_) return false;
  }
  pending_.erase(0, start);
  if (pending_.size() > maxEventBytes_ + 1) {
    overflow();
    return false;
  }
  return true;
}

void SseParser::finish() {
  if (overflowed_) return;
  if (!pending_.empty()) {
    std::string last = std::move(pending_);
    pending_.clear();
    if (!last.empty() && last.back() == '\r') last.pop_back();
    line(last);
  }
  event_.terminated = false;
  dispatch();
}

void SseParser::line(std::string_view text) {
  if (text.empty()) {
    dispatch();
    return;
  }
  if (text.front() == ':') return;  // comment / keep-alive
  const auto colon = text.find(':');
  std::string_view field = text.substr(0, colon);
  std::string_view value = colon == std::string_view::npos ? std::string_view{} : text.substr(colon + 1);
  if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  if (field == "data") {
    if (event_.data.size() + (hasData_ ? 1 : 0) + value.size() > maxEventBytes_) {
      overflow();
      return;
    }
    if (hasData_) event_.data += '\n';
    event_.data.append(value);
    hasData_ = true;
  } else if (field == "event") {
    event_.name.assign(value);
  }
}

void SseParser::dispatch() {
  if (hasData_ && onEvent_) onEvent_(event_);
  event_ = {};
  hasData_ = false;
}

}  // namespace opscopilot::agent::llm
