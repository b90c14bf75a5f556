#include "tools/kube_tool.h"

#include <cmath>
#include <exception>

namespace opscopilot::tools {

namespace {

std::string withNamespace(std::string pattern, const std::string& ns) {
  static constexpr std::string_view kPlaceholder = "{namespace}";
  for (auto pos = pattern.find(kPlaceholder); pos != std::string::npos;
       pos = pattern.find(kPlaceholder, pos + ns.size())) {
    pattern.replace(pos, kPlaceholder.size(), ns);
  }
  return pattern;
}

bool isAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

KubeTool::KubeTool(std::shared_ptr<kube::Client> client, ToolSettings settings, agent::ToolSpec spec)
    : client_(std::move(client)), settings_(std::move(settings)), spec_(std::move(spec)) {}

std::optional<ToolCall> KubeTool::callFor(const agent::ToolContext& ctx, agent::ToolOutput* refused) const {
  if (!isLabelName(ctx.ns)) {
    *refused = invalidArgs("the run's namespace \"" + ctx.ns + "\" is not a namespace name");
    return std::nullopt;
  }
  std::optional<RequesterCheck> requester;
  if (ctx.requester) {
    // Fail closed: a run that names its requester is never read for with
    // the reader identity alone.
    if (!settings_.access) {
      *refused = invalidArgs("the operator has no access reviewer to check the run's requester with");
      return std::nullopt;
    }
    requester = RequesterCheck{*ctx.requester, settings_.access.get()};
  }
  std::optional<ToolCall> call(std::in_place, *client_, ctx.ns, readerFor(ctx.ns), ctx.deadline, spec_.timeout,
                               std::move(requester));
  call->setSince(ctx.since);
  call->keepReadsIn(std::dynamic_pointer_cast<RecentObjects>(ctx.scratch));
  return call;
}

int KubeTool::warmUp(const agent::ToolContext& ctx) {
  if (!spec_.warmUp || !std::dynamic_pointer_cast<RecentObjects>(ctx.scratch)) return 0;
  agent::ToolOutput refused;
  auto call = callFor(ctx, &refused);
  if (!call) return 0;
  int other = 0;
  try {
    other = warm(*call);
  } catch (const std::exception&) {
    // The call that needs it reads it again, and reports what fails.
  }
  return other + call->requests();
}

agent::ToolOutput KubeTool::run(const agent::ToolContext& ctx, const rapidjson::Value& args) {
  agent::ToolOutput refused;
  auto made = callFor(ctx, &refused);
  if (!made) return refused;
  if (!args.IsObject()) return invalidArgs("the arguments must be a JSON object");
  ToolCall& call = *made;
  agent::ToolOutput out;
  try {
    out = read(call, args);
  } catch (const std::exception& e) {
    out = agent::ToolOutput{};
    out.ok = false;
    out.errorReason = "Error";
    out.summary = std::string("error: ") + spec_.name + " failed: " + e.what();
    out.evidence.push_back({spec_.name, out.summary});
  }
  if (out.evidence.size() > kMaxEvidence) out.evidence.resize(kMaxEvidence);
  out.apiRequests += call.requests();  // read() counts any request it made through another call
  out.refusedForRequester = !out.ok && call.requesterRefusals() > 0;
  return out;
}

kube::Impersonation KubeTool::readerFor(const std::string& ns) const {
  kube::Impersonation reader{withNamespace(settings_.readerUser, ns), {}};
  for (const auto& g : settings_.readerGroups) reader.groups.push_back(withNamespace(g, ns));
  return reader;
}

agent::ToolSpec makeSpec(std::string name, std::string description, std::string argsSchema,
                         const ToolSettings& settings) {
  agent::ToolSpec s;
  s.name = std::move(name);
  s.description = std::move(description);
  s.argsSchema = std::move(argsSchema);
  s.timeout = std::chrono::seconds(10);
  s.maxOutputBytes = settings.maxExcerptBytes;
  return s;
}

agent::ToolOutput invalidArgs(std::string message) {
  agent::ToolOutput out;
  out.ok = false;
  out.errorReason = "InvalidArgs";
  out.summary = "invalid arguments: " + message;
  out.evidence.push_back({"args", out.summary});
  return out;
}

bool isObjectName(std::string_view s) {
  if (s.empty() || s.size() > 253 || !isAlnum(s.front()) || !isAlnum(s.back())) return false;
  for (char c : s) {
    if (!isAlnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

bool isLabelName(std::string_view s) {
  if (s.empty() || s.size() > 63 || !isAlnum(s.front()) || !isAlnum(s.back())) return false;
  for (char c : s) {
    if (!isAlnum(c) && c != '-') return false;
  }
  return true;
}

std::optional<std::string> stringArg(const rapidjson::Value& args, const char* key) {
  auto it = args.FindMember(key);
  if (it == args.MemberEnd() || !it->value.IsString()) return std::nullopt;
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::optional<std::int64_t> intArg(const rapidjson::Value& args, const char* key) {
  auto it = args.FindMember(key);
  if (it == args.MemberEnd()) return std::nullopt;
  if (it->value.IsInt64()) return it->value.GetInt64();
  // A JSON number such as 50.0 from a model is still meant as an integer.
  if (it->value.IsDouble()) {
    double d = it->value.GetDouble();
    if (std::isfinite(d) && std::fabs(d) < 1e15) return static_cast<std::int64_t>(d);
  }
  return std::nullopt;
}

bool boolArg(const rapidjson::Value& args, const char* key, bool def) {
  auto it = args.FindMember(key);
  return it != args.MemberEnd() && it->value.IsBool() ? it->value.GetBool() : def;
}

std::optional<std::vector<std::string>> stringListArg(const rapidjson::Value& args, const char* key) {
  auto it = args.FindMember(key);
  if (it == args.MemberEnd() || !it->value.IsArray()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& v : it->value.GetArray()) {
    if (!v.IsString()) return std::nullopt;
    out.emplace_back(v.GetString(), v.GetStringLength());
  }
  return out;
}

std::optional<agent::ToolOutput> checkOptionalName(const rapidjson::Value& args, std::string* name) {
  if (!args.HasMember("name")) return std::nullopt;
  auto n = stringArg(args, "name");
  if (!n || !isObjectName(*n)) return invalidArgs("\"name\" must be a Kubernetes object name");
  *name = *n;
  return std::nullopt;
}

std::optional<agent::ToolOutput> checkRequiredName(const rapidjson::Value& args, const char* key, std::string* name) {
  auto n = stringArg(args, key);
  if (!n) return invalidArgs(std::string("\"") + key + "\" is required");
  if (!isObjectName(*n)) return invalidArgs(std::string("\"") + key + "\" must be a Kubernetes object name");
  *name = *n;
  return std::nullopt;
}

}  // namespace opscopilot::tools
