// The watch decoder on arbitrary bytes from the API server, fed in pieces of
// a size the first byte picks; every decoded object is read back.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "operator/kube/object.h"
#include "operator/kube/watch_decoder.h"

using namespace opscopilot::kube;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t piece = 1 + data[0] % 64;
  std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
  WatchDecoder decoder(4096);  // small, so the oversized-event path runs too
  std::vector<WatchEvent> events;
  while (!rest.empty()) {
    auto n = std::min(piece, rest.size());
    if (!decoder.feed(rest.substr(0, n), events).ok()) break;
    rest.remove_prefix(n);
  }
  for (const auto& e : events) {
    if (!e.object) continue;
    (void)e.object->key();
    (void)e.object->resourceVersion();
    (void)e.object->generation();
    (void)e.object->serialize();
  }
  return 0;
}
