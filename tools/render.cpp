#include "tools/render.h"

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <set>

#include "operator/kube/object.h"

namespace opscopilot::tools {

const rapidjson::Value* valueAt(const rapidjson::Value& v, std::initializer_list<std::string_view> path) {
  const rapidjson::Value* cur = &v;
  for (auto step : path) {
    cur = kube::member(*cur, step);
    if (!cur) return nullptr;
  }
  return cur;
}

std::string_view stringAt(const rapidjson::Value& v, std::initializer_list<std::string_view> path) {
  const auto* s = valueAt(v, path);
  return s && s->IsString() ? std::string_view(s->GetString(), s->GetStringLength()) : std::string_view();
}

std::optional<std::int64_t> intAt(const rapidjson::Value& v, std::initializer_list<std::string_view> path) {
  const auto* i = valueAt(v, path);
  if (!i || !i->IsInt64()) return std::nullopt;
  return i->GetInt64();
}

std::string scalarText(const rapidjson::Value* v) {
  if (!v) return {};
  if (v->IsString()) return std::string(v->GetString(), v->GetStringLength());
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  if (v->IsBool()) return v->GetBool() ? "true" : "false";
  return {};
}

std::optional<double> parseTime(std::string_view ts) {
  if (ts.size() < 20) return std::nullopt;
  std::string s(ts);
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6 || consumed != 19) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  double t = static_cast<double>(timegm(&tm));
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    double scale = 0.1;
    for (++i; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, scale /= 10) t += (s[i] - '0') * scale;
  }
  if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) return t;
  int hh = 0, mm = 0;
  if (i < s.size() && (s[i] == '+' || s[i] == '-') && std::sscanf(s.c_str() + i + 1, "%2d:%2d", &hh, &mm) == 2) {
    double offset = hh * 3600.0 + mm * 60.0;
    return s[i] == '+' ? t - offset : t + offset;
  }
  return std::nullopt;
}

std::string ago(std::string_view ts) {
  auto t = parseTime(ts);
  if (!t) return {};
  auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  auto secs = static_cast<std::int64_t>(std::max(0.0, now - *t));
  if (secs < 120) return std::to_string(secs) + "s ago";
  if (secs < 120 * 60) return std::to_string(secs / 60) + "m ago";
  if (secs < 48 * 3600) return std::to_string(secs / 3600) + "h ago";
  return std::to_string(secs / 86400) + "d ago";
}

std::string quoted(std::string_view s, std::size_t max) {
  std::string out = "\"";
  std::size_t n = 0;
  for (char c : s) {
    if (n == max) {
      // Never leave half of a UTF-8 sequence before the marker.
      while (!out.empty() && (static_cast<unsigned char>(out.back()) & 0xC0) == 0x80) out.pop_back();
      if (!out.empty() && (static_cast<unsigned char>(out.back()) & 0x80)) out.pop_back();
      out += "...";
      break;
    }
    out.push_back(c == '\n' || c == '\r' || c == '\t' ? ' ' : c);
    ++n;
  }
  return out + "\"";
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i) out.append(sep);
    out.append(parts[i]);
  }
  return out;
}

bool isAbnormalCondition(const rapidjson::Value& c) {
  static const std::set<std::string_view> kTrueIsBad = {
      "MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable", "ReplicaFailure",
      "Failed",         "FailureTarget", "ScalingLimited", "Stalled",        "FileSystemResizePending"};
  auto type = kube::stringMember(c, "type");
  auto status = kube::stringMember(c, "status");
  if (status == "Unknown") return true;
  return kTrueIsBad.contains(type) ? status == "True" : status == "False";
}

std::string renderConditions(const rapidjson::Value* conditions, std::string_view indent, bool abnormalOnly) {
  if (!conditions || !conditions->IsArray()) return {};
  std::string out;
  for (const auto& c : conditions->GetArray()) {
    if (!c.IsObject() || (abnormalOnly && !isAbnormalCondition(c))) continue;
    out.append("\n").append(indent).append("condition ");
    out.append(kube::stringMember(c, "type")).append(" ").append(kube::stringMember(c, "status"));
    if (auto r = kube::stringMember(c, "reason"); !r.empty()) out.append(" (").append(r).append(")");
    if (auto m = kube::stringMember(c, "message"); !m.empty()) out.append(": ").append(quoted(m));
  }
  return out;
}

std::string renderResourceList(const rapidjson::Value* resources) {
  if (!resources || !resources->IsObject()) return {};
  std::vector<std::string> parts;
  for (const auto& m : resources->GetObject()) {
    parts.push_back(std::string(m.name.GetString(), m.name.GetStringLength()) + " " + scalarText(&m.value));
  }
  return join(parts, ", ");
}

namespace {

std::string renderProbe(std::string_view what, const rapidjson::Value* probe) {
  if (!probe || !probe->IsObject()) return {};
  std::string out = std::string(what) + " ";
  if (const auto* h = kube::member(*probe, "httpGet")) {
    out += "httpGet :" + scalarText(kube::member(*h, "port")) + std::string(kube::stringMember(*h, "path"));
  } else if (const auto* t = kube::member(*probe, "tcpSocket")) {
    out += "tcpSocket :" + scalarText(kube::member(*t, "port"));
  } else if (const auto* g = kube::member(*probe, "grpc")) {
    out += "grpc :" + scalarText(kube::member(*g, "port"));
  } else if (kube::member(*probe, "exec")) {
    out += "exec";
  } else {
    out += "?";
  }
  return out;
}

std::string renderContainer(const rapidjson::Value& c, std::string_view indent, std::string_view label) {
  std::string out = "\n" + std::string(indent) + std::string(label) + " " +
                    std::string(kube::stringMember(c, "name")) + ": image " +
                    std::string(kube::stringMember(c, "image"));
  if (auto r = renderResourceList(valueAt(c, {"resources", "requests"})); !r.empty()) out += "; requests " + r;
  if (auto l = renderResourceList(valueAt(c, {"resources", "limits"})); !l.empty()) out += "; limits " + l;
  for (auto [key, what] : {std::pair{"readinessProbe", "readiness"}, std::pair{"livenessProbe", "liveness"},
                           std::pair{"startupProbe", "startup"}}) {
    if (auto p = renderProbe(what, kube::member(c, key)); !p.empty()) out += "; " + p;
  }
  return out;
}

void collectRefs(const rapidjson::Value& c, std::set<std::string>& refs) {
  if (const auto* env = kube::member(c, "env"); env && env->IsArray()) {
    for (const auto& e : env->GetArray()) {
      if (const auto* cm = valueAt(e, {"valueFrom", "configMapKeyRef"})) {
        refs.insert("configMap " + std::string(kube::stringMember(*cm, "name")) + " key " +
                    std::string(kube::stringMember(*cm, "key")));
      }
      if (const auto* s = valueAt(e, {"valueFrom", "secretKeyRef"})) {
        refs.insert("secret " + std::string(kube::stringMember(*s, "name")) + " key " +
                    std::string(kube::stringMember(*s, "key")));
      }
    }
  }
  if (const auto* from = kube::member(c, "envFrom"); from && from->IsArray()) {
    for (const auto& f : from->GetArray()) {
      if (auto n = stringAt(f, {"configMapRef", "name"}); !n.empty()) refs.insert("configMap " + std::string(n));
      if (auto n = stringAt(f, {"secretRef", "name"}); !n.empty()) refs.insert("secret " + std::string(n));
    }
  }
}

}  // namespace

std::string renderPodSpec(const rapidjson::Value* spec, std::string_view indent) {
  if (!spec || !spec->IsObject()) return {};
  std::string out;
  std::set<std::string> refs;
  for (auto [key, label] : {std::pair{"initContainers", "init container"}, std::pair{"containers", "container"}}) {
    const auto* list = kube::member(*spec, key);
    if (!list || !list->IsArray()) continue;
    for (const auto& c : list->GetArray()) {
      out += renderContainer(c, indent, label);
      collectRefs(c, refs);
    }
  }
  if (const auto* vols = kube::member(*spec, "volumes"); vols && vols->IsArray()) {
    for (const auto& v : vols->GetArray()) {
      if (auto n = stringAt(v, {"configMap", "name"}); !n.empty()) refs.insert("configMap " + std::string(n));
      if (auto n = stringAt(v, {"secret", "secretName"}); !n.empty()) refs.insert("secret " + std::string(n));
      if (auto n = stringAt(v, {"persistentVolumeClaim", "claimName"}); !n.empty()) {
        refs.insert("persistentVolumeClaim " + std::string(n));
      }
    }
  }
  if (!refs.empty()) out += "\n" + std::string(indent) + "refers to " + join({refs.begin(), refs.end()}, ", ");
  return out;
}

std::optional<double> parseQuantity(std::string_view q) {
  if (q.empty()) return std::nullopt;
  std::string s(q);
  char* end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str()) return std::nullopt;
  std::string_view suffix(end);
  static const std::array<std::pair<std::string_view, double>, 15> kSuffixes = {{
      {"n", 1e-9}, {"u", 1e-6}, {"m", 1e-3}, {"", 1}, {"k", 1e3}, {"M", 1e6}, {"G", 1e9}, {"T", 1e12},
      {"P", 1e15}, {"E", 1e18}, {"Ki", 1024.0}, {"Mi", 1048576.0}, {"Gi", 1073741824.0},
      {"Ti", 1099511627776.0}, {"Pi", 1125899906842624.0}}};
  for (auto [sfx, mul] : kSuffixes) {
    if (suffix == sfx) return v * mul;
  }
  if (suffix == "Ei") return v * std::pow(2.0, 60);
  return std::nullopt;
}

}  // namespace opscopilot::tools
