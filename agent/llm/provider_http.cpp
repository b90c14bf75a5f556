#include "agent/llm/provider_http.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <exception>
#include <stop_token>

#include "agent/llm/json_util.h"
#include "agent/redaction.h"

namespace opscopilot::agent::llm {

namespace {

using std::chrono::milliseconds;

constexpr std::size_t kMaxDetail = 200;
constexpr milliseconds kMaxRetryAfter{24 * 3600 * 1000};

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Error types and codes are identifiers ("rate_limit_exceeded"); anything
// else is not shown.
bool isIdentifier(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

bool quotes(std::string_view detail, std::string_view promptPart) {
  constexpr std::size_t kWindow = 24, kStep = 12, kShortest = 12;
  if (promptPart.size() < kShortest) return false;
  if (promptPart.size() <= kWindow) return detail.find(promptPart) != std::string_view::npos;
  for (std::size_t i = 0; i + kWindow <= promptPart.size(); i += kStep) {
    if (detail.find(promptPart.substr(i, kWindow)) != std::string_view::npos) return true;
  }
  return false;
}

bool quotesPrompt(std::string_view detail, const ChatRequest* request) {
  if (!request) return false;
  for (const auto& m : request->messages) {
    if (quotes(detail, m.content)) return true;
    for (const auto& call : m.toolCalls) {
      if (quotes(detail, call.argsJson)) return true;
    }
  }
  return false;
}

std::optional<milliseconds> parseSeconds(std::string_view s, double scaleToMs) {
  double value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size() || !(value >= 0)) return std::nullopt;
  const double ms = value * scaleToMs;
  if (ms >= static_cast<double>(kMaxRetryAfter.count())) return kMaxRetryAfter;
  return milliseconds(static_cast<std::int64_t>(ms + 0.999));
}

std::optional<std::chrono::system_clock::time_point> parseHttpDate(std::string_view s) {
  const auto comma = s.find(", ");
  if (comma == std::string_view::npos) return std::nullopt;
  const std::string rest(s.substr(comma + 2));
  int day = 0, year = 0, hour = 0, minute = 0, second = 0;
  char month[4] = {};
  char zone[4] = {};
  if (std::sscanf(rest.c_str(), "%2d %3s %4d %2d:%2d:%2d %3s", &day, month, &year, &hour, &minute, &second, zone) != 7) {
    return std::nullopt;
  }
  if (std::string_view(zone) != "GMT") return std::nullopt;
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const auto it = std::find(kMonths.begin(), kMonths.end(), std::string_view(month));
  if (it == kMonths.end()) return std::nullopt;
  using namespace std::chrono;
  const year_month_day date{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(it - kMonths.begin() + 1)),
                            std::chrono::day(static_cast<unsigned>(day))};
  if (!date.ok() || hour > 23 || minute > 59 || second > 60) return std::nullopt;
  return sys_days(date) + hours(hour) + minutes(minute) + seconds(second);
}

LlmError makeError(LlmError::Kind kind, int httpCode, std::string message) {
  LlmError e;
  e.kind = kind;
  e.httpCode = httpCode;
  e.message = std::move(message);
  return e;
}

}  // namespace

std::optional<milliseconds> parseRetryAfter(std::string_view value, std::chrono::system_clock::time_point now) {
  value = trim(value);
  if (value.empty()) return std::nullopt;
  if (std::isdigit(static_cast<unsigned char>(value.front()))) return parseSeconds(value, 1000.0);
  const auto date = parseHttpDate(value);
  if (!date) return std::nullopt;
  if (*date <= now) return milliseconds(0);
  return std::min(std::chrono::ceil<milliseconds>(*date - now), kMaxRetryAfter);
}

std::string safeDetail(std::string_view serverText, const ErrorContext& ctx) {
  std::string text(trim(serverText));
  if (!ctx.apiKey.empty()) {
    for (std::size_t at; (at = text.find(ctx.apiKey)) != std::string::npos;) text.replace(at, ctx.apiKey.size(), "[REDACTED]");
  }
  if (quotesPrompt(text, ctx.request)) return "(server message omitted: it quotes the request)";
  std::replace_if(text.begin(), text.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  if (text.size() > 2 * kMaxDetail) {
    // Redaction is regex work: cut first, and drop the word the cut split so
    // no piece of a secret survives unrecognised.
    text.resize(2 * kMaxDetail);
    const auto lastSpace = text.find_last_of(' ');
    text.resize(lastSpace == std::string::npos ? 0 : lastSpace);
    text += " ...";
  }
  text = redactSecrets(text).text;
  if (text.size() > kMaxDetail) {
    text.resize(kMaxDetail);
    text = json::validUtf8(text);  // the cut may split a character
    text += "...";
  }
  return text;
}

LlmError statusError(int status, std::string_view body, const HttpReply& reply, const ErrorContext& ctx,
                     std::chrono::system_clock::time_point now) {
  LlmError::Kind kind = LlmError::Kind::Invalid;
  if (status == 401 || status == 403) {
    kind = LlmError::Kind::Auth;
  } else if (status == 408 || status == 429 || status >= 500) {
    kind = LlmError::Kind::Transient;
  }
  std::string message = std::string(ctx.provider) + ": HTTP " + std::to_string(status);
  rapidjson::Document doc;
  doc.Parse(body.data(), body.size());
  if (!doc.HasParseError()) {
    if (const auto* err = json::object(doc, "error")) {
      std::string_view type = json::str(*err, "type");
      std::string_view code = json::str(*err, "code");
      if (isIdentifier(type)) message += " " + std::string(type);
      if (isIdentifier(code) && code != type) message += " (" + std::string(code) + ")";
      // An auth failure's text tends to echo part of the key; leave it out.
      const std::string detail = kind == LlmError::Kind::Auth ? "" : safeDetail(json::str(*err, "message"), ctx);
      if (!detail.empty()) message += ": " + detail;
    }
  }
  LlmError e = makeError(kind, status, std::move(message));
  if (kind == LlmError::Kind::Transient) {
    if (auto ms = parseSeconds(trim(reply.header("retry-after-ms")), 1.0)) {
      e.retryAfter = ms;
    } else if (auto after = parseRetryAfter(reply.header("retry-after"), now)) {
      e.retryAfter = after;
    }
  }
  return e;
}

LlmError malformedResponse(const ErrorContext& ctx, std::string_view what) {
  return makeError(LlmError::Kind::Invalid, 0, std::string(ctx.provider) + ": malformed response: " + std::string(what));
}

LlmError streamedError(const rapidjson::Value& error, const ErrorContext& ctx) {
  std::string_view type = json::str(error, "type");
  if (type.empty()) type = json::str(error, "code");
  const bool permanent = type == "invalid_request_error" || type == "authentication_error" ||
                         type == "permission_error" || type == "not_found_error" || type == "request_too_large";
  std::string message = std::string(ctx.provider) + ": error in stream";
  if (isIdentifier(type)) message += " " + std::string(type);
  const std::string detail = safeDetail(json::str(error, "message"), ctx);
  if (!detail.empty()) message += ": " + detail;
  return makeError(permanent ? LlmError::Kind::Invalid : LlmError::Kind::Transient, 0, std::move(message));
}

bool looksLikeJsonObject(std::string_view body) {
  const auto first = body.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && body[first] == '{';
}

std::string joinURL(std::string_view base, std::string_view path) {
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  while (!path.empty() && path.front() == '/') path.remove_prefix(1);
  return std::string(base) + "/" + std::string(path);
}

namespace {

std::string mib(std::size_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }

}  // namespace

Exchange exchange(HttpClient& http, HttpCall call, const CallLimits& limits,
                  const std::function<void(const SseEvent&)>& onEvent, const ErrorContext& ctx) {
  Exchange ex;
  const auto now = std::chrono::steady_clock::now();
  if (now >= limits.deadline) {
    ex.error = makeError(LlmError::Kind::Transient, 0, std::string(ctx.provider) + ": the run's deadline passed before the call");
    return ex;
  }
  call.timeout = std::min(call.timeout, std::chrono::ceil<milliseconds>(limits.deadline - now));
  // A plain reply is one exchange within the timeout; a stream may go on
  // while bytes keep coming, until the run's deadline.
  call.deadline = onEvent ? limits.deadline : std::min(limits.deadline, now + call.timeout);

  // The client's stop: shutdown, or a response over its limits.
  std::stop_source cut;
  const std::stop_callback forward(limits.stop, [&cut] { cut.request_stop(); });
  call.stop = cut.get_token();
  std::optional<LlmError> overflow;
  auto tooLarge = [&](std::string what) {
    if (!overflow) overflow = makeError(LlmError::Kind::Invalid, 0, std::string(ctx.provider) + ": " + what + "; the call was ended");
    cut.request_stop();
  };

  std::optional<SseParser> parser;
  if (onEvent) parser.emplace(onEvent, kMaxSseEventBytes);
  std::size_t received = 0;
  const std::function<void(std::string_view)> onChunk = [&](std::string_view chunk) {
    if (overflow) return;
    received += chunk.size();
    if (received > kMaxResponseBytes) return tooLarge("the response passed " + mib(kMaxResponseBytes));
    ex.body.append(chunk);
    if (parser && !parser->feed(chunk)) tooLarge("a server-sent event or line passed " + mib(kMaxSseEventBytes));
  };
  HttpClient::Outcome outcome;
  try {
    outcome = http.send(call, onChunk);
  } catch (const std::exception& e) {
    ex.error = makeError(LlmError::Kind::Transient, 0, std::string(ctx.provider) + ": HTTP client failed: " + safeDetail(e.what(), ctx));
    return ex;
  } catch (...) {
    ex.error = makeError(LlmError::Kind::Transient, 0, std::string(ctx.provider) + ": HTTP client failed");
    return ex;
  }
  if (overflow) {
    ex.error = std::move(overflow);
    return ex;
  }
  if (!outcome.reply) {
    std::string message = std::string(ctx.provider);
    if (outcome.cancelled || limits.stop.stop_requested()) {
      message += ": the call was cancelled";
    } else if (outcome.timedOut && std::chrono::steady_clock::now() >= call.deadline) {
      message += ": the call reached the run's deadline";
    } else {
      message += outcome.timedOut ? ": request timed out" : ": connection failed";
    }
    const std::string detail = safeDetail(outcome.error, ctx);
    if (!detail.empty()) message += ": " + detail;
    ex.error = makeError(LlmError::Kind::Transient, 0, std::move(message));
    return ex;
  }
  HttpReply& reply = *outcome.reply;
  const bool success = reply.status >= 200 && reply.status < 300;
  if (!reply.body.empty() && ex.body.empty()) {
    // A client that ignored onChunk and returned the body whole.
    if (reply.body.size() > kMaxResponseBytes) {
      ex.error = makeError(LlmError::Kind::Invalid, 0, std::string(ctx.provider) + ": the response passed " + mib(kMaxResponseBytes));
      return ex;
    }
    ex.body = std::move(reply.body);
    if (parser && success && !parser->feed(ex.body)) {
      ex.error = makeError(LlmError::Kind::Invalid, 0, std::string(ctx.provider) + ": a server-sent event or line passed " +
                                                           mib(kMaxSseEventBytes));
      return ex;
    }
  }
  if (!success) {
    ex.error = statusError(reply.status, ex.body, reply, ctx, std::chrono::system_clock::now());
    return ex;
  }
  if (parser) parser->finish();
  return ex;
}

}  // namespace opscopilot::agent::llm
