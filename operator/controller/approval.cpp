#include "operator/controller/approval.h"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <re2/re2.h>

#include "agent/graph.h"
#include "agent/run_state_json.h"
#include "operator/controller/digest.h"

namespace opscopilot::controller {

std::optional<std::chrono::system_clock::time_point> parseRfc3339(std::string_view s) {
  using namespace std::chrono;
  std::size_t i = 0;
  auto number = [&](int width, int& out) {
    if (i + static_cast<std::size_t>(width) > s.size()) return false;
    int v = 0;
    for (int k = 0; k < width; ++k) {
      const char c = s[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += static_cast<std::size_t>(width);
    out = v;
    return true;
  };
  auto literal = [&](std::string_view allowed) {
    if (i >= s.size() || allowed.find(s[i]) == std::string_view::npos) return false;
    ++i;
    return true;
  };
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!number(4, y) || !literal("-") || !number(2, mo) || !literal("-") || !number(2, d) || !literal("Tt") ||
      !number(2, h) || !literal(":") || !number(2, mi) || !literal(":") || !number(2, sec)) {
    return std::nullopt;
  }
  nanoseconds fraction{0};
  if (i < s.size() && s[i] == '.') {
    ++i;
    std::int64_t ns = 0;
    int n = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i, ++n) {
      if (n < 9) ns = ns * 10 + (s[i] - '0');  // beyond nanoseconds: truncated
    }
    if (n == 0) return std::nullopt;
    for (int k = n; k < 9; ++k) ns *= 10;
    fraction = nanoseconds(ns);
  }
  minutes offset{0};
  if (literal("Zz")) {
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const bool east = s[i] == '+';
    ++i;
    int oh = 0, om = 0;
    if (!number(2, oh) || !literal(":") || !number(2, om) || oh > 23 || om > 59) return std::nullopt;
    offset = minutes(oh * 60 + om) * (east ? 1 : -1);
  } else {
    return std::nullopt;
  }
  if (i != s.size()) return std::nullopt;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)}, day{static_cast<unsigned>(d)}};
  // Second 60 is a leap second (RFC 3339 allows it); it counts as the next second.
  if (!date.ok() || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  const auto t = sys_days(date) + hours(h) + minutes(mi) + seconds(sec) + fraction - offset;
  return time_point_cast<system_clock::duration>(t);
}

namespace approval {

namespace {

using Alloc = rapidjson::Document::AllocatorType;

rapidjson::Value str(std::string_view v, Alloc& a) {
  return rapidjson::Value(v.data(), static_cast<rapidjson::SizeType>(v.size()), a);
}

std::string quoted(std::string_view v, std::size_t max = 200) {
  std::string s(v.substr(0, max));
  return "\"" + s + (v.size() > max ? "...\"" : "\"");
}

// The object's args as canonical JSON ("{}" when absent or not an object).
std::string canonicalArgs(const rapidjson::Value* args) {
  if (!args || !args->IsObject()) return "{}";
  return agent::canonicalJson(kube::serializeJson(*args));
}

const re2::RE2& recordPattern() {
  static const re2::RE2 re(R"(step ([0-9]{1,9}) \([a-z0-9_]*\) waits for ApprovalRequest ([a-z0-9.-]+) \(uid ([A-Za-z0-9-]+)\))");
  return re;
}

}  // namespace

Action actionFor(const kube::Object& run, const agent::Step& step) {
  Action a;
  a.ns = std::string(run.ns());
  a.runName = std::string(run.name());
  a.runUID = std::string(run.uid());
  a.generation = run.generation();
  a.stepID = step.id;
  a.tool = step.tool;
  a.argsJson = agent::canonicalJson(step.argsJson);
  return a;
}


std::string requestName(std::string_view runName, std::int64_t generation, int stepID) {
  return boundedName(runName, "-" + std::to_string(generation) + "-" + std::to_string(stepID));
}

std::string canonicalActionJson(const Action& action) {
  rapidjson::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  rapidjson::Document args;
  args.Parse(agent::canonicalJson(action.argsJson).c_str());
  rapidjson::Value argsValue(rapidjson::kObjectType);
  if (!args.HasParseError() && args.IsObject()) argsValue.CopyFrom(args, a);
  d.AddMember("args", argsValue, a);
  d.AddMember("generation", static_cast<std::int64_t>(action.generation), a);
  d.AddMember("runUID", str(action.runUID, a), a);
  d.AddMember("stepID", action.stepID, a);
  d.AddMember("tool", str(action.tool, a), a);
  return agent::canonicalJson(kube::serializeJson(d));
}

std::string actionDigest(const Action& action) {
  auto hex = sha256Hex(canonicalActionJson(action));
  return hex.empty() ? std::string() : "sha256:" + hex;
}

std::string requestJson(const Action& action, std::string_view reason, std::string_view risk,
                        Clock::time_point expiresAt) {
  rapidjson::Document d(rapidjson::kObjectType);
  auto& a = d.GetAllocator();
  d.AddMember("apiVersion", "opscopilot.io/v1alpha1", a);
  d.AddMember("kind", "ApprovalRequest", a);
  rapidjson::Value meta(rapidjson::kObjectType), owner(rapidjson::kObjectType), owners(rapidjson::kArrayType);
  meta.AddMember("name", str(requestName(action.runName, action.generation, action.stepID), a), a);
  if (!action.ns.empty()) meta.AddMember("namespace", str(action.ns, a), a);
  owner.AddMember("apiVersion", "opscopilot.io/v1alpha1", a);
  owner.AddMember("kind", "DiagnosticRun", a);
  owner.AddMember("name", str(action.runName, a), a);
  owner.AddMember("uid", str(action.runUID, a), a);
  owner.AddMember("controller", true, a);
  owner.AddMember("blockOwnerDeletion", true, a);
  owners.PushBack(owner, a);
  meta.AddMember("ownerReferences", owners, a);
  d.AddMember("metadata", meta, a);

  rapidjson::Value spec(rapidjson::kObjectType), runRef(rapidjson::kObjectType), act(rapidjson::kObjectType);
  runRef.AddMember("name", str(action.runName, a), a);
  runRef.AddMember("uid", str(action.runUID, a), a);
  spec.AddMember("runRef", runRef, a);
  spec.AddMember("runGeneration", static_cast<std::int64_t>(action.generation), a);
  spec.AddMember("stepID", action.stepID, a);
  act.AddMember("tool", str(action.tool, a), a);
  rapidjson::Document args;
  args.Parse(action.argsJson.c_str());
  rapidjson::Value argsValue(rapidjson::kObjectType);
  if (!args.HasParseError() && args.IsObject()) argsValue.CopyFrom(args, a);
  act.AddMember("args", argsValue, a);
  spec.AddMember("action", act, a);
  spec.AddMember("actionDigest", str(actionDigest(action), a), a);
  spec.AddMember("reason", str(reason.substr(0, 1000), a), a);
  spec.AddMember("risk", str(risk, a), a);
  spec.AddMember("expiresAt", str(agent::formatTime(expiresAt), a), a);
  d.AddMember("spec", spec, a);
  return kube::serializeJson(d);
}

std::string recordMessage(const Record& record, std::string_view tool) {
  return "step " + std::to_string(record.stepID) + " (" + std::string(tool) + ") waits for ApprovalRequest " +
         record.name + " (uid " + record.uid + ")";
}

std::optional<Record> recordFrom(const kube::Object& run) {
  const auto* conds = run.at({"status", "conditions"});
  if (!conds || !conds->IsArray()) return std::nullopt;
  for (const auto& c : conds->GetArray()) {
    if (!c.IsObject() || kube::stringMember(c, "type") != "AwaitingApproval" ||
        kube::stringMember(c, "status") != "True") {
      continue;
    }
    const std::string message(kube::stringMember(c, "message"));
    Record r;
    if (!re2::RE2::FullMatch(message, recordPattern(), &r.stepID, &r.name, &r.uid)) return std::nullopt;
    const auto* g = kube::member(c, "observedGeneration");
    if (!g || !g->IsInt64()) return std::nullopt;
    r.generation = g->GetInt64();
    return r;
  }
  return std::nullopt;
}

std::string_view toString(Verdict v) {
  switch (v) {
    case Verdict::Create: return "Create";
    case Verdict::Wait: return "Wait";
    case Verdict::Approved: return "Approved";
    case Verdict::Denied: return "Denied";
    case Verdict::Expired: return "Expired";
    case Verdict::Rejected: return "Rejected";
  }
  return "Unknown";
}

std::vector<std::string> bindingProblems(const Action& action, const rapidjson::Value& request) {
  std::vector<std::string> problems;
  if (!request.IsObject()) return {"it is not a JSON object"};

  bool controlled = false;
  if (const auto* meta = kube::member(request, "metadata"); meta && meta->IsObject()) {
    if (const auto* refs = kube::member(*meta, "ownerReferences"); refs && refs->IsArray()) {
      for (const auto& r : refs->GetArray()) {
        if (!r.IsObject()) continue;
        const auto* ctl = kube::member(r, "controller");
        if (kube::stringMember(r, "uid") == action.runUID && !action.runUID.empty() &&
            kube::stringMember(r, "kind") == "DiagnosticRun" &&
            kube::stringMember(r, "apiVersion").substr(0, 14) == "opscopilot.io/" && ctl && ctl->IsBool() &&
            ctl->GetBool()) {
          controlled = true;
        }
      }
    }
  }
  if (!controlled) {
    problems.push_back("it is not owned by DiagnosticRun " + action.runName +
                       " (no ownerReference with the run's UID and controller: true)");
  }

  static const rapidjson::Value kEmpty(rapidjson::kObjectType);
  const auto* specp = kube::member(request, "spec");
  const rapidjson::Value& spec = specp && specp->IsObject() ? *specp : kEmpty;
  const auto* runRef = kube::member(spec, "runRef");
  const rapidjson::Value& ref = runRef && runRef->IsObject() ? *runRef : kEmpty;
  if (auto name = kube::stringMember(ref, "name"); name != action.runName) {
    problems.push_back("spec.runRef.name is " + quoted(name) + ", not " + quoted(action.runName));
  }
  if (auto uid = kube::stringMember(ref, "uid"); uid.empty()) {
    problems.push_back("spec.runRef.uid is missing");
  } else if (uid != action.runUID) {
    problems.push_back("spec.runRef.uid " + quoted(uid) + " is not the run's UID " + quoted(action.runUID));
  }
  if (const auto* g = kube::member(spec, "runGeneration"); !g || !g->IsInt64()) {
    problems.push_back("spec.runGeneration is missing");
  } else if (g->GetInt64() != action.generation) {
    problems.push_back("it is for generation " + std::to_string(g->GetInt64()) + " of the run, which is at generation " +
                       std::to_string(action.generation));
  }
  if (const auto* s = kube::member(spec, "stepID"); !s || !s->IsInt() || s->GetInt() != action.stepID) {
    problems.push_back("spec.stepID is " + (s && s->IsInt() ? std::to_string(s->GetInt()) : std::string("missing")) +
                       ", not " + std::to_string(action.stepID));
  }
  const auto* act = kube::member(spec, "action");
  const rapidjson::Value& actv = act && act->IsObject() ? *act : kEmpty;
  if (auto tool = kube::stringMember(actv, "tool"); tool != action.tool) {
    problems.push_back("spec.action.tool is " + quoted(tool) + ", not " + quoted(action.tool));
  } else if (auto args = canonicalArgs(kube::member(actv, "args")); args != agent::canonicalJson(action.argsJson)) {
    problems.push_back("spec.action.args " + args.substr(0, 200) + " differ from the step's arguments " +
                       agent::canonicalJson(action.argsJson).substr(0, 200));
  }
  if (auto digest = kube::stringMember(spec, "actionDigest"); digest.empty()) {
    problems.push_back("spec.actionDigest is missing");
  } else if (digest != actionDigest(action)) {
    problems.push_back("spec.actionDigest does not match the step's action");
  }
  if (!parseRfc3339(kube::stringMember(spec, "expiresAt"))) {
    problems.push_back("spec.expiresAt is missing or not an RFC 3339 time");
  }
  return problems;
}

Decision decide(const Action& action, const std::optional<Record>& record, const rapidjson::Value* request,
                Clock::time_point now) {
  const std::string name = requestName(action.runName, action.generation, action.stepID);
  const bool recorded = record && record->name == name && record->stepID == action.stepID &&
                        record->generation == action.generation && !record->uid.empty();
  auto rejected = [](std::string why) {
    Decision d;
    d.verdict = Verdict::Rejected;
    d.why = std::move(why);
    return d;
  };
  auto join = [](const std::vector<std::string>& v) {
    std::string s;
    for (const auto& p : v) s += (s.empty() ? "" : "; ") + p;
    return s;
  };
  if (!request) {
    if (!recorded) return Decision{Verdict::Create};
    return rejected("ApprovalRequest " + name + " that the controller created (uid " + record->uid +
                    ") was deleted before a decision");
  }
  std::string uid;
  if (const auto* meta = kube::member(*request, "metadata"); meta && meta->IsObject()) {
    uid = std::string(kube::stringMember(*meta, "uid"));
  }
  const auto problems = bindingProblems(action, *request);
  if (!recorded) {
    // Not one the controller created for this step of this generation: it
    // existed before the controller asked (made by someone else, or left
    // from an earlier generation or an earlier run of the same name).
    return rejected("ApprovalRequest " + name +
                    " was not created by the controller for this step: it already existed when the controller "
                    "asked for approval" +
                    (problems.empty() ? std::string() : " (" + join(problems) + ")"));
  }
  if (uid != record->uid) {
    return rejected("ApprovalRequest " + name + " is not the one the controller created: its UID is " +
                    (uid.empty() ? std::string("missing") : uid) + ", the controller created " + record->uid +
                    " (it was deleted and recreated)");
  }
  if (!problems.empty()) {
    return rejected("ApprovalRequest " + name + " does not match the step it would approve: " + join(problems));
  }

  const auto& spec = (*request)["spec"];
  Decision d;
  d.decidedBy = std::string(kube::stringMember(spec, "decidedBy"));
  d.comment = std::string(kube::stringMember(spec, "comment"));
  const auto decision = kube::stringMember(spec, "decision");
  const auto expires = parseRfc3339(kube::stringMember(spec, "expiresAt"));  // valid: checked above
  if (decision == "Approved") {
    d.verdict = Verdict::Approved;
  } else if (decision == "Denied") {
    d.verdict = Verdict::Denied;
  } else if (now >= *expires) {
    d.verdict = Verdict::Expired;
  } else {
    d.verdict = Verdict::Wait;
    d.expiresAt = expires;
  }
  return d;
}

}  // namespace approval
}  // namespace opscopilot::controller
