#include "operator/cli/run_view.h"

#include <rapidjson/document.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <sstream>

namespace opscopilot::cli {

namespace {

using Value = rapidjson::Value;

std::string str(const Value* v) { return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : ""; }

std::string str(const Value& obj, const char* key) {
  if (!obj.IsObject()) return "";
  auto it = obj.FindMember(key);
  return it == obj.MemberEnd() ? "" : str(&it->value);
}

std::int64_t num(const Value& obj, const char* key) {
  if (!obj.IsObject()) return 0;
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) return 0;
  if (it->value.IsInt64()) return it->value.GetInt64();
  if (it->value.IsNumber()) return static_cast<std::int64_t>(it->value.GetDouble());
  return 0;
}

const Value& arr(const kube::Object& o, std::initializer_list<std::string_view> path) {
  static const Value empty(rapidjson::kArrayType);
  const Value* v = o.at(path);
  return v && v->IsArray() ? *v : empty;
}

std::string join(const Value& list, const char* sep = ", ") {
  std::string out;
  if (!list.IsArray()) return out;
  for (const auto& v : list.GetArray()) {
    if (!v.IsString()) continue;
    if (!out.empty()) out += sep;
    out += v.GetString();
  }
  return out;
}

std::string ids(const Value& obj, const char* key) {
  if (!obj.IsObject()) return "";
  auto it = obj.FindMember(key);
  if (it == obj.MemberEnd()) return "";
  auto s = join(it->value);
  return s.empty() ? "" : "[" + s + "]";
}

// Each line of text, indented; at most maxLines (then a marker).
std::string indent(const std::string& text, const std::string& pad, std::size_t maxLines = 1000) {
  std::string out;
  std::istringstream in(text);
  std::string line;
  std::size_t n = 0;
  while (std::getline(in, line)) {
    if (++n > maxLines) {
      out += pad + "...\n";
      break;
    }
    out += pad + line + "\n";
  }
  return out;
}

std::string firstLine(const std::string& text, std::size_t max = 100) {
  std::string line = text.substr(0, text.find('\n'));
  if (line.size() > max) line = line.substr(0, max - 3) + "...";
  return line;
}

std::int64_t parseTime(const std::string& rfc3339) {
  std::tm tm{};
  if (rfc3339.size() < 19 || !strptime(rfc3339.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

// kubectl's short ages: 45s, 12m, 3h, 5d.
std::string age(std::int64_t seconds) {
  if (seconds < 0) seconds = 0;
  if (seconds < 120) return std::to_string(seconds) + "s";
  if (seconds < 2 * 3600) return std::to_string(seconds / 60) + "m";
  if (seconds < 2 * 86400) return std::to_string(seconds / 3600) + "h";
  return std::to_string(seconds / 86400) + "d";
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& r : rows) {
    for (std::size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

std::string target(const kube::Object& run) {
  auto ref = std::string(run.stringAt({"status", "targetRef"}));
  if (!ref.empty()) return ref;
  auto kind = run.stringAt({"spec", "target", "kind"});
  auto name = run.stringAt({"spec", "target", "name"});
  if (kind.empty()) return "the namespace " + std::string(run.ns());
  return std::string(kind) + "/" + (name.empty() ? "(selector)" : std::string(name));
}

std::string stepLine(const Value& s) {
  std::string node = str(s, "node");
  std::string what = node == "tool" ? str(s, "tool") : node;
  std::string line = "[" + std::to_string(num(s, "id")) + "] " + what + "  " + str(s, "state");
  if (auto ms = num(s, "durationMs"); ms > 0) line += "  " + std::to_string(ms) + "ms";
  if (auto summary = str(s, "summary"); !summary.empty()) line += "  " + firstLine(summary, 140);
  if (auto ev = ids(s, "evidence"); !ev.empty()) line += "  " + ev;
  return line;
}

std::string evidenceLine(const Value& e) {
  return str(e, "id") + " " + str(e, "tool") + "  " + str(e, "ref") + ": " + firstLine(str(e, "excerpt"));
}

std::string findingLine(const Value& f) {
  std::string line = str(f, "id") + " " + str(f, "severity");
  if (auto c = num(f, "confidence"); c > 0) line += " (" + std::to_string(c) + "%)";
  line += "  " + str(f, "title");
  if (auto ev = ids(f, "evidence"); !ev.empty()) line += "  " + ev;
  return line;
}

std::string usageLine(const kube::Object& run) {
  const Value* u = run.at({"status", "usage"});
  if (!u || !u->IsObject()) return "";
  std::string cost = str(*u, "costUSD");
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.1fs", static_cast<double>(num(*u, "durationMs")) / 1000.0);
  return "$" + (cost.empty() ? "0" : cost) + ", " + std::to_string(arr(run, {"status", "steps"}).Size()) + " steps, " +
         std::to_string(num(*u, "toolCalls")) + " tool calls, " + std::to_string(num(*u, "llmCalls")) + " model calls, " +
         std::to_string(num(*u, "promptTokens") + num(*u, "completionTokens")) + " tokens, " + secs;
}

std::string phaseLine(const kube::Object& run) {
  std::string phase(run.stringAt({"status", "phase"}));
  if (phase.empty()) phase = "Pending";
  std::string reason(run.stringAt({"status", "reason"}));
  std::string message(run.stringAt({"status", "message"}));
  return phase + (reason.empty() ? "" : " (" + reason + ")") + (message.empty() ? "" : ": " + message);
}

}  // namespace

bool finished(const kube::Object& run) {
  auto phase = run.stringAt({"status", "phase"});
  if (phase != "Succeeded" && phase != "Failed") return false;
  // A finished status for an older spec is not this spec's answer.
  auto observed = run.intAt({"status", "observedGeneration"});
  return !observed || *observed >= run.generation();
}

std::string pendingApproval(const kube::Object& run) {
  for (const auto& c : arr(run, {"status", "conditions"}).GetArray()) {
    if (str(c, "type") != "AwaitingApproval" || str(c, "status") != "True") continue;
    const std::string msg = str(c, "message");
    const std::string marker = "ApprovalRequest ";
    auto at = msg.find(marker);
    if (at == std::string::npos) return "";
    at += marker.size();
    auto end = msg.find_first_of(" ,;", at);
    return msg.substr(at, end == std::string::npos ? std::string::npos : end - at);
  }
  return "";
}

std::string runTable(const std::vector<kube::ObjectPtr>& runs, bool allNamespaces, std::int64_t now) {
  std::vector<std::vector<std::string>> rows;
  std::vector<std::string> head{"NAME", "PHASE", "REASON", "STEPS", "COST", "AGE", "QUESTION"};
  if (allNamespaces) head.insert(head.begin(), "NAMESPACE");
  rows.push_back(head);
  for (const auto& r : runs) {
    std::string phase(r->stringAt({"status", "phase"}));
    std::string cost(r->stringAt({"status", "usage", "costUSD"}));
    std::vector<std::string> row{std::string(r->name()),
                                 phase.empty() ? "Pending" : phase,
                                 std::string(r->stringAt({"status", "reason"})),
                                 std::to_string(arr(*r, {"status", "steps"}).Size()),
                                 "$" + (cost.empty() ? "0" : cost),
                                 age(now - parseTime(std::string(r->stringAt({"metadata", "creationTimestamp"})))),
                                 firstLine(std::string(r->stringAt({"spec", "question"})), 60)};
    if (allNamespaces) row.insert(row.begin(), std::string(r->ns()));
    rows.push_back(row);
  }
  return rows.size() == 1 ? "No DiagnosticRuns found.\n" : table(rows);
}

std::string runTree(const kube::Object& run, const std::vector<kube::ObjectPtr>& approvals, bool full) {
  std::string out;
  out += "Name:       " + std::string(run.name()) + "\n";
  out += "Namespace:  " + std::string(run.ns()) + "\n";
  out += "Question:   " + std::string(run.stringAt({"spec", "question"})) + "\n";
  out += "Target:     " + target(run) + "\n";
  auto model = run.stringAt({"spec", "model"});
  out += "Model:      " + (model.empty() ? std::string("(the operator's default)") : std::string(model)) + "\n";
  if (auto who = run.stringAt({"spec", "requester", "username"}); !who.empty()) out += "Requester:  " + std::string(who) + "\n";
  if (auto prev = run.stringAt({"spec", "previousRun"}); !prev.empty()) out += "Follows:    " + std::string(prev) + "\n";
  out += "Status:     " + phaseLine(run) + "\n";
  if (auto u = usageLine(run); !u.empty()) out += "Usage:      " + u + "\n";
  if (auto trace = run.stringAt({"status", "traceID"}); !trace.empty()) out += "Trace:      " + std::string(trace) + "\n";
  if (auto apr = pendingApproval(run); !apr.empty()) {
    out += "Waiting:    for ApprovalRequest " + apr + ": kubectl opscopilot approve " + apr + " -n " +
           std::string(run.ns()) + "  (or deny)\n";
  }

  const auto& steps = arr(run, {"status", "steps"});
  if (!steps.Empty()) {
    out += "Steps:\n";
    for (const auto& s : steps.GetArray()) {
      out += "  " + stepLine(s) + "\n";
      if (auto err = str(s, "error"); full && !err.empty() && err != str(s, "summary")) out += "      error: " + err + "\n";
    }
  }
  const auto& evidence = arr(run, {"status", "evidence"});
  if (!evidence.Empty()) {
    out += "Evidence:\n";
    for (const auto& e : evidence.GetArray()) {
      if (!full) {
        out += "  " + evidenceLine(e) + "\n";
        continue;
      }
      out += "  " + str(e, "id") + " " + str(e, "tool") + "  " + str(e, "ref");
      if (e.IsObject() && e.HasMember("truncated") && e["truncated"].IsBool() && e["truncated"].GetBool()) out += "  (truncated)";
      if (auto n = num(e, "redactions"); n > 0) out += "  (" + std::to_string(n) + " redacted)";
      out += "\n" + indent(str(e, "excerpt"), "      ", 12);
    }
  }
  const auto& findings = arr(run, {"status", "findings"});
  if (!findings.Empty()) {
    out += "Findings:\n";
    for (const auto& f : findings.GetArray()) {
      out += "  " + findingLine(f) + "\n";
      if (auto fix = str(f, "remediation"); !fix.empty()) out += indent("Remediation: " + fix, "      ");
    }
  }
  if (auto answer = std::string(run.stringAt({"status", "answer"})); !answer.empty()) {
    out += "Answer:\n" + indent(answer, "  ");
  }
  if (full) {
    const auto& conditions = arr(run, {"status", "conditions"});
    if (!conditions.Empty()) {
      out += "Conditions:\n";
      for (const auto& c : conditions.GetArray()) {
        out += "  " + str(c, "type") + "=" + str(c, "status") + "  " + str(c, "reason") + "  " + str(c, "message") + "\n";
      }
    }
    if (!approvals.empty()) {
      out += "ApprovalRequests:\n";
      for (const auto& a : approvals) {
        std::string phase(a->stringAt({"status", "phase"}));
        out += "  " + std::string(a->name()) + "  step " + std::to_string(a->intAt({"spec", "stepID"}).value_or(0)) + "  " +
               std::string(a->stringAt({"spec", "action", "tool"})) + "  " + (phase.empty() ? "Pending" : phase);
        if (auto by = a->stringAt({"spec", "decidedBy"}); !by.empty()) out += " by " + std::string(by);
        if (auto risk = a->stringAt({"spec", "risk"}); !risk.empty()) out += "  risk " + std::string(risk);
        out += "\n";
        if (auto reason = a->stringAt({"spec", "reason"}); !reason.empty()) out += "      why: " + firstLine(std::string(reason), 140) + "\n";
      }
    }
  }
  return out;
}

std::string eventTable(const std::vector<kube::ObjectPtr>& events, std::int64_t now) {
  struct Row {
    std::int64_t at;
    std::vector<std::string> cells;
  };
  std::vector<Row> rows;
  for (const auto& e : events) {
    std::string last(e->stringAt({"lastTimestamp"}));
    if (last.empty()) last = std::string(e->stringAt({"eventTime"}));
    if (last.empty()) last = std::string(e->stringAt({"metadata", "creationTimestamp"}));
    const std::int64_t at = parseTime(last);
    std::string count;
    if (auto n = e->intAt({"count"}); n && *n > 1) count = " (x" + std::to_string(*n) + ")";
    rows.push_back({at, {age(now - at), std::string(e->stringAt({"type"})), std::string(e->stringAt({"reason"})),
                         std::string(e->stringAt({"message"})) + count}});
  }
  if (rows.empty()) return "No Events found.\n";
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.at < b.at; });
  std::vector<std::vector<std::string>> cells{{"LAST SEEN", "TYPE", "REASON", "MESSAGE"}};
  for (auto& r : rows) cells.push_back(std::move(r.cells));
  return table(cells);
}

std::string RunFollower::update(const kube::Object& run) {
  std::string out;
  std::map<std::string, const Value*> evidenceById;
  for (const auto& e : arr(run, {"status", "evidence"}).GetArray()) evidenceById[str(e, "id")] = &e;
  auto printEvidence = [&](const std::string& id) {
    auto it = evidenceById.find(id);
    if (it != evidenceById.end() && evidence_.insert(id).second) out += "      " + evidenceLine(*it->second) + "\n";
  };
  for (const auto& s : arr(run, {"status", "steps"}).GetArray()) {
    const std::string state = str(s, "state");
    if (state == "Pending" || state == "Running") continue;  // printed once it has an outcome
    auto& printed = steps_[num(s, "id")];
    if (printed == state) continue;
    printed = state;
    out += "  " + stepLine(s) + "\n";
    // The evidence the step gathered, under it.
    if (s.IsObject() && s.HasMember("evidence") && s["evidence"].IsArray()) {
      for (const auto& id : s["evidence"].GetArray()) {
        if (id.IsString()) printEvidence(id.GetString());
      }
    }
  }
  for (const auto& e : arr(run, {"status", "evidence"}).GetArray()) printEvidence(str(e, "id"));
  for (const auto& f : arr(run, {"status", "findings"}).GetArray()) {
    if (findings_.insert(str(f, "id")).second) out += "  finding " + findingLine(f) + "\n";
  }
  if (auto apr = pendingApproval(run); !apr.empty() && apr != awaiting_) {
    awaiting_ = apr;
    out += "  waiting for ApprovalRequest " + apr + ": kubectl opscopilot approve " + apr + " -n " + std::string(run.ns()) +
           "  (or deny)\n";
  }
  if (!done_ && finished(run)) {
    done_ = true;
    succeeded_ = run.stringAt({"status", "phase"}) == "Succeeded";
    out += phaseLine(run) + "\n";
    if (auto answer = std::string(run.stringAt({"status", "answer"})); !answer.empty()) out += "\n" + answer + "\n";
    if (auto u = usageLine(run); !u.empty()) out += "\n" + u + "\n";
  }
  return out;
}

}  // namespace opscopilot::cli
