// Log analyzer (get_pod_logs): picks the most telling lines of a log tail and
// attaches them to the crash finding of that container. Log text is data: it
// is matched against known failure patterns and quoted (shortened), never
// interpreted as instructions.
#include <algorithm>
#include <cctype>

#include <rapidjson/document.h>

#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "pod-logs";
constexpr std::size_t kQuoteMax = 100;
constexpr std::size_t kMaxLines = 2000;
constexpr int kClearError = 6;

struct LogLine {
  std::size_t index = 0;
  std::string text;  // the message part, printable
  int score = 0;
};

bool looksLikeTimestamp(std::string_view token) {
  return token.size() >= 10 && std::isdigit(static_cast<unsigned char>(token[0])) && token[4] == '-' && token[7] == '-';
}

// Drops the CRI prefix ("<ts> stderr F ") or a leading timestamp.
std::string_view stripPrefix(std::string_view line) {
  auto sp = line.find(' ');
  if (sp == std::string_view::npos || !looksLikeTimestamp(line.substr(0, sp))) return line;
  std::string_view rest = line.substr(sp + 1);
  for (std::string_view stream : {"stdout ", "stderr "}) {
    if (rest.starts_with(stream) && rest.size() >= 9 && (rest[7] == 'F' || rest[7] == 'P') && rest[8] == ' ') {
      return rest.substr(9);
    }
  }
  return rest;
}

// The value of key="..." or key=word in a logfmt line; "" when absent.
std::string logfmtValue(std::string_view line, std::string_view key) {
  std::size_t pos = 0;
  while ((pos = line.find(key, pos)) != std::string_view::npos) {
    bool boundary = pos == 0 || line[pos - 1] == ' ';
    std::size_t v = pos + key.size();
    if (!boundary || v >= line.size() || line[v] != '=') {
      pos = v;
      continue;
    }
    ++v;
    if (v < line.size() && line[v] == '"') {
      std::string out;
      for (std::size_t i = v + 1; i < line.size(); ++i) {
        if (line[i] == '\\' && i + 1 < line.size()) {
          out += line[++i];
        } else if (line[i] == '"') {
          return out;
        } else {
          out += line[i];
        }
      }
      return out;
    }
    auto end = line.find(' ', v);
    return std::string(line.substr(v, end == std::string_view::npos ? std::string_view::npos : end - v));
  }
  return {};
}

// Level and message of a structured (JSON or logfmt) line; the line itself
// otherwise.
std::pair<std::string, std::string> levelAndMessage(std::string_view line) {
  if (line.starts_with("{")) {
    rapidjson::Document doc;
    doc.Parse(line.data(), line.size());
    if (!doc.HasParseError() && doc.IsObject()) {
      std::string level;
      for (const char* k : {"level", "severity", "lvl", "log.level"}) {
        if (level.empty()) level = str(field(&doc, k));
      }
      std::string msg;
      for (const char* k : {"msg", "message", "event"}) {
        if (msg.empty()) msg = str(field(&doc, k));
      }
      std::string err;
      for (const char* k : {"error", "err", "exception"}) {
        if (err.empty()) err = str(field(&doc, k));
      }
      if (!err.empty()) msg = msg.empty() ? err : msg + ": " + err;
      if (!msg.empty()) return {toLower(level), msg};
    }
  }
  std::string msg = logfmtValue(line, "msg");
  if (!msg.empty()) {
    std::string err = logfmtValue(line, "error");
    if (err.empty()) err = logfmtValue(line, "err");
    return {toLower(logfmtValue(line, "level")), err.empty() ? msg : msg + ": " + err};
  }
  return {"", std::string(line)};
}

// Text addressed to an AI rather than written by the app is never quoted
// into a finding: it would carry the injection into the run's answer.
bool looksLikeInstructions(std::string_view msg) {
  return containsAnyNoCase(msg, {"ignore previous", "ignore all previous", "ignore the above", "disregard previous",
                                 "disregard all", "system prompt", "new instructions", "you are an ai", "as an ai model"});
}

int scoreOf(const std::string& level, const std::string& msg) {
  if (msg.empty() || msg.front() == ' ' || msg.front() == '\t') return 0;  // stack frames
  // Nothing to quote: punctuation left over from a broken line.
  if (std::none_of(msg.begin(), msg.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); })) return 0;
  if (looksLikeInstructions(msg)) return 0;
  int score = 0;
  if (level == "fatal" || level == "panic" || level == "critical" || level == "crit" || level == "emerg") score += 10;
  if (level == "error" || level == "err") score += 6;
  if (level == "warn" || level == "warning") score += 2;
  struct Pattern {
    std::string_view text;
    int weight;
  };
  static const Pattern kPatterns[] = {
      {"panic:", 9},          {"fatal", 8},
      {"flag provided but not defined", 8}, {"unknown flag", 8},
      {"unknown option", 7},  {"unrecognized option", 7},
      {"out of memory", 9},   {"outofmemory", 9},
      {"segmentation fault", 8}, {"address already in use", 8},
      {"not set", 9},         {"must be set", 9},
      {"is required", 7},     {"missing required", 8},
      {"connection refused", 7}, {"no such host", 7},
      {"permission denied", 7}, {"no such file or directory", 6},
      {"exception", 6},       {"error", 5},
      {"timed out", 4},       {"timeout", 3},
      {"failed", 3},          {"cannot", 3},
      {"unable to", 3},       {"traceback", 2},
  };
  for (const auto& p : kPatterns) {
    if (containsNoCase(msg, p.text)) score += p.weight;
  }
  // Python's last traceback line: "KeyError: 'DATABASE_URL'".
  auto colon = msg.find(": ");
  if (colon != std::string::npos && colon < 60) {
    std::string_view head(msg.data(), colon);
    if ((head.ends_with("Error") || head.ends_with("Exception")) && head.find(' ') == std::string_view::npos) score += 8;
  }
  return score;
}

std::vector<LogLine> tellingLines(std::string_view text) {
  std::vector<LogLine> scored;
  std::size_t index = 0;
  std::size_t start = 0;
  while (start <= text.size() && index < kMaxLines) {
    auto end = text.find('\n', start);
    std::string_view raw = text.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    start = end == std::string_view::npos ? text.size() + 1 : end + 1;
    while (!raw.empty() && (raw.back() == '\r' || raw.back() == ' ')) raw.remove_suffix(1);
    if (raw.empty()) continue;
    auto [level, msg] = levelAndMessage(stripPrefix(raw));
    int score = scoreOf(level, msg);
    if (score > 0) scored.push_back({index, oneLine(msg), score});
    ++index;
  }
  // Best two; on a tie the later line, nearer the crash, wins.
  std::stable_sort(scored.begin(), scored.end(), [](const LogLine& a, const LogLine& b) {
    return a.score != b.score ? a.score > b.score : a.index > b.index;
  });
  if (scored.size() > 2) scored.resize(2);
  if (scored.size() == 2 && scored[0].text == scored[1].text) scored.resize(1);
  std::sort(scored.begin(), scored.end(), [](const LogLine& a, const LogLine& b) { return a.index < b.index; });
  return scored;
}

// The last line worth quoting (printable, not a stack frame, not addressed
// to an AI), for a failed container whose log names no error.
std::vector<LogLine> lastLine(std::string_view text) {
  std::vector<LogLine> out;
  std::size_t end = text.size();
  for (std::size_t seen = 0; end > 0 && seen < kMaxLines; ++seen) {
    auto nl = text.rfind('\n', end - 1);
    std::size_t start = nl == std::string_view::npos ? 0 : nl + 1;
    std::string_view raw = text.substr(start, end - start);
    end = nl == std::string_view::npos ? 0 : nl;
    while (!raw.empty() && (raw.back() == '\r' || raw.back() == ' ')) raw.remove_suffix(1);
    if (raw.empty()) continue;
    auto [level, msg] = levelAndMessage(stripPrefix(raw));
    if (msg.empty() || msg.front() == ' ' || msg.front() == '\t' || looksLikeInstructions(msg) ||
        std::none_of(msg.begin(), msg.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)); })) {
      continue;
    }
    out.push_back({0, oneLine(msg), 1});
    break;
  }
  return out;
}

bool isEnvName(std::string_view t) {
  if (t.size() < 3 || !std::isupper(static_cast<unsigned char>(t[0]))) return false;
  static const std::string_view kWords[] = {"ERROR", "FATAL", "WARN", "INFO", "DEBUG", "PANIC", "KEY", "THE", "NOT", "SET"};
  for (auto w : kWords) {
    if (t == w) return false;
  }
  bool underscore = false;
  for (char c : t) {
    if (c == '_') underscore = true;
    if (!(std::isupper(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  return underscore || t.size() >= 4;
}

// The environment variable a "missing config" line names, or "".
std::string missingEnvVar(std::string_view line) {
  if (!containsAnyNoCase(line, {"not set", "is empty", "must be set", "is required", "missing", "undefined", "keyerror",
                                "environment variable", "env var"})) {
    return {};
  }
  std::string token;
  for (std::size_t i = 0; i <= line.size(); ++i) {
    char c = i < line.size() ? line[i] : ' ';
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
      token += c;
      continue;
    }
    if (isEnvName(token)) return token;
    token.clear();
  }
  return {};
}

bool isServiceName(std::string_view host) {
  if (host.empty() || host.size() > 63 || !std::islower(static_cast<unsigned char>(host[0]))) return false;
  return std::all_of(host.begin(), host.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) || c == '-';
  });
}

struct Diagnosis {
  std::string remediation;
  std::string service;  // a dependency Service worth checking
};

Diagnosis diagnose(const std::vector<LogLine>& lines, const std::string& container) {
  Diagnosis d;
  for (const auto& l : lines) {
    const std::string& t = l.text;
    if (std::string var = missingEnvVar(t); !var.empty()) {
      d.remediation = "Set " + var + " for container " + container +
                      " in the workload's pod template: plain config with `kubectl set env deployment/<name> " + var +
                      "=<value>`, credentials from a Secret with `env: [{name: " + var +
                      ", valueFrom: {secretKeyRef: {name: <secret>, key: " + var + "}}}]`; the pod restarts with it.";
      return d;
    }
  }
  // Latest first: the last error before the exit is usually the cause.
  for (auto it = lines.rbegin(); it != lines.rend(); ++it) {
    const std::string& t = it->text;
    if (containsAnyNoCase(t, {"connection refused", "no such host", "i/o timeout"})) {
      std::string addr = between(t, "dial tcp ", ": ");
      std::string host = between(t, "lookup ", " ");
      if (host.empty()) host = addr.substr(0, addr.rfind(':'));
      std::string first = host.substr(0, host.find('.'));
      if (isServiceName(first) && (host.find('.') == std::string::npos || host.find(".svc") != std::string::npos)) {
        d.service = first;
      }
      std::string target = addr.empty() ? (host.empty() ? std::string("a dependency") : host) : addr;
      d.remediation = "The app cannot reach " + target +
                      ": check that the dependency's Service exists and has ready endpoints (`kubectl get endpoints" +
                      (d.service.empty() ? std::string(" <service>") : " " + d.service) +
                      "`), the host/port in the app's config, and NetworkPolicies; prefer retrying over exiting at start-up.";
      return d;
    }
    if (containsNoCase(t, "address already in use")) {
      d.remediation = "Two processes bind the same port: check command/args, sidecars and hostNetwork/hostPort for a clash.";
      return d;
    }
    if (containsNoCase(t, "permission denied")) {
      d.remediation = "Access is denied to a file or port: check securityContext (runAsUser, fsGroup for volume ownership, "
                      "readOnlyRootFilesystem) and, for ports below 1024, NET_BIND_SERVICE or a higher port.";
      return d;
    }
    if (containsAnyNoCase(t, {"out of memory", "outofmemory"})) {
      d.remediation = "The process runs out of memory: raise resources.limits.memory and size the heap below it "
                      "(JVM -Xmx / -XX:MaxRAMPercentage, Node --max-old-space-size), or fix the leak.";
      return d;
    }
    if (containsNoCase(t, "no such file or directory")) {
      d.remediation = "A file the app needs is missing: check the volumeMounts (ConfigMap/Secret keys mounted at the path it "
                      "reads) and the image contents.";
      return d;
    }
    if (containsNoCase(t, "panic:") || containsNoCase(t, "segmentation fault") || containsNoCase(t, "nil pointer")) {
      d.remediation = "A code bug crashes the process: roll back to the last good version (`kubectl rollout undo "
                      "deployment/<name>`) and fix it.";
      return d;
    }
  }
  return d;
}

std::string quoteLines(const std::vector<LogLine>& lines) {
  std::vector<std::string> quoted;
  for (const auto& l : lines) quoted.push_back("\"" + shorten(l.text, kQuoteMax) + "\"");
  return join(quoted, " / ");
}

class LogAnalyzer : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override {
    if (step.tool != "get_pod_logs" || !step.ok) return;
    std::string pod = strAt(step.data, {"pod"});
    if (pod.empty()) pod = strAt(step.args, {"pod"});
    std::string container = strAt(step.data, {"container"});
    if (container.empty()) container = strAt(step.args, {"container"});
    bool previous = boolAt(step.data, {"previous"}, boolAt(step.args, {"previous"}));
    std::string text = strAt(step.data, {"text"});
    if (pod.empty() || text.empty()) return;

    std::vector<LogLine> lines = tellingLines(text);
    std::string id = container.empty() ? std::string() : findingWithSubject(sink, "Pod/" + pod + "/" + container, kName);
    if (id.empty() && container.empty()) id = findingMatching(sink, "Pod/" + pod + "/", "", kName);
    if (id.empty()) id = findingWithSubject(sink, "Pod/" + pod, kName);
    if (lines.empty() && !id.empty()) {
      // No line says error, but the container exited and failed: its last
      // words ("initdb: directory ... exists but is not empty") are why. (Not
      // for a running container: its last line is only its latest.)
      const agent::Finding* f = findingById(sink, id);
      const bool exited = boolAt(step.args, {"previous"}) || (f != nullptr && f->title.find(" exit") != std::string::npos);
      if (exited && f != nullptr && f->severity >= Severity::Medium) lines = lastLine(text);
    }
    if (lines.empty()) return;
    int best = 0;
    for (const auto& l : lines) best = std::max(best, l.score);
    std::string base = "Pod/" + pod + (container.empty() ? "" : " container " + container);
    auto evidence = cite(step, {base + (previous ? " (previous)" : ""), base, "Pod/" + pod});
    Diagnosis d = diagnose(lines, container.empty() ? "<container>" : container);
    std::string quote = quoteLines(lines);

    if (!id.empty()) {
      const agent::Finding* f = findingById(sink, id);
      std::string detail = f != nullptr && f->title.find("log says") != std::string::npos ? "" : ": log says " + quote;
      sink.enrichFinding(id, evidence, detail, d.remediation.empty() ? 80 : 90, d.remediation);
    } else if (best >= kClearError) {
      agent::FindingDraft draft;
      draft.subject = "Pod/" + pod + (container.empty() ? "" : "/" + container);
      std::string who = container.empty() ? "pod " + pod : "container " + container + " in pod " + pod;
      draft.title = (previous ? "The previous run of " + who + " logged errors: " : "Logs of " + who + " show errors: ") + quote;
      draft.severity = Severity::Medium;
      draft.confidence = d.remediation.empty() ? 55 : 65;
      draft.evidence = evidence;
      draft.remediation = d.remediation.empty() ? "Fix what the log reports; if it is transient, make the app retry instead of "
                                                  "failing."
                                                : d.remediation;
      sink.addFinding(kName, std::move(draft));
    } else {
      return;
    }
    if (!d.service.empty()) {
      sink.suggest(plannedCall("get_service", CallArgs().str("name", d.service),
                               "the log shows " + pod + " cannot reach " + d.service));
    }
  }
};

}  // namespace

std::unique_ptr<agent::Analyzer> makeLogAnalyzer() { return std::make_unique<LogAnalyzer>(); }

}  // namespace opscopilot::tools
