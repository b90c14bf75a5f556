// get_pod_logs: the last lines of one container's log, current or previous.
// data.text and the evidence text are the log lines and nothing else
// (the executor redacts them).
#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "tools/kube_tool.h"
#include "tools/pod_status.h"
#include "tools/render.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

constexpr std::int64_t kMaxTailLines = 5000;

// Without a container argument: the one a person would look at first, the
// failing one (an init container that fails blocks the others), else the
// default-container annotation, else the first.
std::string pickContainer(const rapidjson::Value& pod) {
  std::string best;
  std::int64_t bestScore = -1;
  for (auto key : {"initContainerStatuses", "containerStatuses"}) {
    const auto* list = valueAt(pod, {"status", key});
    if (!list || !list->IsArray()) continue;
    for (const auto& cs : list->GetArray()) {
      auto waiting = stringAt(cs, {"state", "waiting", "reason"});
      bool failing = (!waiting.empty() && waiting != "PodInitializing" && waiting != "ContainerCreating") ||
                     intAt(cs, {"state", "terminated", "exitCode"}).value_or(0) != 0;
      std::int64_t score = (failing ? 1'000'000 : 0) + intAt(cs, {"restartCount"}).value_or(0);
      if (score > bestScore && (failing || score > 0)) {
        bestScore = score;
        best = std::string(kube::stringMember(cs, "name"));
      }
    }
  }
  if (!best.empty()) return best;
  if (auto d = stringAt(pod, {"metadata", "annotations", "kubectl.kubernetes.io/default-container"}); !d.empty()) {
    return std::string(d);
  }
  auto names = containerNames(pod);
  return names.empty() ? std::string() : names.front();
}

// The last whole lines of text that fit in max bytes (the end of a log is
// what explains a crash); a single longer line keeps its end.
std::string tailBytes(const std::string& text, std::size_t max) {
  if (text.size() <= max) return text;
  std::size_t start = text.size() - max;
  auto nl = text.find('\n', start);
  if (nl != std::string::npos && nl + 1 < text.size()) return text.substr(nl + 1);
  while (start < text.size() && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) ++start;
  return text.substr(start);
}

// True when the container's current instance has exited (its log is the
// crash's, and there may be no previous one yet).
bool currentInstanceTerminated(const rapidjson::Value& pod, const std::string& container) {
  for (auto key : {"initContainerStatuses", "containerStatuses"}) {
    const auto* list = valueAt(pod, {"status", key});
    if (!list || !list->IsArray()) continue;
    for (const auto& cs : list->GetArray()) {
      if (kube::stringMember(cs, "name") == container) return valueAt(cs, {"state", "terminated"}) != nullptr;
    }
  }
  return false;
}

// The container's status "state" object; null when it has none.
const rapidjson::Value* stateOf(const rapidjson::Value& pod, const std::string& container) {
  for (auto key : {"initContainerStatuses", "containerStatuses"}) {
    const auto* list = valueAt(pod, {"status", key});
    if (!list || !list->IsArray()) continue;
    for (const auto& cs : list->GetArray()) {
      if (kube::stringMember(cs, "name") == container) return valueAt(cs, {"state"});
    }
  }
  return nullptr;
}

// When the container's last instance exited (state or lastState
// terminated.finishedAt), if it did.
std::optional<std::chrono::system_clock::time_point> lastExit(const rapidjson::Value& pod, const std::string& container) {
  for (auto key : {"initContainerStatuses", "containerStatuses"}) {
    const auto* list = valueAt(pod, {"status", key});
    if (!list || !list->IsArray()) continue;
    for (const auto& cs : list->GetArray()) {
      if (kube::stringMember(cs, "name") != container) continue;
      for (auto state : {"state", "lastState"}) {
        if (auto t = parseTime(stringAt(cs, {state, "terminated", "finishedAt"}))) {
          return std::chrono::system_clock::time_point(
              std::chrono::duration_cast<std::chrono::system_clock::duration>(std::chrono::duration<double>(*t)));
        }
      }
    }
  }
  return std::nullopt;
}

class GetPodLogsTool : public KubeTool {
 public:
  GetPodLogsTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings,
                 makeSpec("get_pod_logs",
                          "Reads the last lines of a pod container's log, or of its previous (crashed) instance.",
                          R"({"type":"object","properties":{
"pod":{"type":"string","minLength":1,"maxLength":253},
"container":{"type":"string","minLength":1,"maxLength":63},
"previous":{"type":"boolean"},
"tailLines":{"type":"integer","minimum":1,"maximum":5000}},
"required":["pod"],"additionalProperties":false})",
                          settings)) {}

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) override {
    std::string pod;
    if (auto bad = checkRequiredName(args, "pod", &pod)) return *bad;
    std::string container;
    if (args.HasMember("container")) {
      auto c = stringArg(args, "container");
      if (!c || !isLabelName(*c)) return invalidArgs("\"container\" must be a container name");
      container = *c;
    }
    bool previous = boolArg(args, "previous", false);
    auto tail = std::clamp(intArg(args, "tailLines").value_or(settings().defaultLogTailLines), std::int64_t{1},
                           kMaxTailLines);

    auto data = newData();
    auto& a = data->GetAllocator();
    auto fill = [&](const std::string& c, const std::string& text) {
      setMember(*data, "pod", jsonString(pod, a));
      setMember(*data, "container", jsonString(c, a));
      setMember(*data, "previous", rapidjson::Value(previous));
      setMember(*data, "text", jsonString(text, a));
    };
    fill(container, "");

    // The pod tells which containers exist; asking the log endpoint for an
    // unknown one only yields a 400.
    // (A pod this run listed a moment ago is not read again.)
    auto obj = call.getRecent(kinds::kPod, pod, std::chrono::seconds(5));
    if (!obj.ok()) return call.failed(obj.error(), "get", kinds::kPod, pod, data);
    auto names = containerNames((*obj)->json());
    if (container.empty()) container = pickContainer((*obj)->json());
    if (std::find(names.begin(), names.end(), container) == names.end()) {
      auto out = invalidArgs("Pod " + pod + " has no container \"" + container + "\" (containers: " + join(names, ", ") + ")");
      out.evidence.front().ref = "Pod/" + pod;
      out.data = std::move(data);
      return out;
    }
    fill(container, "");
    std::string ref = "Pod/" + pod + " container " + container + (previous ? " (previous)" : "");

    kube::LogOptions log;
    log.container = container;
    log.previous = previous;
    log.tailLines = tail;
    log.limitBytes = settings().maxLogBytes;
    // A follow-up run: only what was logged since the earlier run finished.
    if (call.since() != std::chrono::system_clock::time_point{}) {
      log.sinceSeconds = std::max<std::int64_t>(
          1, std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - call.since()).count() + 1);
    }
    auto text = call.podLogs(pod, log);
    std::string note;
    // "previous terminated container ... not found" although the container
    // has restarted: the kubelet has already removed that instance (or, in
    // the seconds after a crash, not yet made it readable).
    auto previousGone = [&] {
      return previous && log.previous && !text.ok() && text.error().httpCode == 400 &&
             text.error().message.find("not found") != std::string::npos && restartsOf((*obj)->json(), container) > 0;
    };
    auto transient = [&] { return (text.ok() && isKubeletLogPlaceholder(*text)) || previousGone(); };
    // The container exited moments ago: the kubelet's placeholder lasts
    // 10-15 s after a crash. Ask again until it passes, within the deadline.
    const auto exited = lastExit((*obj)->json(), container);
    const auto sinceExit = std::chrono::system_clock::now() - exited.value_or(std::chrono::system_clock::time_point{});
    const auto waitUntil =
        exited && sinceExit < settings().logRetryFor
            ? std::min(call.deadline() - std::chrono::seconds(1),
                       std::chrono::steady_clock::now() +
                           std::chrono::duration_cast<std::chrono::steady_clock::duration>(settings().logRetryFor - sinceExit))
            : std::chrono::steady_clock::time_point{};
    auto waitOut = [&](std::chrono::steady_clock::time_point until) {
      while (transient() && std::chrono::steady_clock::now() + settings().logRetryInterval < until) {
        std::this_thread::sleep_for(settings().logRetryInterval);
        text = call.podLogs(pod, log);
      }
    };
    // A container that is not running now (waiting to restart, or just
    // exited): its most recent instance is the one that crashed, so that is
    // read at once should the previous one be unavailable. A running one
    // restarted: the crash is in the previous instance, which gets half of
    // the wait before the most recent one gets the rest.
    const auto start = std::chrono::steady_clock::now();
    const auto* state = stateOf((*obj)->json(), container);
    const bool runningNow = state && state->IsObject() && state->HasMember("running");
    waitOut(!previous ? waitUntil : runningNow && waitUntil > start ? start + (waitUntil - start) / 2 : start);
    if (transient()) {
      if (previous) {
        // The most recent instance (the one that just exited, or the one a
        // waiting container last ran) holds the crash's log.
        log.previous = false;
        text = call.podLogs(pod, log);
        ref = "Pod/" + pod + " container " + container +
              (currentInstanceTerminated((*obj)->json(), container) ? " (the instance that just exited)"
                                                                      : " (most recent instance)");
        note = " (the kubelet no longer had the previous instance)";
        waitOut(waitUntil);
      }
      if (text.ok() && isKubeletLogPlaceholder(*text)) {
        agent::ToolOutput out;
        out.ok = false;
        out.errorReason = "NotFound";
        out.summary = "the kubelet could not return the log of " + ref + ": the container runtime no longer has that instance";
        out.evidence.push_back({ref, out.summary});
        out.data = std::move(data);
        return out;
      }
    }
    if (!text.ok()) {
      const auto& e = text.error();
      agent::ToolOutput out;
      out.ok = false;
      if (previous && e.httpCode == 400 && e.message.find("not found") != std::string::npos) {
        // What the kubelet says when the container never restarted.
        out.errorReason = "NotFound";
        out.summary = "not found: container " + container + " of Pod " + pod +
                      " has no previous terminated instance (it has not restarted)";
      } else {
        out.errorReason = errorReasonFor(e);
        out.summary = call.describeFailure(e, "get", kinds::kPod, pod, "log");
      }
      out.evidence.push_back({ref, out.summary});
      out.data = std::move(data);
      return out;
    }
    fill(container, *text);
    if (!note.empty()) setMember(*data, "previous", rapidjson::Value(false));

    agent::ToolOutput out;
    auto lines = std::count(text->begin(), text->end(), '\n') + (!text->empty() && text->back() != '\n' ? 1 : 0);
    out.summary = "read " + std::to_string(lines) + (lines == 1 ? " line" : " lines") + " (" +
                  std::to_string(text->size()) + " bytes) of " + ref + note;
    if (text->empty()) out.summary = "the log of " + ref + " is empty";
    if (log.sinceSeconds) {
      out.summary += text->empty() ? " since the earlier run finished" : ", logged since the earlier run finished";
    }
    // Four times the excerpt cap: the executor then cuts it to size with a visible
    // marker, and redaction never has to scan megabytes.
    out.evidence.push_back({ref, tailBytes(*text, 4 * spec().maxOutputBytes)});
    out.data = std::move(data);
    return out;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeGetPodLogsTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<GetPodLogsTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
