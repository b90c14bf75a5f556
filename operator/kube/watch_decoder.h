// WatchDecoder: turns the bytes of a Kubernetes watch response (one JSON
// event per line, arriving in arbitrary pieces) into WatchEvents.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "operator/kube/object.h"
#include "operator/kube/result.h"

namespace opscopilot::kube {

enum class WatchEventType { Added, Modified, Deleted, Bookmark, Error };

struct WatchEvent {
  WatchEventType type = WatchEventType::Added;
  ObjectPtr object;  // the object; for Bookmark only metadata.resourceVersion is meaningful
  Error error;       // for Error events: the Status the server sent (410 Expired, ...)
};

class WatchDecoder {
 public:
  explicit WatchDecoder(std::size_t maxEventBytes = 32u << 20) : maxEventBytes_(maxEventBytes) {}

  // Appends data and appends every complete event to out. Returns an Error
  // (reason InvalidWatchEvent) for a line that is not a watch event, or when
  // one event exceeds maxEventBytes; the stream should then be dropped.
  // Events decoded before the bad line are still appended.
  Result<void> feed(std::string_view data, std::vector<WatchEvent>& out);

  // Bytes of an incomplete event held back.
  std::size_t pending() const { return buffer_.size(); }

 private:
  Result<void> decodeLine(std::string_view line, std::vector<WatchEvent>& out);
  std::string buffer_;
  std::size_t maxEventBytes_;
};

}  // namespace opscopilot::kube
