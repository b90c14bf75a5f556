#include "tools/analyzers/pod_checks.h"

#include <algorithm>
#include <optional>

#include "tools/analyzers/fill.h"
#include "tools/analyzers/k8s_messages.h"

namespace opscopilot::tools::analysis {

namespace {

using agent::Severity;

void addUnique(std::vector<std::string>& v, const std::string& s) {
  if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

const Json* containerSpec(const Json* pod, const std::string& name, bool init) {
  for (const Json* c : listAt(pod, {"spec", init ? "initContainers" : "containers"})) {
    if (strAt(c, {"name"}) == name) return c;
  }
  return nullptr;
}

struct ContainerContext {
  const PodContext* pod = nullptr;
  const Json* status = nullptr;
  const Json* spec = nullptr;
  std::string name;
  bool init = false;
  std::int64_t restarts = 0;

  std::string label() const {
    return (init ? "Init container " : "Container ") + name + " in pod " + pod->name;
  }
  std::string subject() const { return "Pod/" + pod->name + "/" + name; }
  std::string ns() const { return pod->ns.empty() ? std::string() : " -n " + pod->ns; }
  std::string where() const {
    return pod->target.empty() ? std::string("the pod spec") : "the pod template of " + pod->target;
  }
  std::string memoryLimit() const { return scalarText(at(spec, {"resources", "limits", "memory"})); }
  std::string group(std::string_view cause) const {
    return (pod->target.empty() ? "pod/" + pod->name : pod->target) + "|" + name + "|" + std::string(cause);
  }
};

agent::PlannedCall logsCall(const ContainerContext& c, bool previous, std::string reason) {
  CallArgs args;
  args.str("pod", c.pod->name).str("container", c.name).flag("previous", previous);
  return plannedCall("get_pod_logs", args, std::move(reason));
}

agent::PlannedCall podEventsCall(const PodContext& pod, std::string reason) {
  return plannedCall("get_events", CallArgs().str("kind", "Pod").str("name", pod.name), std::move(reason));
}

PodIssue issueFor(const ContainerContext& c, std::string_view cause, std::string title, Severity severity, int confidence,
                  std::string remediation) {
  PodIssue issue;
  issue.groupKey = c.group(cause);
  issue.draft.subject = c.subject();
  issue.draft.title = std::move(title);
  issue.draft.severity = severity;
  issue.draft.confidence = confidence;
  issue.draft.evidence = c.pod->evidence;
  issue.draft.remediation = std::move(remediation);
  return issue;
}

std::string quoted(std::string_view s, std::size_t max = 120) { return "\"" + shorten(oneLine(s), max) + "\""; }

// "exits with code 1 (Error)" / "is OOMKilled ..." with what the code means.
struct ExitStory {
  std::string text;
  std::string remediation;
  bool oom = false;
};

ExitStory exitStory(const ContainerContext& c, const Json* terminated) {
  ExitStory s;
  auto code = intAt(terminated, {"exitCode"});
  std::string reason = strAt(terminated, {"reason"});
  std::string message = strAt(terminated, {"message"});
  std::string limit = c.memoryLimit();
  std::string liveness = describeProbe(field(c.spec, "livenessProbe"));
  std::string logs = "`kubectl logs " + c.pod->name + " -c " + c.name + " --previous" + c.ns() + "`";
  if (reason == "OOMKilled") {
    s.oom = true;
    s.text = limit.empty() ? "is OOMKilled with no memory limit set (the node ran out of memory)"
                           : "is OOMKilled: it exceeds its memory limit " + limit;
    s.remediation = limit.empty()
                        ? "Set resources.requests.memory and resources.limits.memory for container " + c.name + " in " +
                              c.where() + " to its real peak usage so it lands on a node with room; then look for the leak."
                        : "Raise resources.limits.memory above " + limit + " for container " + c.name + " (`kubectl set resources " +
                              (c.pod->target.empty() ? std::string("<workload>") : c.pod->target) + " -c " + c.name +
                              " --limits=memory=<higher>" + c.ns() +
                              "`) or cut its usage: fix the leak, or keep heap settings (JVM -Xmx, Node --max-old-space-size) "
                              "well under the limit.";
    return s;
  }
  std::int64_t exit = code.value_or(-1);
  std::string reasonText = reason.empty() ? std::string() : " (" + reason + ")";
  s.text = code ? "exits with code " + std::to_string(exit) + reasonText : "terminates" + reasonText;
  if (exit == 137 && !limit.empty()) {
    s.text += ": SIGKILL, likely the OOM killer (memory limit " + limit + ")" + (liveness.empty() ? "" : " or its liveness probe");
    s.oom = true;
    s.remediation = "Check whether it hits its memory limit " + limit + " (`kubectl top pod " + c.pod->name + c.ns() +
                    "`, events) and raise resources.limits.memory or fix the leak" +
                    (liveness.empty() ? std::string(".") : "; if the liveness probe (" + liveness + ") kills it, relax it.");
  } else if ((exit == 137 || exit == 143) && !liveness.empty()) {
    s.text += ": killed, likely by its failing liveness probe (" + liveness + ")";
    s.remediation = "Check the pod's Unhealthy events: if the app is slow rather than dead, raise the liveness probe's "
                    "initialDelaySeconds/timeoutSeconds/failureThreshold or add a startupProbe; otherwise fix what hangs (" +
                    logs + ").";
  } else if (code && exit != 1) {
    s.text += ": " + exitCodeMeaning(exit);  // 1 is just "application error": the logs say more
  }
  if (!oneLine(message).empty()) s.text += ", message " + quoted(message);
  if (!s.remediation.empty()) return s;
  std::string image = strAt(c.spec, {"image"});
  if (exit == 126 || exit == 127 || (exit == 128 && containsAnyNoCase(message, {"exec:", "executable", "no such file"}))) {
    s.remediation = fill("The command in spec.containers[].command/args (or the image ENTRYPOINT) of ${container} is missing or "
                         "not executable in ${image}: fix the path in ${where}, or the image build (chmod +x, correct base image).",
                         {{"container", c.name, "the container"},
                          {"image", image.empty() ? "" : "image " + image, "its image"},
                          {"where", c.where(), "the pod spec"}});
  } else if (exit == 0) {
    s.remediation = "The process ends successfully, but the pod restarts it: run a foreground, long-lived process "
                    "(check command/args in " + c.where() + "), or use a Job for one-off work.";
  } else if (exit == 139) {
    s.remediation = "The binary segfaults: check the image architecture matches the node (amd64/arm64) and read " + logs + ".";
  } else {
    s.remediation = "Read why it exits: " + logs +
                    ". An application error at start-up is usually missing configuration (env, ConfigMap, Secret) or an "
                    "unreachable dependency: fix it in " + c.where() + "; the pod restarts on its own.";
  }
  return s;
}

void checkImagePull(const ContainerContext& c, std::string_view reason, std::string_view message, std::vector<PodIssue>& out) {
  std::string image = strAt(c.status, {"image"});
  if (image.empty()) image = strAt(c.spec, {"image"});
  if (image.empty()) image = imageInMessage(message);
  PullCause cause = classifyPull(reason, message);
  std::vector<std::string> secrets;
  for (const Json* s : listAt(c.pod->pod, {"spec", "imagePullSecrets"})) addUnique(secrets, strAt(s, {"name"}));
  std::string causeText = pullCauseText(cause);
  std::string title = c.label() + fill(" cannot pull ${image}", {{"image", image.empty() ? "" : "image " + image, "its image"}}) +
                      (causeText.empty() ? "" : ": " + causeText) + " (" + std::string(reason) + ")";
  PullFacts facts;
  facts.image = image;
  facts.ns = c.pod->ns;
  facts.pod = c.pod->name;
  facts.container = c.name;
  facts.ownerTarget = c.pod->target;
  facts.pullSecrets = &secrets;
  auto issue = issueFor(c, "image", title, Severity::High, cause == PullCause::Unknown ? 75 : 90, pullRemediation(cause, facts));
  issue.calls.push_back(podEventsCall(
      *c.pod, fill("the pull error of ${image} is in the pod's Failed events", {{"image", image, "the image of " + c.name}})));
  out.push_back(std::move(issue));
}

void checkConfigError(const ContainerContext& c, std::string_view reason, std::string_view message, std::vector<PodIssue>& out) {
  auto ref = parseConfigRefError(message);
  std::string what = ref ? configRefPhrase(*ref) : shorten(oneLine(message), 140);
  std::string title = c.label() + " cannot start: " + (what.empty() ? std::string("invalid container config") : what) + " (" +
                      std::string(reason) + ")";
  std::string remediation = ref ? configRefRemediation(*ref, c.pod->ns, c.pod->target)
                                : "Fix the container's configuration in " + c.where() +
                                      " (env valueFrom, envFrom, volumes, securityContext) as the message says.";
  auto issue = issueFor(c, "config:" + what, title, Severity::High, ref ? 95 : 80, remediation);
  ConfigNames names = configNamesOf(c.pod->pod);
  if (ref && !ref->name.empty()) addUnique(ref->kind == "Secret" ? names.secrets : names.configMaps, ref->name);
  if (!names.configMaps.empty() || !names.secrets.empty()) {
    CallArgs args;
    if (!names.configMaps.empty()) args.strings("configMaps", names.configMaps);
    if (!names.secrets.empty()) args.strings("secrets", names.secrets);
    issue.calls.push_back(plannedCall("get_config_refs", args,
                                      "check which ConfigMaps/Secrets (and keys) pod " + c.pod->name + " references exist"));
  }
  issue.calls.push_back(podEventsCall(*c.pod, "the kubelet's Failed events name what is missing"));
  out.push_back(std::move(issue));
}

// runc's words when the container's command cannot be executed, e.g.
//   exec: "/app/server": stat /app/server: no such file or directory: unknown
//   exec: "server": executable file not found in $PATH: unknown
//   exec: "/app/run.sh": permission denied: unknown
struct ExecFailure {
  std::string command;
  std::string problem;  // completes "its command X ..."
};
std::optional<ExecFailure> execFailure(std::string_view m) {
  auto p = m.find("exec: \"");
  if (p == std::string_view::npos) return std::nullopt;
  auto start = p + 7;
  auto end = m.find('"', start);
  if (end == std::string_view::npos || end == start) return std::nullopt;
  ExecFailure f{std::string(m.substr(start, end - start)), ""};
  auto rest = m.substr(end);
  if (rest.find("no such file or directory") != std::string_view::npos) {
    f.problem = "does not exist in the image";
  } else if (rest.find("executable file not found in $PATH") != std::string_view::npos) {
    f.problem = "is not found in the image's $PATH";
  } else if (rest.find("permission denied") != std::string_view::npos) {
    f.problem = "is not executable in the image (permission denied)";
  } else {
    return std::nullopt;
  }
  return f;
}

void checkStartError(const ContainerContext& c, std::string_view reason, std::string_view message, std::vector<PodIssue>& out) {
  std::string_view m = message;
  if (auto p = m.find("exec: "); p != std::string_view::npos) m = m.substr(p);
  std::string what = oneLine(m).empty() ? std::string("the runtime cannot create or start it") : quoted(m, 140);
  std::string image = strAt(c.spec, {"image"});
  std::string remediation =
      fill("Fix the container definition in ${where}: the command/args must exist and be executable in "
           "${image}, and volume mounts and securityContext must be valid for it.",
           {{"where", c.where(), "the pod spec"}, {"image", image.empty() ? "" : "image " + image, "its image"}});
  if (auto exec = execFailure(message)) {
    what = fill("its command ${command} ${problem}", {{"command", exec->command, "<command>"}, {"problem", exec->problem, "cannot be run"}});
    if (!image.empty()) what += " " + image;
    remediation = fill("Either the command is wrong or the image is: set `command:` in ${where} to a program that exists in "
                       "${image} (list its files with `kubectl debug` or `crane export`), or use the image that contains "
                       "${command}.",
                       {{"where", c.where(), "the pod spec"},
                        {"image", image.empty() ? "" : "image " + image, "its image"},
                        {"command", exec->command, "<command>"}});
  }
  auto issue = issueFor(c, "start", c.label() + " cannot start: " + what + " (" + std::string(reason) + ")", Severity::High, 85,
                        remediation);
  issue.calls.push_back(podEventsCall(*c.pod, "the runtime's error is in the pod's events"));
  out.push_back(std::move(issue));
}

void checkCrash(const ContainerContext& c, const Json* lastRun, bool backingOff, std::vector<PodIssue>& out) {
  ExitStory story = exitStory(c, lastRun);
  std::string restarts = countOf(c.restarts, "restart");
  std::string title;
  if (story.oom && strAt(lastRun, {"reason"}) == "OOMKilled") {
    title = c.label() + " " + story.text + ", " + restarts + (backingOff ? " (CrashLoopBackOff)" : "");
  } else if (lastRun == nullptr) {
    title = c.label() + " crash-loops (CrashLoopBackOff), " + restarts;
  } else {
    title = c.label() + " crash-loops: " + story.text + ", " + restarts;
  }
  if (c.init && strAt(c.spec, {"restartPolicy"}) != "Always") title += "; the pod is stuck initializing";
  auto issue = issueFor(c, story.oom ? "oom" : "crash:" + scalarText(field(lastRun, "exitCode")), title, Severity::High,
                        lastRun == nullptr ? 70 : (story.oom ? 90 : 85), story.remediation);
  if (issue.draft.remediation.empty()) {
    issue.draft.remediation = "Read why it exits: `kubectl logs " + c.pod->name + " -c " + c.name + " --previous" + c.ns() + "`.";
  }
  issue.calls.push_back(logsCall(c, true, "the previous run of " + c.name + " shows why it exits"));
  issue.calls.push_back(podEventsCall(*c.pod, "events show back-offs, OOM kills and probe failures of " + c.pod->name));
  out.push_back(std::move(issue));
}

void checkFailedRun(const ContainerContext& c, const Json* terminated, std::vector<PodIssue>& out) {
  ExitStory story = exitStory(c, terminated);
  bool jobPod = c.pod->owner.kind == "Job";
  auto issue = issueFor(c, "failed:" + scalarText(field(terminated, "exitCode")),
                        c.label() + " failed: " + story.text + (c.init ? "; the pod cannot start" : ""),
                        jobPod && !c.init ? Severity::Medium : Severity::High, 85, story.remediation);
  issue.calls.push_back(logsCall(c, false, "the logs of the failed run of " + c.name + " show why it exited"));
  out.push_back(std::move(issue));
}

void checkRestarts(const ContainerContext& c, const Json* lastRun, std::vector<PodIssue>& out) {
  ExitStory story = exitStory(c, lastRun);
  bool oomKilled = strAt(lastRun, {"reason"}) == "OOMKilled";
  if (!oomKilled && intAt(lastRun, {"exitCode"}).value_or(0) == 0 && c.restarts < 3) return;
  // A kill (137/143) of a container with a liveness probe is the kubelet
  // restarting it: never routine, even the first time.
  int exit = static_cast<int>(intAt(lastRun, {"exitCode"}).value_or(0));
  bool probeKill = (exit == 137 || exit == 143) && !describeProbe(field(c.spec, "livenessProbe")).empty();
  Severity severity = oomKilled || probeKill || c.restarts >= 3 ? Severity::Medium : Severity::Low;
  std::string title = oomKilled ? c.label() + " was OOMKilled (" +
                                      (c.memoryLimit().empty() ? std::string("no memory limit") : "memory limit " + c.memoryLimit()) +
                                      "), " + countOf(c.restarts, "restart") + "; running again now"
                                : c.label() + " restarted " + countOf(c.restarts, "time") + "; last run " + story.text;
  auto issue = issueFor(c, oomKilled ? "oom" : "restarts", title, severity, 75, story.remediation);
  issue.calls.push_back(logsCall(c, true, "the previous run of " + c.name + " shows why it restarted"));
  issue.calls.push_back(podEventsCall(*c.pod, "Unhealthy/Killing events show whether a liveness probe restarts it"));
  out.push_back(std::move(issue));
}

void checkReadiness(const ContainerContext& c, std::vector<PodIssue>& out) {
  std::string readiness = describeProbe(field(c.spec, "readinessProbe"));
  std::string startup = describeProbe(field(c.spec, "startupProbe"));
  bool started = boolAt(c.status, {"started"}, true);
  PodIssue issue;
  if (!started && !startup.empty()) {
    issue = issueFor(c, "startup", c.label() + " is running but its startup probe (" + startup + ") has not passed",
                     Severity::Medium, 70,
                     "Check the Unhealthy events; if the app needs longer to start, raise the startupProbe's failureThreshold or "
                     "periodSeconds in " + c.where() + ", otherwise fix the endpoint it probes.");
  } else if (!readiness.empty()) {
    issue = issueFor(c, "ready", c.label() + " is running but not ready: readiness probe " + readiness + " fails",
                     Severity::Medium, 75,
                     "The pod gets no Service traffic while the probe fails. Check the Unhealthy events for the probe's error; "
                     "make sure the probed port/path is what the app serves and that its dependencies are up, or fix the probe "
                     "(port, path, timeoutSeconds) in " + c.where() + ".");
  } else {
    return;
  }
  issue.calls.push_back(podEventsCall(*c.pod, "Unhealthy events carry the probe's failure message"));
  // An app that answers its probe "not ready" usually logs why (a dependency
  // it cannot reach).
  issue.calls.push_back(logsCall(c, false, "the log of " + c.name + " may say why it reports not ready"));
  out.push_back(std::move(issue));
}

// A run that never started: runc could not exec the command (exit 128).
bool startFailed(const Json* run) {
  return run != nullptr && strAt(run, {"reason"}) == "StartError" && execFailure(strAt(run, {"message"})).has_value();
}

void checkContainer(const ContainerContext& c, std::vector<PodIssue>& out) {
  const Json* waiting = at(c.status, {"state", "waiting"});
  const Json* running = at(c.status, {"state", "running"});
  const Json* terminated = at(c.status, {"state", "terminated"});
  const Json* lastRun = at(c.status, {"lastState", "terminated"});
  if (lastRun != nullptr && !lastRun->IsObject()) lastRun = nullptr;
  std::string reason = strAt(waiting, {"reason"});
  std::string message = strAt(waiting, {"message"});
  bool sidecar = c.init && strAt(c.spec, {"restartPolicy"}) == "Always";

  if (reason == "ImagePullBackOff" || reason == "ErrImagePull" || reason == "InvalidImageName" ||
      reason == "ErrImageNeverPull" || reason == "RegistryUnavailable") {
    checkImagePull(c, reason, message, out);
  } else if (reason == "CreateContainerConfigError") {
    checkConfigError(c, reason, message, out);
  } else if (reason == "CreateContainerError" || reason == "RunContainerError") {
    checkStartError(c, reason, message, out);
  } else if (reason == "CrashLoopBackOff" && startFailed(lastRun)) {
    // Between the kubelet's RunContainerError reports it shows CrashLoopBackOff;
    // the run that never started says why.
    checkStartError(c, "StartError, now CrashLoopBackOff", strAt(lastRun, {"message"}), out);
  } else if (reason == "CrashLoopBackOff") {
    checkCrash(c, lastRun, true, out);
  } else if (terminated != nullptr && terminated->IsObject() && startFailed(terminated)) {
    checkStartError(c, "StartError", strAt(terminated, {"message"}), out);
  } else if (terminated != nullptr && terminated->IsObject()) {
    // The kubelet lost track of the container (node restart, eviction): no exit to explain.
    if (strAt(terminated, {"reason"}) == "ContainerStatusUnknown") return;
    if (intAt(terminated, {"exitCode"}).value_or(0) != 0 || strAt(terminated, {"reason"}) == "OOMKilled") {
      if (c.restarts > 0 && strAt(c.pod->pod, {"spec", "restartPolicy"}) != "Never") {
        checkCrash(c, terminated, false, out);
      } else {
        checkFailedRun(c, terminated, out);
      }
    }
  } else if (running != nullptr && running->IsObject()) {
    std::size_t before = out.size();
    if (lastRun != nullptr && c.restarts > 0) checkRestarts(c, lastRun, out);
    if (out.size() > before) return;  // the restarts explain any unreadiness too
    if (c.init && !sidecar) {
      PodIssue issue = issueFor(c, "init-running", "Pod " + c.pod->name + " waits for init container " + c.name + " to finish",
                                Severity::Low, 60,
                                "An init container that keeps running is usually waiting for a dependency: read its logs "
                                "(`kubectl logs " + c.pod->name + " -c " + c.name + c.ns() + "`) and check what it waits for.");
      issue.calls.push_back(logsCall(c, false, "init container " + c.name + " has not finished"));
      out.push_back(std::move(issue));
    } else if (!c.init && !boolAt(c.status, {"ready"}, true) && c.pod->phase == "Running") {
      checkReadiness(c, out);
    }
  } else if (waiting != nullptr && c.restarts > 0 && startFailed(lastRun)) {
    // Waiting for another reason (ContainerCreating while the kubelet tries
    // again): the last run still says why it cannot start.
    checkStartError(c, "StartError", strAt(lastRun, {"message"}), out);
  } else if (waiting != nullptr && c.restarts > 0 && lastRun != nullptr &&
             (intAt(lastRun, {"exitCode"}).value_or(0) != 0 || strAt(lastRun, {"reason"}) == "OOMKilled")) {
    checkCrash(c, lastRun, false, out);
  }
}

void addNames(std::vector<std::string>& v, const Json* ref, std::string_view key) { addUnique(v, strAt(ref, {key})); }

}  // namespace

std::string describeProbe(const Json* probe) {
  if (probe == nullptr || !probe->IsObject()) return {};
  if (const Json* h = field(probe, "httpGet")) {
    std::string path = strAt(h, {"path"});
    return fill("httpGet :${port}", {{"port", scalarText(field(h, "port")), "<port>"}}) + (path.empty() ? "/" : path);
  }
  if (const Json* t = field(probe, "tcpSocket")) return fill("tcpSocket :${port}", {{"port", scalarText(field(t, "port")), "<port>"}});
  if (const Json* g = field(probe, "grpc")) return fill("grpc :${port}", {{"port", scalarText(field(g, "port")), "<port>"}});
  if (const Json* e = field(probe, "exec")) {
    std::vector<std::string> cmd;
    for (const Json* part : listAt(e, {"command"})) {
      if (!str(part).empty()) cmd.push_back(str(part));
    }
    return fill("exec ${command}", {{"command", shorten(join(cmd, " "), 60), "without a command"}});
  }
  return "probe";
}

ConfigNames configNamesOf(const Json* pod) {
  ConfigNames names;
  for (const char* kind : {"initContainers", "containers"}) {
    for (const Json* c : listAt(pod, {"spec", kind})) {
      for (const Json* env : listAt(c, {"env"})) {
        addNames(names.configMaps, at(env, {"valueFrom", "configMapKeyRef"}), "name");
        addNames(names.secrets, at(env, {"valueFrom", "secretKeyRef"}), "name");
      }
      for (const Json* from : listAt(c, {"envFrom"})) {
        addNames(names.configMaps, field(from, "configMapRef"), "name");
        addNames(names.secrets, field(from, "secretRef"), "name");
      }
    }
  }
  for (const Json* v : listAt(pod, {"spec", "volumes"})) {
    addNames(names.configMaps, field(v, "configMap"), "name");
    addNames(names.secrets, field(v, "secret"), "secretName");
    for (const Json* src : listAt(v, {"projected", "sources"})) {
      addNames(names.configMaps, field(src, "configMap"), "name");
      addNames(names.secrets, field(src, "secret"), "name");
    }
  }
  return names;
}

void checkContainers(const PodContext& pod, std::vector<PodIssue>& out) {
  for (bool init : {true, false}) {
    for (const Json* status : listAt(pod.pod, {"status", init ? "initContainerStatuses" : "containerStatuses"})) {
      ContainerContext c;
      c.pod = &pod;
      c.status = status;
      c.name = strAt(status, {"name"});
      if (c.name.empty()) continue;
      c.init = init;
      c.spec = containerSpec(pod.pod, c.name, init);
      c.restarts = intAt(status, {"restartCount"}).value_or(0);
      checkContainer(c, out);
    }
  }
}

}  // namespace opscopilot::tools::analysis
