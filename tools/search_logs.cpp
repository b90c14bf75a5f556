// search_logs: a bounded pattern search over the logs of a workload's pods,
// the current instance of each container and the previous one of those that
// restarted. It answers "how often, in which pods, since when": counts per
// pod and container, and the first matching lines.
//
// Lines are redacted before they are matched, so a pattern can never probe a
// secret's value through the counts ("password=a.*" matches nothing: the line
// reads "password=[REDACTED]").
#include <re2/re2.h>

#include <algorithm>
#include <map>

#include "agent/redaction.h"
#include "tools/kube_tool.h"
#include "tools/pod_status.h"
#include "tools/render.h"
#include "tools/selector.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

constexpr std::int64_t kDefaultTailLines = 1000;
constexpr std::int64_t kMaxTailLines = 5000;
constexpr std::int64_t kDefaultMaxPods = 10;
constexpr std::int64_t kMaxPods = 20;
constexpr std::size_t kFirstLinesPerLog = 5;
constexpr std::size_t kMaxLineBytes = 300;
constexpr std::size_t kMaxPatternBytes = 256;

// One log searched: a container's current or previous instance.
struct LogSearch {
  std::string pod, container;
  bool previous = false;
  std::int64_t lines = 0, matches = 0;
  std::vector<std::string> firstMatches;
  std::string error;  // why it could not be read ("" when it was)

  std::string ref() const {
    return "Pod/" + pod + " container " + container + (previous ? " (previous)" : "");
  }
};

// Whether the container ever ran: a waiting container that never started has
// no log, and asking for it only yields a 400.
bool everRan(const rapidjson::Value& pod, const std::string& container) {
  for (auto key : {"initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"}) {
    const auto* list = valueAt(pod, {"status", key});
    if (!list || !list->IsArray()) continue;
    for (const auto& cs : list->GetArray()) {
      if (kube::stringMember(cs, "name") != container) continue;
      return valueAt(cs, {"state", "running"}) || valueAt(cs, {"state", "terminated"}) ||
             valueAt(cs, {"lastState", "terminated"});
    }
  }
  return false;
}

// Counts the lines of text that match, keeping the first few (shortened).
// The text is redacted whole first (a private key block spans lines).
void searchText(const std::string& raw, const re2::RE2& re, LogSearch& s) {
  auto text = agent::redactSecrets(raw).text;
  std::string_view rest = text;
  while (!rest.empty()) {
    auto nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++s.lines;
    if (!re2::RE2::PartialMatch(line, re)) continue;
    ++s.matches;
    if (s.firstMatches.size() < kFirstLinesPerLog) {
      s.firstMatches.push_back(agent::truncateText(line, kMaxLineBytes, false).text);
    }
  }
}

std::string plural(std::int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

class SearchLogsTool : public KubeTool {
 public:
  SearchLogsTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings, specFor(settings)) {}

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) override {
    auto pattern = stringArg(args, "pattern");
    if (!pattern || pattern->empty() || pattern->size() > kMaxPatternBytes) {
      return invalidArgs("\"pattern\" must be a regular expression (RE2 syntax) of 1 to 256 bytes");
    }
    re2::RE2::Options options;
    options.set_log_errors(false);
    options.set_case_sensitive(boolArg(args, "caseSensitive", false));
    options.set_max_mem(1 << 20);
    re2::RE2 re(*pattern, options);
    if (!re.ok()) return invalidArgs("\"pattern\" is not a valid regular expression: " + re.error());

    std::string kindName = stringArg(args, "kind").value_or("");
    std::string name;
    if (auto bad = checkOptionalName(args, &name)) return *bad;
    if (kindName.empty() != name.empty()) return invalidArgs("\"kind\" and \"name\" go together");
    std::string selector = stringArg(args, "selector").value_or("");
    if (!kindName.empty() && !selector.empty()) return invalidArgs("give either \"kind\" and \"name\" or \"selector\"");
    std::string container;
    if (args.HasMember("container")) {
      auto c = stringArg(args, "container");
      if (!c || !isLabelName(*c)) return invalidArgs("\"container\" must be a container name");
      container = *c;
    }
    const bool previous = boolArg(args, "previous", true);
    const auto tail = std::clamp(intArg(args, "tailLines").value_or(kDefaultTailLines), std::int64_t{1}, kMaxTailLines);
    const auto maxPods = std::clamp(intArg(args, "maxPods").value_or(kDefaultMaxPods), std::int64_t{1}, kMaxPods);

    auto data = newData();
    auto& a = data->GetAllocator();
    setMember(*data, "pattern", jsonString(*pattern, a));
    setMember(*data, "logs", rapidjson::Value(rapidjson::kArrayType));

    // The pods to search: one pod, a workload's, a selector's, or the namespace's.
    std::vector<kube::ObjectPtr> pods;
    std::string scope;
    bool morePods = false;
    if (kindName == "Pod") {
      auto p = call.get(kinds::kPod, name);
      if (!p.ok()) return call.failed(p.error(), "get", kinds::kPod, name, data);
      pods.push_back(std::move(*p));
      scope = "Pod " + name;
    } else {
      kube::ListOptions opts;
      opts.labelSelector = selector;
      scope = selector.empty() ? "namespace " + call.ns() : "pods matching " + selector;
      if (!kindName.empty()) {
        const ApiKind* workload = kinds::workloadKind(kindName);
        if (!workload || workload == &kinds::kCronJob) {
          return invalidArgs("\"kind\" must be one of Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job");
        }
        auto w = call.get(*workload, name);
        if (!w.ok()) return call.failed(w.error(), "get", *workload, name, data);
        const auto* sel = (*w)->at({"spec", "selector"});
        opts.labelSelector = sel ? selectorToString(*sel) : "";
        if (opts.labelSelector.empty()) {
          agent::ToolOutput out;
          out.summary = kindName + " " + name + " has no pod selector: no pods to search";
          out.evidence.push_back({kindName + "/" + name, out.summary});
          out.data = std::move(data);
          return out;
        }
        scope = kindName + " " + name;
      }
      auto listed = call.list(kinds::kPod, opts, 1000);
      if (!listed.ok()) return call.failed(listed.error(), "list", kinds::kPod, {}, data);
      pods = std::move(listed->items);
      morePods = listed->truncated;
    }
    sortUnhealthyFirst(pods);
    const std::size_t totalPods = pods.size();
    if (pods.size() > static_cast<std::size_t>(maxPods)) pods.resize(static_cast<std::size_t>(maxPods));

    std::vector<LogSearch> searched;
    for (const auto& p : pods) {
      const auto& pod = p->json();
      std::string podName(p->name());
      auto names = containerNames(pod);
      if (!container.empty()) {
        if (std::find(names.begin(), names.end(), container) == names.end()) continue;
        names = {container};
      }
      for (const auto& c : names) {
        if (!everRan(pod, c)) continue;
        for (bool prev : {false, true}) {
          if (prev && (!previous || restartsOf(pod, c) == 0)) continue;
          LogSearch s{podName, c, prev};
          kube::LogOptions log;
          log.container = c;
          log.previous = prev;
          log.tailLines = tail;
          log.limitBytes = settings().maxLogBytes;
          auto text = call.podLogs(podName, log);
          if (!text.ok()) {
            s.error = call.describeFailure(text.error(), "get", kinds::kPod, podName, "log");
          } else if (isKubeletLogPlaceholder(*text)) {
            s.error = "the container runtime no longer has that instance";
          } else {
            searchText(*text, re, s);
          }
          searched.push_back(std::move(s));
        }
      }
    }

    agent::ToolOutput out;
    std::int64_t matches = 0, lines = 0;
    std::map<std::string, std::int64_t> perPod;
    std::size_t unreadable = 0;
    for (const auto& s : searched) {
      matches += s.matches;
      lines += s.lines;
      if (s.matches > 0) perPod[s.pod] += s.matches;
      if (!s.error.empty()) ++unreadable;
      rapidjson::Value item(rapidjson::kObjectType);
      item.AddMember("pod", jsonString(s.pod, a), a);
      item.AddMember("container", jsonString(s.container, a), a);
      item.AddMember("previous", s.previous, a);
      item.AddMember("lines", s.lines, a);
      item.AddMember("matches", s.matches, a);
      rapidjson::Value first(rapidjson::kArrayType);
      for (const auto& l : s.firstMatches) first.PushBack(jsonString(l, a), a);
      item.AddMember("firstMatches", first, a);
      if (!s.error.empty()) item.AddMember("error", jsonString(s.error, a), a);
      (*data)["logs"].PushBack(item, a);
    }
    setMember(*data, "matches", rapidjson::Value(matches));
    setMember(*data, "podsSearched", rapidjson::Value(static_cast<std::int64_t>(pods.size())));
    setMember(*data, "podsMatched", rapidjson::Value(static_cast<std::int64_t>(perPod.size())));

    // Evidence: each log with matches (most matches first), then one line for
    // what was searched without a match and what could not be read.
    std::vector<const LogSearch*> hits;
    for (const auto& s : searched) {
      if (s.matches > 0) hits.push_back(&s);
    }
    std::stable_sort(hits.begin(), hits.end(), [](auto* x, auto* y) { return x->matches > y->matches; });
    const std::string shown = "/" + *pattern + "/";
    for (const auto* s : hits) {
      if (out.evidence.size() + 1 >= kMaxEvidence) break;
      std::string text = plural(s->matches, "line", "lines") + " of the last " + std::to_string(s->lines) +
                         " match " + shown + "; the first:";
      for (const auto& l : s->firstMatches) text += "\n" + l;
      out.evidence.push_back({s->ref(), text});
    }
    std::string rest;
    for (const auto& s : searched) {
      if (s.matches > 0) continue;
      if (!rest.empty()) rest += "\n";
      rest += s.ref() + (s.error.empty() ? ": no match in " + plural(s.lines, "line", "lines") : ": not read: " + s.error);
    }
    if (searched.empty()) {
      rest = totalPods == 0 ? "no pods to search in " + scope
                            : "no container of the " + plural(static_cast<std::int64_t>(pods.size()), "pod", "pods") +
                                  " has run yet" + (container.empty() ? "" : " (container " + container + ")");
    }
    if (!rest.empty()) out.evidence.push_back({hits.empty() && kindName == "Pod" ? "Pod/" + name : "search " + shown, rest});

    out.summary = plural(matches, "line", "lines") + " of " + std::to_string(lines) + " match " + shown + " in " +
                  std::to_string(perPod.size()) + " of " + plural(static_cast<std::int64_t>(pods.size()), "pod", "pods") +
                  " (" + scope + ")";
    if (!perPod.empty()) {
      std::vector<std::pair<std::string, std::int64_t>> byCount(perPod.begin(), perPod.end());
      std::stable_sort(byCount.begin(), byCount.end(), [](auto& x, auto& y) { return x.second > y.second; });
      std::vector<std::string> parts;
      for (std::size_t i = 0; i < byCount.size() && i < 3; ++i) {
        parts.push_back(byCount[i].first + ": " + std::to_string(byCount[i].second));
      }
      out.summary += "; " + join(parts, ", ") + (byCount.size() > 3 ? ", ..." : "");
    }
    if (totalPods > pods.size() || morePods) {
      out.summary += "; searched the first " + std::to_string(pods.size()) + " of " +
                     (morePods ? "more than " : "") + std::to_string(totalPods) + " pods, unhealthy first";
    }
    if (unreadable > 0) out.summary += "; " + plural(static_cast<std::int64_t>(unreadable), "log", "logs") + " not readable";
    out.data = std::move(data);
    return out;
  }

 private:
  static agent::ToolSpec specFor(const ToolSettings& settings) {
    auto spec = makeSpec(
        "search_logs",
        "Searches the logs of a workload's pods (or one pod, or the pods matching a selector) for a regular "
        "expression: the current instance of each container and the previous one of those that restarted. "
        "Returns match counts per pod and container and the first matching lines. Case-insensitive unless "
        "caseSensitive is true.",
        R"json({"type":"object","properties":{
"pattern":{"type":"string","minLength":1,"maxLength":256,"description":"RE2 regular expression, e.g. timeout|connection refused"},
"kind":{"type":"string","enum":["Pod","Deployment","StatefulSet","DaemonSet","ReplicaSet","Job"]},
"name":{"type":"string","minLength":1,"maxLength":253},
"selector":{"type":"string","maxLength":1024,"description":"label selector, instead of kind and name"},
"container":{"type":"string","minLength":1,"maxLength":63},
"previous":{"type":"boolean","description":"also search the previous instance of restarted containers (default true)"},
"caseSensitive":{"type":"boolean"},
"tailLines":{"type":"integer","minimum":1,"maximum":5000,"description":"lines read from the end of each log (default 1000)"},
"maxPods":{"type":"integer","minimum":1,"maximum":20,"description":"pods searched, unhealthy first (default 10)"}},
"required":["pattern"],"additionalProperties":false})json",
        settings);
    // Up to 2 reads per container of up to 20 pods.
    spec.timeout = std::chrono::seconds(20);
    return spec;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeSearchLogsTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<SearchLogsTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
