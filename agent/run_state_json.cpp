#include "agent/run_state_json.h"

#include <algorithm>

namespace opscopilot::agent {

namespace {

using Alloc = rapidjson::Document::AllocatorType;

std::string str(const rapidjson::Value& v, const char* key) {
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsString() ? std::string(it->value.GetString(), it->value.GetStringLength())
                                                     : std::string();
}
std::int64_t num(const rapidjson::Value& v, const char* key) {
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsInt64() ? it->value.GetInt64() : 0;
}
bool flag(const rapidjson::Value& v, const char* key) {
  auto it = v.FindMember(key);
  return it != v.MemberEnd() && it->value.IsBool() && it->value.GetBool();
}
std::vector<std::string> strings(const rapidjson::Value& v, const char* key) {
  std::vector<std::string> out;
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsArray()) return out;
  for (const auto& s : it->value.GetArray()) {
    if (s.IsString()) out.emplace_back(s.GetString(), s.GetStringLength());
  }
  return out;
}
std::string jsonText(const rapidjson::Value& v, const char* key) {
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsObject()) return "{}";
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  it->value.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}
template <class F>
void eachObject(const rapidjson::Value& v, const char* key, F&& f) {
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsArray()) return;
  for (const auto& item : it->value.GetArray()) {
    if (item.IsObject()) f(item);
  }
}

rapidjson::Value s(const std::string& x, Alloc& a) { return rapidjson::Value(x.c_str(), static_cast<rapidjson::SizeType>(x.size()), a); }
rapidjson::Value list(const std::vector<std::string>& xs, Alloc& a, std::size_t max = kMaxCitations) {
  rapidjson::Value arr(rapidjson::kArrayType);
  for (std::size_t i = 0; i < xs.size() && i < max; ++i) arr.PushBack(s(xs[i], a), a);
  return arr;
}
rapidjson::Value object(const std::string& json, Alloc& a) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  rapidjson::Value v(rapidjson::kObjectType);
  if (!d.HasParseError() && d.IsObject()) v.CopyFrom(d, a);
  return v;
}
void set(rapidjson::Value& obj, const char* key, rapidjson::Value value, Alloc& a) {
  if (auto it = obj.FindMember(key); it != obj.MemberEnd()) {
    it->value = std::move(value);
  } else {
    obj.AddMember(rapidjson::Value(key, a), std::move(value), a);
  }
}
void setIf(rapidjson::Value& obj, const char* key, const std::string& value, Alloc& a) {
  if (value.empty()) {
    obj.RemoveMember(key);
  } else {
    set(obj, key, s(value, a), a);
  }
}

}  // namespace

RunState readRunState(const rapidjson::Value& status) {
  RunState st;
  if (!status.IsObject()) return st;
  st.phase = phaseFrom(str(status, "phase"));
  st.reason = str(status, "reason");
  st.message = str(status, "message");
  st.answer = str(status, "answer");
  st.critiques = static_cast<int>(num(status, "critiques"));
  eachObject(status, "steps", [&](const rapidjson::Value& v) {
    Step s;
    s.id = static_cast<int>(num(v, "id"));
    s.node = nodeFrom(str(v, "node"));
    s.tool = str(v, "tool");
    s.argsJson = jsonText(v, "args");
    s.state = stepStateFrom(str(v, "state"));
    s.summary = str(v, "summary");
    s.evidence = strings(v, "evidence");
    s.startedAt = str(v, "startedAt");
    s.durationMs = num(v, "durationMs");
    s.tokens = num(v, "tokens");
    s.error = str(v, "error");
    s.reason = str(v, "reason");
    s.verdict = verdictFrom(str(v, "verdict"));
    s.need = str(v, "need");
    // A status written before steps had a reason and a verdict (operator
    // 0.1 before issue 9) said both in its text only.
    if (s.reason.empty() && s.error.rfind("ModelUnavailable:", 0) == 0) s.reason = "ModelUnavailable";
    if (s.reason.empty() && s.error.rfind("BudgetExceeded:", 0) == 0) s.reason = "BudgetExceeded";
    constexpr std::string_view kNeeds = "needs more evidence: ";
    if (s.node == Node::Critic && s.verdict == Verdict::None && s.summary.rfind(kNeeds, 0) == 0) {
      s.verdict = Verdict::NeedsEvidence;
      s.need = s.summary.substr(kNeeds.size());
    }
    st.steps.push_back(std::move(s));
  });
  eachObject(status, "evidence", [&](const rapidjson::Value& v) {
    EvidenceItem e;
    e.id = str(v, "id");
    e.tool = str(v, "tool");
    e.ref = str(v, "ref");
    e.excerpt = str(v, "excerpt");
    e.truncated = flag(v, "truncated");
    e.redactions = static_cast<int>(num(v, "redactions"));
    e.injectionSuspected = flag(v, "injectionSuspected");
    st.evidence.push_back(std::move(e));
  });
  eachObject(status, "findings", [&](const rapidjson::Value& v) {
    Finding f;
    f.id = str(v, "id");
    f.title = str(v, "title");
    f.severity = severityFrom(str(v, "severity"));
    f.confidence = static_cast<int>(num(v, "confidence"));
    f.evidence = strings(v, "evidence");
    f.remediation = str(v, "remediation");
    f.analyzer = str(v, "analyzer");
    f.subject = str(v, "subject");
    st.findings.push_back(std::move(f));
  });
  eachObject(status, "plan", [&](const rapidjson::Value& v) {
    st.plan.push_back(PlannedCall{str(v, "tool"), jsonText(v, "args"), str(v, "reason")});
  });
  if (auto u = status.FindMember("usage"); u != status.MemberEnd() && u->value.IsObject()) {
    const auto& v = u->value;
    st.usage.llmCalls = num(v, "llmCalls");
    st.usage.llmCallsStarted = num(v, "llmCallsStarted");
    st.usage.promptTokens = num(v, "promptTokens");
    st.usage.completionTokens = num(v, "completionTokens");
    st.usage.costUSD = str(v, "costUSD").empty() ? "0" : str(v, "costUSD");
    st.usage.toolCalls = num(v, "toolCalls");
    st.usage.durationMs = num(v, "durationMs");
    st.usage.apiRequests = num(v, "apiRequests");
  }
  return st;
}

void writeRunState(const RunState& st, rapidjson::Value& status, Alloc& a) {
  if (!status.IsObject()) status.SetObject();
  setIf(status, "phase", std::string(toString(st.phase)), a);
  setIf(status, "reason", st.reason, a);
  setIf(status, "message", st.message, a);
  setIf(status, "answer", st.answer, a);
  set(status, "critiques", rapidjson::Value(st.critiques), a);
  set(status, "stepCount", rapidjson::Value(static_cast<int>(st.steps.size())), a);

  rapidjson::Value steps(rapidjson::kArrayType);
  for (std::size_t i = st.steps.size() > kMaxStatusSteps ? st.steps.size() - kMaxStatusSteps : 0; i < st.steps.size(); ++i) {
    const auto& x = st.steps[i];  // the newest steps, should a run ever take more
    rapidjson::Value v(rapidjson::kObjectType);
    v.AddMember("id", x.id, a);
    v.AddMember("node", s(std::string(toString(x.node)), a), a);
    if (!x.tool.empty()) {
      v.AddMember("tool", s(x.tool, a), a);
      v.AddMember("args", object(x.argsJson, a), a);
    }
    v.AddMember("state", s(std::string(toString(x.state)), a), a);
    v.AddMember("summary", s(x.summary, a), a);
    if (!x.evidence.empty()) v.AddMember("evidence", list(x.evidence, a), a);
    v.AddMember("startedAt", s(x.startedAt, a), a);
    v.AddMember("durationMs", x.durationMs, a);
    v.AddMember("tokens", x.tokens, a);
    if (!x.error.empty()) v.AddMember("error", s(x.error, a), a);
    if (!x.reason.empty()) v.AddMember("reason", s(x.reason.substr(0, 128), a), a);
    if (x.verdict != Verdict::None) v.AddMember("verdict", s(std::string(toString(x.verdict)), a), a);
    if (!x.need.empty()) v.AddMember("need", s(x.need, a), a);
    steps.PushBack(v, a);
  }
  set(status, "steps", std::move(steps), a);

  // Oldest excerpts go first when all of them together pass the budget.
  std::size_t excerptBytes = 0;
  for (const auto& x : st.evidence) excerptBytes += x.excerpt.size();
  rapidjson::Value evidence(rapidjson::kArrayType);
  for (std::size_t i = 0; i < st.evidence.size() && i < kMaxStatusEvidence; ++i) {
    const auto& x = st.evidence[i];
    rapidjson::Value v(rapidjson::kObjectType);
    v.AddMember("id", s(x.id, a), a);
    v.AddMember("tool", s(x.tool, a), a);
    v.AddMember("ref", s(x.ref, a), a);
    bool dropped = excerptBytes > kStatusExcerptBudget && !x.excerpt.empty() &&
                   x.excerpt.rfind("[excerpt dropped", 0) != 0;
    if (dropped) {
      std::string marker = "[excerpt dropped: the run's status keeps at most " + std::to_string(kStatusExcerptBudget / 1024) +
                           " KiB of excerpts, oldest dropped first; it had " + std::to_string(x.excerpt.size()) + " bytes]";
      excerptBytes = excerptBytes - x.excerpt.size() + marker.size();
      v.AddMember("excerpt", s(marker, a), a);
    } else {
      v.AddMember("excerpt", s(x.excerpt, a), a);
    }
    v.AddMember("truncated", x.truncated || dropped, a);
    v.AddMember("redactions", x.redactions, a);
    if (x.injectionSuspected) v.AddMember("injectionSuspected", true, a);
    evidence.PushBack(v, a);
  }
  set(status, "evidence", std::move(evidence), a);

  rapidjson::Value findings(rapidjson::kArrayType);
  for (std::size_t i = 0; i < st.findings.size() && i < kMaxStatusFindings; ++i) {
    const auto& x = st.findings[i];
    rapidjson::Value v(rapidjson::kObjectType);
    v.AddMember("id", s(x.id, a), a);
    v.AddMember("title", s(x.title, a), a);
    v.AddMember("severity", s(std::string(toString(x.severity)), a), a);
    v.AddMember("confidence", x.confidence, a);
    v.AddMember("evidence", list(x.evidence, a), a);
    if (!x.remediation.empty()) v.AddMember("remediation", s(x.remediation, a), a);
    v.AddMember("analyzer", s(x.analyzer, a), a);
    v.AddMember("subject", s(x.subject, a), a);
    findings.PushBack(v, a);
  }
  set(status, "findings", std::move(findings), a);

  rapidjson::Value plan(rapidjson::kArrayType);
  for (std::size_t i = 0; i < st.plan.size() && i < kMaxStatusPlan; ++i) {
    const auto& x = st.plan[i];
    rapidjson::Value v(rapidjson::kObjectType);
    v.AddMember("tool", s(x.tool, a), a);
    v.AddMember("args", object(x.argsJson, a), a);
    if (!x.reason.empty()) v.AddMember("reason", s(x.reason.substr(0, 128), a), a);
    plan.PushBack(v, a);
  }
  set(status, "plan", std::move(plan), a);

  rapidjson::Value usage(rapidjson::kObjectType);
  usage.AddMember("llmCalls", st.usage.llmCalls, a);
  usage.AddMember("llmCallsStarted", st.usage.llmCallsStarted, a);
  usage.AddMember("promptTokens", st.usage.promptTokens, a);
  usage.AddMember("completionTokens", st.usage.completionTokens, a);
  usage.AddMember("costUSD", s(st.usage.costUSD, a), a);
  usage.AddMember("toolCalls", st.usage.toolCalls, a);
  usage.AddMember("durationMs", st.usage.durationMs, a);
  usage.AddMember("apiRequests", st.usage.apiRequests, a);
  set(status, "usage", std::move(usage), a);
}

}  // namespace opscopilot::agent

namespace opscopilot::agent {

namespace {
void sortMembers(rapidjson::Value& v) {
  if (v.IsObject()) {
    for (auto& m : v.GetObject()) sortMembers(m.value);
    std::sort(v.MemberBegin(), v.MemberEnd(), [](const auto& x, const auto& y) {
      return std::string_view(x.name.GetString(), x.name.GetStringLength()) <
             std::string_view(y.name.GetString(), y.name.GetStringLength());
    });
  } else if (v.IsArray()) {
    for (auto& e : v.GetArray()) sortMembers(e);
  }
}
}  // namespace

std::string canonicalJson(const std::string& json) {
  rapidjson::Document d;
  d.Parse(json.c_str());
  if (d.HasParseError()) return "{}";
  sortMembers(d);
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  d.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace opscopilot::agent
