// Server-sent events (the text/event-stream format both providers stream
// in), parsed incrementally as chunks arrive. Internal to agent/llm.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace opscopilot::agent::llm {

struct SseEvent {
  std::string name;  // the "event:" field; "" when the server sent none
  std::string data;  // the "data:" lines joined with '\n'
  bool terminated = true;  // false: flushed by finish() without its blank line (maybe cut)
};

class SseParser {
 public:
  explicit SseParser(std::function<void(const SseEvent&)> onEvent);

  // Consumes a chunk (any split: mid-line, mid-CRLF, several events) and
  // passes on each event completed by a blank line.
  void feed(std::string_view chunk);

  // End of stream: passes on an event the server did not terminate with a
  // blank line (lenient; servers differ), then resets.
  void finish();

 private:
  void line(std::string_view text);
  void dispatch();

  std::function<void(const SseEvent&)> onEvent_;
  std::string pending_;  // an incomplete line
  SseEvent event_;
  bool hasData_ = false;
};

}  // namespace opscopilot::agent::llm
