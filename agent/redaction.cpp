#include "agent/redaction.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <regex>

namespace opscopilot::agent {

namespace {

constexpr std::string_view kMask = "[REDACTED]";

struct Rule {
  std::regex pattern;
  int keepGroup;  // this capture group is kept before the mask (0: none)
};

const std::vector<Rule>& rules() {
  static const std::vector<Rule> r = [] {
    const auto icase = std::regex::ECMAScript | std::regex::icase | std::regex::optimize;
    const auto cs = std::regex::ECMAScript | std::regex::optimize;
    std::vector<Rule> v;
    v.push_back({std::regex(R"(-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(-----END [A-Z ]*PRIVATE KEY-----|$))", cs), 0});
    v.push_back({std::regex(R"((bearer\s+)[A-Za-z0-9._~+/=-]{8,})", icase), 1});
    v.push_back({std::regex(R"(eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,})", cs), 0});
    // scheme://user:password@host
    v.push_back({std::regex(R"(([a-z][a-z0-9+.-]*://[^:/@\s]+:)[^@/\s]+(?=@))", icase), 1});
    // key=value, key: value, "key": "value" for secret-looking keys
    v.push_back({std::regex(R"re(((?:password|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|secret[_-]?key|private[_-]?key|client[_-]?secret|credentials?|auth[_-]?token|session[_-]?id)["']?\s*[:=]\s*["']?)[^"'\s,;&}]{3,})re", icase), 1});
    v.push_back({std::regex(R"(\b(AKIA|ASIA)[0-9A-Z]{16}\b)", cs), 0});
    v.push_back({std::regex(R"(\bgh[pousr]_[A-Za-z0-9]{30,}\b)", cs), 0});
    v.push_back({std::regex(R"(\bxox[abposr]-[A-Za-z0-9-]{10,}\b)", cs), 0});
    v.push_back({std::regex(R"(\bsk-(ant-)?[A-Za-z0-9_-]{20,}\b)", cs), 0});
    return v;
  }();
  return r;
}

}  // namespace

Redacted redactSecrets(std::string_view text) {
  Redacted out{std::string(text), 0};
  for (const auto& rule : rules()) {
    std::string result;
    auto begin = std::sregex_iterator(out.text.begin(), out.text.end(), rule.pattern);
    auto end = std::sregex_iterator();
    if (begin == end) continue;
    std::size_t last = 0;
    for (auto it = begin; it != end; ++it) {
      const auto& m = *it;
      result.append(out.text, last, static_cast<std::size_t>(m.position(0)) - last);
      if (rule.keepGroup > 0) result.append(m.str(rule.keepGroup));
      result.append(kMask);
      last = static_cast<std::size_t>(m.position(0) + m.length(0));
      ++out.redactions;
    }
    result.append(out.text, last, std::string::npos);
    out.text = std::move(result);
  }
  return out;
}

bool looksLikeInjection(std::string_view text) {
  static const std::regex pattern(
      R"((ignore|disregard|forget)\s+(all\s+|any\s+|the\s+)?(previous|prior|above|earlier)\s+(instructions|prompts?|rules)|you\s+are\s+now\s+|new\s+instructions\s*:|system\s+prompt|<\s*/?\s*(system|assistant)\s*>|act\s+as\s+(an?\s+)?(admin|root|developer mode)|call\s+the\s+tool|run\s+kubectl\s+(delete|apply|patch|exec))",
      std::regex::ECMAScript | std::regex::icase | std::regex::optimize);
  return std::regex_search(text.begin(), text.end(), pattern);
}

Truncated truncateText(std::string_view text, std::size_t maxBytes, bool keepTail) {
  if (text.size() <= maxBytes) return {std::string(text), false};
  auto isContinuation = [](char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; };
  std::size_t cut = text.size() - maxBytes;
  if (keepTail) {
    std::size_t start = cut;
    while (start < text.size() && isContinuation(text[start])) ++start;
    // Start at a line boundary when one is near, so the first line is whole.
    if (auto nl = text.find('\n', start); nl != std::string_view::npos && nl - start < 200) start = nl + 1;
    return {"[... " + std::to_string(start) + " earlier bytes truncated ...]\n" + std::string(text.substr(start)), true};
  }
  std::size_t end = maxBytes;
  while (end > 0 && isContinuation(text[end])) --end;
  return {std::string(text.substr(0, end)) + "\n[... " + std::to_string(text.size() - end) + " more bytes truncated ...]",
          true};
}

}  // namespace opscopilot::agent
