// get_events: the core/v1 Events of the namespace, or of one object,
// newest first; evidence groups them by the object they are about, objects
// with warnings first.
#include <algorithm>
#include <map>

#include "tools/kube_tool.h"
#include "tools/render.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

constexpr std::size_t kMaxEvents = 200;
constexpr std::size_t kMaxLinesPerObject = 10;

std::string_view eventTime(const rapidjson::Value& e) {
  for (auto path : {std::initializer_list<std::string_view>{"lastTimestamp"}, {"series", "lastObservedTime"},
                    {"eventTime"}, {"firstTimestamp"}, {"metadata", "creationTimestamp"}}) {
    if (auto t = stringAt(e, path); !t.empty()) return t;
  }
  return {};
}

std::int64_t eventCount(const rapidjson::Value& e) {
  if (auto c = intAt(e, {"series", "count"})) return *c;
  return intAt(e, {"count"}).value_or(1);
}

std::string involvedRef(const rapidjson::Value& e) {
  return std::string(stringAt(e, {"involvedObject", "kind"})) + "/" +
         std::string(stringAt(e, {"involvedObject", "name"}));
}

// "Warning BackOff (x12, last 2m ago) Pod/checkout-7d9f: Back-off restarting failed container"
std::string renderEvent(const rapidjson::Value& e) {
  std::string out = std::string(stringAt(e, {"type"})) + " " + std::string(stringAt(e, {"reason"})) + " (";
  auto n = eventCount(e);
  auto when = ago(eventTime(e));
  if (n > 1) out += "x" + std::to_string(n) + (when.empty() ? "" : ", last " + when);
  else out += when.empty() ? "once" : when;
  out += ") " + involvedRef(e) + ": ";
  std::string msg(stringAt(e, {"message"}));
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  std::replace(msg.begin(), msg.end(), '\n', ' ');
  return out + msg;
}

bool isWarning(const rapidjson::Value& e) { return stringAt(e, {"type"}) == "Warning"; }

class GetEventsTool : public KubeTool {
 public:
  GetEventsTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings,
                 makeSpec("get_events",
                          "Lists the recent Events of the namespace, or of one object (kind and name), newest first, "
                          "optionally only warnings.",
                          R"({"type":"object","properties":{
"kind":{"type":"string","pattern":"^[A-Za-z]+$","maxLength":63,"description":"e.g. Pod, Deployment"},
"name":{"type":"string","minLength":1,"maxLength":253},
"warningsOnly":{"type":"boolean"}},
"additionalProperties":false})",
                          settings)) {}

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) override {
    std::string name, kind;
    if (auto bad = checkOptionalName(args, &name)) return *bad;
    if (args.HasMember("kind")) {
      auto k = stringArg(args, "kind");
      bool letters = k && !k->empty() && k->size() <= 63 &&
                     std::all_of(k->begin(), k->end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); });
      if (!letters) return invalidArgs("\"kind\" must be a Kind such as Pod or Deployment");
      kind = *k;
    }
    bool warningsOnly = boolArg(args, "warningsOnly", false);

    std::vector<std::string> fields;
    if (!kind.empty()) fields.push_back("involvedObject.kind=" + kind);
    if (!name.empty()) fields.push_back("involvedObject.name=" + name);
    if (warningsOnly) fields.push_back("type=Warning");
    kube::ListOptions opts;
    opts.fieldSelector = join(fields, ",");

    auto data = newData();
    auto& a = data->GetAllocator();
    setMember(*data, "items", rapidjson::Value(rapidjson::kArrayType));
    auto listed = call.list(kinds::kEvent, opts, 5000);
    if (!listed.ok()) return call.failed(listed.error(), "list", kinds::kEvent, {}, data);

    auto& events = listed->items;
    // A follow-up run: only what happened since the earlier run finished.
    std::size_t before = 0;
    if (call.since() != std::chrono::system_clock::time_point{}) {
      const double since = static_cast<double>(std::chrono::system_clock::to_time_t(call.since()));
      const auto n = events.size();
      std::erase_if(events, [&](const kube::ObjectPtr& e) { return parseTime(eventTime(e->json())).value_or(0) < since; });
      before = n - events.size();
    }
    std::stable_sort(events.begin(), events.end(), [](const kube::ObjectPtr& x, const kube::ObjectPtr& y) {
      return parseTime(eventTime(x->json())).value_or(0) > parseTime(eventTime(y->json())).value_or(0);
    });
    std::size_t total = events.size(), warnings = 0;
    for (const auto& e : events) warnings += isWarning(e->json()) ? 1 : 0;
    if (events.size() > kMaxEvents) events.resize(kMaxEvents);
    (*data)["items"] = trimmedArray(events, a);

    agent::ToolOutput out;
    std::string target = kind.empty() && name.empty() ? "namespace " + call.ns()
                                                      : (kind.empty() ? "*" : kind) + "/" + (name.empty() ? "*" : name);
    const std::string earlier =
        before ? " (" + std::to_string(before) + " older, read by the earlier run, left out)" : std::string();
    if (events.empty()) {
      std::string ref = kind.empty() && name.empty() ? "Event/*" : target;
      out.summary = "no " + std::string(warningsOnly ? "warning " : "") + (before ? "new " : "") + "events for " + target + earlier;
      out.evidence.push_back({ref, out.summary + " in namespace " + call.ns() +
                                       " (the API server keeps events for about an hour)"});
      out.data = std::move(data);
      return out;
    }
    // One evidence item per involved object, so analyzers can cite the
    // events of "Pod/x"; objects with warnings first, then most recent.
    struct Group {
      std::string ref;
      std::vector<const rapidjson::Value*> events;
      bool warning = false;
      std::size_t firstIndex = 0;
    };
    std::vector<Group> groups;
    std::map<std::string, std::size_t> index;
    for (std::size_t i = 0; i < events.size(); ++i) {
      const auto& e = events[i]->json();
      auto ref = involvedRef(e);
      auto [it, fresh] = index.emplace(ref, groups.size());
      if (fresh) groups.push_back({ref, {}, false, i});
      auto& g = groups[it->second];
      g.events.push_back(&e);
      g.warning = g.warning || isWarning(e);
    }
    std::stable_sort(groups.begin(), groups.end(), [](const Group& x, const Group& y) {
      if (x.warning != y.warning) return x.warning;
      return x.firstIndex < y.firstIndex;
    });
    for (auto& g : groups) {
      if (out.evidence.size() == kMaxEvidence) break;
      std::stable_partition(g.events.begin(), g.events.end(), [](const rapidjson::Value* e) { return isWarning(*e); });
      std::string text;
      for (std::size_t i = 0; i < g.events.size() && i < kMaxLinesPerObject; ++i) {
        if (i) text += "\n";
        text += renderEvent(*g.events[i]);
      }
      if (g.events.size() > kMaxLinesPerObject) {
        text += "\n(+" + std::to_string(g.events.size() - kMaxLinesPerObject) + " more events)";
      }
      out.evidence.push_back({g.ref, std::move(text)});
    }
    out.summary = std::to_string(total) + (total == 1 ? " event" : " events") + " for " + target + " (" +
                  std::to_string(warnings) + (warnings == 1 ? " warning)" : " warnings)");
    out.summary += earlier;
    for (const auto& e : events) {
      if (!isWarning(e->json())) continue;
      out.summary += "; latest warning: " + std::string(stringAt(e->json(), {"reason"})) + " on " +
                     involvedRef(e->json());
      break;
    }
    out.data = std::move(data);
    return out;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeGetEventsTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<GetEventsTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
