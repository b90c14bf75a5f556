// Server-sent events (the text/event-stream format both providers stream
// in), parsed incrementally as chunks arrive. Internal to agent/llm.
#pragma once

#include <cstddef>
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
  // maxEventBytes bounds what the parser holds: one line, or the data of one
  // event. Past it the parser stops (see feed).
  explicit SseParser(std::function<void(const SseEvent&)> onEvent, std::size_t maxEventBytes = 1u << 20);

  // Consumes a chunk (any split: mid-line, mid-CRLF, several events) and
  // passes on each event completed by a blank line. Returns false once a
  // line or an event passed maxEventBytes: the parser then drops what it
  // held, ignores the rest of the stream and passes on nothing more.
  bool feed(std::string_view chunk);

  // End of stream: passes on an event the server did not terminate with a
  // blank line (lenient; servers differ), then resets.
  void finish();

  bool overflowed() const { return overflowed_; }

 private:
  void line(std::string_view text);
  void dispatch();

  void overflow();

  std::function<void(const SseEvent&)> onEvent_;
  std::size_t maxEventBytes_;
  bool overflowed_ = false;
  std::string pending_;  // an incomplete line
  SseEvent event_;
  bool hasData_ = false;
};

}  // namespace opscopilot::agent::llm
