#include "tools/analyzers/fill.h"

namespace opscopilot::tools::analysis {

std::string fill(std::string_view tmpl, std::initializer_list<Slot> slots) {
  auto blank = [](std::string_view v) { return v.find_first_not_of(" \t\r\n") == std::string_view::npos; };
  std::string out;
  out.reserve(tmpl.size() + 32);
  std::size_t i = 0;
  while (i < tmpl.size()) {
    auto open = tmpl.find("${", i);
    auto close = open == std::string_view::npos ? std::string_view::npos : tmpl.find('}', open + 2);
    if (close == std::string_view::npos) {
      out.append(tmpl.substr(i));
      break;
    }
    out.append(tmpl.substr(i, open - i));
    std::string_view name = tmpl.substr(open + 2, close - open - 2);
    const Slot* slot = nullptr;
    for (const auto& s : slots) {
      if (s.name == name) slot = &s;
    }
    if (slot != nullptr && !blank(slot->value)) {
      out.append(slot->value);
    } else if (slot != nullptr && !blank(slot->fallback)) {
      out.append(slot->fallback);
    } else {
      out.append("<").append(name.empty() ? std::string_view("value") : name).append(">");
    }
    i = close + 1;
  }
  return out;
}

}  // namespace opscopilot::tools::analysis
