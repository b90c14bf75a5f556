#include "tools/analyzers/support.h"

#include <re2/re2.h>

#include "tools/selector.h"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>

namespace opscopilot::tools::analysis {

const Json* field(const Json* v, std::string_view key) {
  if (v == nullptr || !v->IsObject()) return nullptr;
  auto it = v->FindMember(rapidjson::Value(rapidjson::StringRef(key.data(), static_cast<rapidjson::SizeType>(key.size()))));
  return it == v->MemberEnd() ? nullptr : &it->value;
}

const Json* at(const Json* v, std::initializer_list<std::string_view> path) {
  for (auto key : path) {
    v = field(v, key);
    if (v == nullptr) return nullptr;
  }
  return v;
}

std::string str(const Json* v) {
  if (v == nullptr || !v->IsString()) return {};
  std::string_view s(v->GetString(), v->GetStringLength());
  auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && blank(s.back())) s.remove_suffix(1);
  return std::string(s);
}

std::string strAt(const Json* v, std::initializer_list<std::string_view> path) { return str(at(v, path)); }

std::string scalarText(const Json* v) {
  if (v == nullptr) return {};
  if (v->IsString()) return str(v);
  if (v->IsInt64()) return std::to_string(v->GetInt64());
  if (v->IsUint64()) return std::to_string(v->GetUint64());
  if (v->IsDouble()) {
    double d = v->GetDouble();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15) return std::to_string(static_cast<long long>(d));
    return std::to_string(d);
  }
  return {};
}

std::optional<std::int64_t> integer(const Json* v) {
  if (v == nullptr) return std::nullopt;
  if (v->IsInt64()) return v->GetInt64();
  if (v->IsUint64()) return static_cast<std::int64_t>(std::min<std::uint64_t>(v->GetUint64(), INT64_MAX));
  if (v->IsDouble()) {
    double d = v->GetDouble();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

std::optional<std::int64_t> intAt(const Json* v, std::initializer_list<std::string_view> path) {
  return integer(at(v, path));
}

bool boolAt(const Json* v, std::initializer_list<std::string_view> path, bool fallback) {
  const Json* b = at(v, path);
  return b != nullptr && b->IsBool() ? b->GetBool() : fallback;
}

std::vector<const Json*> list(const Json* v) {
  std::vector<const Json*> out;
  if (v == nullptr || !v->IsArray()) return out;
  out.reserve(v->Size());
  for (const auto& e : v->GetArray()) out.push_back(&e);
  return out;
}

std::vector<const Json*> listAt(const Json* v, std::initializer_list<std::string_view> path) {
  return list(at(v, path));
}

std::vector<std::pair<std::string, std::string>> stringMap(const Json* v) {
  std::vector<std::pair<std::string, std::string>> out;
  if (v == nullptr || !v->IsObject()) return out;
  for (const auto& m : v->GetObject()) {
    if (m.value.IsString()) out.emplace_back(str(&m.name), str(&m.value));
  }
  return out;
}

std::string nameOf(const Json* obj) { return strAt(obj, {"metadata", "name"}); }
std::string namespaceOf(const Json* obj) { return strAt(obj, {"metadata", "namespace"}); }

const Json* condition(const Json* obj, std::string_view type) {
  for (const Json* c : listAt(obj, {"status", "conditions"})) {
    if (strAt(c, {"type"}) == type) return c;
  }
  return nullptr;
}

std::string shorten(std::string_view s, std::size_t max) {
  if (s.size() <= max) return std::string(s);
  std::size_t cut = max;
  // Never split a UTF-8 sequence: back up to a lead byte.
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  std::string out(s.substr(0, cut));
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out + "…";
}

std::string toLower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool containsNoCase(std::string_view haystack, std::string_view needle) {
  if (needle.empty()) return true;
  auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != haystack.end();
}

bool containsAnyNoCase(std::string_view haystack, std::initializer_list<std::string_view> needles) {
  return std::any_of(needles.begin(), needles.end(), [&](std::string_view n) { return containsNoCase(haystack, n); });
}

std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (std::size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out += sep;
    out += parts[i];
  }
  return out;
}

std::string shellWord(std::string_view s) {
  bool plain = !s.empty() && s.back() != '=' && s.find("=,") == std::string_view::npos &&
               std::all_of(s.begin(), s.end(), [](char c) {
                 return std::isalnum(static_cast<unsigned char>(c)) || std::string_view("._/=,:-").find(c) != std::string_view::npos;
               });
  if (plain) return std::string(s);
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

std::string countOf(std::int64_t n, std::string_view singular, std::string_view pluralForm) {
  std::string word = n == 1 ? std::string(singular)
                            : (pluralForm.empty() ? std::string(singular) + "s" : std::string(pluralForm));
  return std::to_string(n) + " " + word;
}

std::string between(std::string_view s, std::string_view open, std::string_view close, std::size_t from) {
  auto a = s.find(open, from);
  if (a == std::string_view::npos) return {};
  a += open.size();
  auto b = s.find(close, a);
  if (b == std::string_view::npos) return {};
  return std::string(s.substr(a, b - a));
}

std::string oneLine(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  bool space = false;
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7F) {
      space = true;
      continue;
    }
    if (space && !out.empty()) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

std::optional<double> parseQuantity(std::string_view q) {
  while (!q.empty() && q.front() == ' ') q.remove_prefix(1);
  while (!q.empty() && q.back() == ' ') q.remove_suffix(1);
  if (q.empty()) return std::nullopt;
  std::string text(q);
  char* end = nullptr;
  double number = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(number)) return std::nullopt;
  std::string_view suffix(end);
  static const std::pair<std::string_view, double> kSuffixes[] = {
      {"", 1},           {"m", 1e-3},         {"u", 1e-6},         {"n", 1e-9},         {"k", 1e3},
      {"M", 1e6},        {"G", 1e9},          {"T", 1e12},         {"P", 1e15},         {"E", 1e18},
      {"Ki", 1024.0},    {"Mi", 1048576.0},   {"Gi", 1073741824.0}, {"Ti", 1099511627776.0},
      {"Pi", 1125899906842624.0}, {"Ei", 1152921504606846976.0}};
  for (const auto& [s, factor] : kSuffixes) {
    if (suffix == s) return number * factor;
  }
  return std::nullopt;
}

std::string selectorString(const Json* labelSelector) {
  return labelSelector ? selectorToString(*labelSelector) : std::string();
}

std::string labelMapString(const Json* labels) {
  return labels ? matchLabelsToString(*labels) : std::string();
}

bool labelsMatch(const std::vector<std::pair<std::string, std::string>>& selector, const Json* labels) {
  if (selector.empty()) return false;
  for (const auto& [k, v] : selector) {
    const Json* have = field(labels, k);
    if (have == nullptr || str(have) != v) return false;
  }
  return true;
}

std::string exitCodeMeaning(std::int64_t code) {
  switch (code) {
    case 0: return "exited successfully, so the process ends instead of staying up";
    case 1: return "application error";
    case 2: return "misuse of a command or invalid arguments";
    case 126: return "command found but not executable (permissions or wrong binary format)";
    case 127: return "command not found in the image";
    case 128: return "the container runtime could not start the process";
    case 130: return "SIGINT: interrupted";
    case 134: return "SIGABRT: the process aborted itself";
    case 137: return "SIGKILL: killed by the OOM killer or after a failed liveness probe / grace period";
    case 139: return "SIGSEGV: segmentation fault";
    case 143: return "SIGTERM: terminated (stopped by Kubernetes, e.g. liveness probe or eviction)";
    case 255: return "fatal error or exit status out of range";
    default: break;
  }
  if (code > 128 && code < 160) return "killed by signal " + std::to_string(code - 128);
  return "application error";
}

OwnerRef podOwner(const Json* pod) {
  for (const Json* ref : listAt(pod, {"metadata", "ownerReferences"})) {
    if (!boolAt(ref, {"controller"}, true)) continue;
    OwnerRef owner{strAt(ref, {"kind"}), strAt(ref, {"name"})};
    if (owner.kind == "ReplicaSet") {
      // A Deployment's ReplicaSet is named <deployment>-<pod-template-hash>.
      std::string hash = strAt(pod, {"metadata", "labels", "pod-template-hash"});
      if (!hash.empty() && owner.name.size() > hash.size() + 1 && owner.name.ends_with("-" + hash)) {
        return {"Deployment", owner.name.substr(0, owner.name.size() - hash.size() - 1)};
      }
    }
    if (!owner.kind.empty() && !owner.name.empty()) return owner;
  }
  return {};
}

std::string kubectlTarget(const OwnerRef& owner) {
  if (owner.kind.empty() || owner.name.empty()) return {};
  return toLower(owner.kind) + "/" + owner.name;
}

namespace {
std::string jsonString(std::string_view s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
  return buf.GetString();
}
}  // namespace

CallArgs& CallArgs::str(std::string_view key, std::string_view value) {
  members_.emplace_back(std::string(key), jsonString(value));
  return *this;
}

CallArgs& CallArgs::flag(std::string_view key, bool value) {
  members_.emplace_back(std::string(key), value ? "true" : "false");
  return *this;
}

CallArgs& CallArgs::num(std::string_view key, std::int64_t value) {
  members_.emplace_back(std::string(key), std::to_string(value));
  return *this;
}

CallArgs& CallArgs::strings(std::string_view key, const std::vector<std::string>& values) {
  std::string arr = "[";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) arr += ",";
    arr += jsonString(values[i]);
  }
  members_.emplace_back(std::string(key), arr + "]");
  return *this;
}

std::string CallArgs::json() const {
  std::string out = "{";
  for (std::size_t i = 0; i < members_.size(); ++i) {
    if (i > 0) out += ",";
    out += jsonString(members_[i].first) + ":" + members_[i].second;
  }
  return out + "}";
}

agent::PlannedCall plannedCall(std::string tool, const CallArgs& args, std::string reason) {
  agent::PlannedCall call;
  call.tool = std::move(tool);
  call.argsJson = args.json();
  call.reason = std::move(reason);
  return call;
}

std::vector<std::string> cite(const agent::StepView& step, std::initializer_list<std::string> refs) {
  for (const auto& ref : refs) {
    if (ref.empty()) continue;
    std::string id = step.evidenceFor(ref);
    if (!id.empty()) return {id};
  }
  return {};
}

void addEvidence(std::vector<std::string>& ids, const std::vector<std::string>& more) {
  for (const auto& id : more) {
    if (!id.empty() && std::find(ids.begin(), ids.end(), id) == ids.end()) ids.push_back(id);
  }
}

std::string findingWithSubject(const agent::AnalysisSink& sink, std::string_view subject, std::string_view notBy) {
  const agent::Finding* best = nullptr;
  // A pod-wide subject ("Pod/web-1") also matches that pod's container
  // findings ("Pod/web-1/app"): an event that does not name its container
  // (kwok's, or an older kubelet's) still belongs to the container's finding.
  const bool podWide = subject.starts_with("Pod/") && std::count(subject.begin(), subject.end(), '/') == 1;
  auto matches = [&](std::string_view s) {
    return s == subject || (podWide && s.size() > subject.size() && s.starts_with(subject) && s[subject.size()] == '/');
  };
  for (const auto& f : sink.findings()) {
    if (!matches(f.subject) || (!notBy.empty() && f.analyzer == notBy)) continue;
    if (best == nullptr || f.severity > best->severity) best = &f;
  }
  return best == nullptr ? std::string() : best->id;
}

std::string findingMatching(const agent::AnalysisSink& sink, std::string_view prefix, std::string_view needle,
                            std::string_view notBy) {
  for (const auto& f : sink.findings()) {
    if (!notBy.empty() && f.analyzer == notBy) continue;
    if (!std::string_view(f.subject).starts_with(prefix)) continue;
    if (!needle.empty() && !containsNoCase(f.title, needle)) continue;
    return f.id;
  }
  return {};
}

const agent::Finding* findingById(const agent::AnalysisSink& sink, std::string_view id) {
  for (const auto& f : sink.findings()) {
    if (f.id == id) return &f;
  }
  return nullptr;
}

std::string findingSignature(std::string_view title) {
  std::string s(title.substr(0, title.find(": ")));
  static const re2::RE2 replicaSetPod(R"(\b([a-z0-9][-a-z0-9]*)-[a-z0-9]{6,10}-[a-z0-9]{5}\b)");
  static const re2::RE2 generatedPod(R"(\b([a-z0-9][-a-z0-9]*)-[bcdfghjklmnpqrstvwxz2456789]{5}\b)");
  static const re2::RE2 digits(R"([0-9]+)");
  re2::RE2::GlobalReplace(&s, replicaSetPod, R"(\1-<pod>)");
  re2::RE2::GlobalReplace(&s, generatedPod, R"(\1-<pod>)");
  re2::RE2::GlobalReplace(&s, digits, "#");
  return toLower(s);
}

}  // namespace opscopilot::tools::analysis
