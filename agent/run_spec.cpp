#include "agent/run_spec.h"

#include <algorithm>
#include <cctype>

namespace opscopilot::agent {

std::optional<std::int64_t> parseMicroUSD(const std::string& s) {
  if (s.empty()) return std::nullopt;
  std::int64_t whole = 0, frac = 0;
  int fracDigits = 0;
  bool seenDot = false;
  for (char c : s) {
    if (c == '.') {
      if (seenDot) return std::nullopt;
      seenDot = true;
      continue;
    }
    if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    if (!seenDot) {
      whole = whole * 10 + (c - '0');
      if (whole > 1000000000) return std::nullopt;
    } else if (fracDigits < 6) {
      frac = frac * 10 + (c - '0');
      ++fracDigits;
    }
  }
  while (fracDigits < 6) {
    frac *= 10;
    ++fracDigits;
  }
  return whole * 1000000 + frac;
}

std::string formatMicroUSD(std::int64_t micro) {
  std::string frac = std::to_string(micro % 1000000);
  frac = std::string(6 - frac.size(), '0') + frac;
  while (frac.size() > 4 && frac.back() == '0') frac.pop_back();
  return std::to_string(micro / 1000000) + "." + frac;
}

bool RunSpec::toolAllowed(const std::string& tool) const {
  if (std::find(disabledTools.begin(), disabledTools.end(), tool) != disabledTools.end()) return false;
  return allowedTools.empty() || std::find(allowedTools.begin(), allowedTools.end(), tool) != allowedTools.end();
}

std::string RunSpec::targetDescription() const {
  if (targetKind.empty()) return "namespace " + ns;
  if (!targetName.empty()) return targetKind + "/" + targetName;
  return targetKind + " with " + targetSelector;
}

}  // namespace opscopilot::agent
