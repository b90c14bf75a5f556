#include "operator/kube/watch_decoder.h"

#include <rapidjson/document.h>

namespace opscopilot::kube {

namespace {
Error invalidEvent(std::string message) { return Error{0, "InvalidWatchEvent", std::move(message)}; }
}  // namespace

Result<void> WatchDecoder::feed(std::string_view data, std::vector<WatchEvent>& out) {
  buffer_.append(data);
  std::size_t start = 0;
  while (true) {
    auto nl = buffer_.find('\n', start);
    if (nl == std::string::npos) break;
    std::string_view line(buffer_.data() + start, nl - start);
    start = nl + 1;
    auto r = decodeLine(line, out);
    if (!r.ok()) {
      buffer_.clear();
      return r;
    }
  }
  buffer_.erase(0, start);
  if (buffer_.size() > maxEventBytes_) {
    buffer_.clear();
    return invalidEvent("watch event larger than " + std::to_string(maxEventBytes_) + " bytes");
  }
  return {};
}

Result<void> WatchDecoder::decodeLine(std::string_view line, std::vector<WatchEvent>& out) {
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.remove_suffix(1);
  if (line.empty()) return {};
  rapidjson::Document doc;
  doc.Parse(line.data(), line.size());
  if (doc.HasParseError() || !doc.IsObject()) {
    return invalidEvent("watch event is not a JSON object: " + std::string(line.substr(0, 120)));
  }
  auto type = stringMember(doc, "type");
  const auto* object = member(doc, "object");
  if (type.empty() || !object || !object->IsObject()) {
    return invalidEvent("watch event has no type or object: " + std::string(line.substr(0, 120)));
  }
  WatchEvent ev;
  if (type == "ADDED") {
    ev.type = WatchEventType::Added;
  } else if (type == "MODIFIED") {
    ev.type = WatchEventType::Modified;
  } else if (type == "DELETED") {
    ev.type = WatchEventType::Deleted;
  } else if (type == "BOOKMARK") {
    ev.type = WatchEventType::Bookmark;
  } else if (type == "ERROR") {
    ev.type = WatchEventType::Error;
    ev.error.reason = std::string(stringMember(*object, "reason"));
    ev.error.message = std::string(stringMember(*object, "message"));
    if (const auto* code = member(*object, "code"); code && code->IsInt()) ev.error.httpCode = code->GetInt();
    if (ev.error.reason.empty()) ev.error.reason = "Unknown";
    out.push_back(std::move(ev));
    return {};
  } else {
    return invalidEvent("unknown watch event type \"" + std::string(type) + "\"");
  }
  ev.object = Object::copyOf(*object);
  out.push_back(std::move(ev));
  return {};
}

}  // namespace opscopilot::kube
