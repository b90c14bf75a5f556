#include "tools/selector.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <string_view>
#include <utility>
#include <vector>

namespace opscopilot::tools {

namespace {

std::string_view text(const rapidjson::Value& v) {
  return v.IsString() ? std::string_view(v.GetString(), v.GetStringLength()) : std::string_view();
}

std::string join(std::vector<std::string> parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out.append(sep);
    out.append(parts[i]);
  }
  return out;
}

std::string expressionToString(const rapidjson::Value& e) {
  if (!e.IsObject()) return {};
  auto key = e.HasMember("key") ? text(e["key"]) : std::string_view();
  auto op = e.HasMember("operator") ? text(e["operator"]) : std::string_view();
  if (key.empty()) return {};
  if (op == "Exists") return std::string(key);
  if (op == "DoesNotExist") return "!" + std::string(key);
  if (op != "In" && op != "NotIn") return {};
  std::vector<std::string> values;
  if (auto it = e.FindMember("values"); it != e.MemberEnd() && it->value.IsArray()) {
    for (const auto& v : it->value.GetArray()) {
      if (v.IsString()) values.emplace_back(text(v));
    }
  }
  if (values.empty()) return {};
  std::sort(values.begin(), values.end());
  return std::string(key) + (op == "In" ? " in (" : " notin (") + join(values, ",") + ")";
}

}  // namespace

std::string matchLabelsToString(const rapidjson::Value& labels) {
  if (!labels.IsObject()) return {};
  std::vector<std::pair<std::string, std::string>> kv;
  for (const auto& m : labels.GetObject()) {
    if (m.value.IsString()) kv.emplace_back(std::string(text(m.name)), std::string(text(m.value)));
  }
  std::sort(kv.begin(), kv.end());
  std::vector<std::string> parts;
  for (auto& [k, v] : kv) parts.push_back(k + "=" + v);
  return join(std::move(parts), ",");
}

std::string selectorToString(const rapidjson::Value& labelSelector) {
  if (!labelSelector.IsObject()) return {};
  std::vector<std::string> parts;
  if (auto it = labelSelector.FindMember("matchLabels"); it != labelSelector.MemberEnd()) {
    if (auto labels = matchLabelsToString(it->value); !labels.empty()) parts.push_back(std::move(labels));
  }
  if (auto it = labelSelector.FindMember("matchExpressions"); it != labelSelector.MemberEnd() && it->value.IsArray()) {
    std::vector<std::string> exprs;
    for (const auto& e : it->value.GetArray()) {
      if (auto s = expressionToString(e); !s.empty()) exprs.push_back(std::move(s));
    }
    std::sort(exprs.begin(), exprs.end());
    for (auto& e : exprs) parts.push_back(std::move(e));
  }
  return join(std::move(parts), ",");
}

}  // namespace opscopilot::tools
