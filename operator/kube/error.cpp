#include "operator/kube/error.h"

#include <rapidjson/document.h>

#include <string>

namespace opscopilot::kube {

std::string Error::toString() const {
  std::string s = reason.empty() ? "Error" : reason;
  if (httpCode != 0) s += " (" + std::to_string(httpCode) + ")";
  if (!message.empty()) s += ": " + message;
  return s;
}

std::string_view reasonForHttpCode(int code) {
  switch (code) {
    case 400: return "BadRequest";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "NotFound";
    case 405: return "MethodNotAllowed";
    case 406: return "NotAcceptable";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 413: return "RequestEntityTooLarge";
    case 415: return "UnsupportedMediaType";
    case 422: return "Invalid";
    case 429: return "TooManyRequests";
    case 500: return "InternalError";
    case 503: return "ServiceUnavailable";
    case 504: return "Timeout";
    default: return code >= 500 ? "InternalError" : "Unknown";
  }
}

Error errorFromResponse(int httpCode, std::string_view body) {
  Error e;
  e.httpCode = httpCode;
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (!doc.HasParseError() && doc.IsObject()) {
    auto kind = doc.FindMember("kind");
    if (kind != doc.MemberEnd() && kind->value.IsString() &&
        std::string_view(kind->value.GetString()) == "Status") {
      if (auto r = doc.FindMember("reason"); r != doc.MemberEnd() && r->value.IsString())
        e.reason = r->value.GetString();
      if (auto m = doc.FindMember("message"); m != doc.MemberEnd() && m->value.IsString())
        e.message = m->value.GetString();
    }
  }
  if (e.reason.empty()) e.reason = std::string(reasonForHttpCode(httpCode));
  if (e.message.empty()) {
    constexpr std::size_t kMax = 256;
    e.message = body.size() > kMax ? std::string(body.substr(0, kMax)) + "..." : std::string(body);
    if (e.message.empty()) e.message = "HTTP " + std::to_string(httpCode);
  }
  return e;
}

Error transportError(std::string_view what, bool timedOut) {
  return Error{0, timedOut ? "Timeout" : "ConnectionError", std::string(what)};
}

}  // namespace opscopilot::kube
