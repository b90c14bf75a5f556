// Event analyzer (get_events): the Warning events the scheduler, kubelet and
// controllers emit. When another analyzer already has a finding for the same
// object (a crash, an image pull, a scheduling failure), the event enriches
// it instead of repeating it.
#include <algorithm>
#include <map>
#include <set>

#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/fill.h"
#include "tools/analyzers/k8s_messages.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "events";
constexpr int kMaxUnknownWarnings = 3;

// One (object, reason, container) group of events, newest first.
struct EventGroup {
  const Json* newest = nullptr;
  std::string kind;
  std::string name;
  std::string ns;
  std::string container;
  std::string reason;
  std::string message;
  std::string type;
  std::int64_t count = 0;
  std::vector<std::string> evidence;

  std::string object() const { return kind + "/" + name; }
  std::string times() const { return count > 1 ? ", " + std::to_string(count) + " times" : std::string(); }
  std::string nsFlag() const { return ns.empty() ? std::string() : " -n " + ns; }
};

std::string containerOf(std::string_view fieldPath) {
  // "spec.containers{checkout}" / "spec.initContainers{migrate}"
  return between(fieldPath, "{", "}");
}

std::vector<EventGroup> groupEvents(const agent::StepView& step) {
  std::vector<EventGroup> groups;
  std::map<std::string, std::size_t> index;
  for (const Json* e : listAt(step.data, {"items"})) {
    if (!e->IsObject()) continue;
    EventGroup g;
    g.kind = strAt(e, {"involvedObject", "kind"});
    g.name = strAt(e, {"involvedObject", "name"});
    g.reason = strAt(e, {"reason"});
    if (g.kind.empty() || g.name.empty() || g.reason.empty()) continue;
    g.container = containerOf(strAt(e, {"involvedObject", "fieldPath"}));
    g.ns = strAt(e, {"involvedObject", "namespace"});
    if (g.ns.empty()) g.ns = namespaceOf(e);
    g.message = oneLine(strAt(e, {"message"}));
    g.type = strAt(e, {"type"});
    std::int64_t count = intAt(e, {"series", "count"}).value_or(intAt(e, {"count"}).value_or(1));
    auto ids = cite(step, {"Event/" + nameOf(e), g.object()});
    std::string key = g.object() + "|" + g.reason + "|" + g.container;
    // The kubelet's Failed events say different things ("Failed to pull
    // image ...", "Error: ErrImagePull"); keep them apart.
    if (g.reason == "Failed") key += "|" + g.message.substr(0, 20);
    auto [it, inserted] = index.emplace(key, groups.size());
    if (inserted) {
      g.newest = e;
      g.count = std::max<std::int64_t>(count, 1);
      g.evidence = ids;
      groups.push_back(std::move(g));
    } else {
      EventGroup& existing = groups[it->second];
      existing.count += std::max<std::int64_t>(count, 1);
      if (existing.evidence.size() < 3) addEvidence(existing.evidence, ids);
    }
  }
  return groups;
}

class EventAnalyzer : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  // Thread-safe: the analyzer holds no state; what one call remembers lives
  // in that call's Pass, so one instance serves every worker at once.
  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override;

 private:
  struct Pass;
};

// One analyze() call over one get_events step.
struct EventAnalyzer::Pass {
  std::set<std::string> added_;  // subjects this call already reported
  int unknown_ = 0;

  void handle(const EventGroup& g, agent::AnalysisSink& sink) {
    const std::string& r = g.reason;
    if (r == "FailedScheduling") return scheduling(g, sink);
    if (r == "FailedCreate") return failedCreate(g, sink);
    if (r == "FailedMount" || r == "FailedAttachVolume" || r == "FailedMapVolume") return mount(g, sink);
    if (r == "Unhealthy") return probe(g, sink);
    if (r == "Killing" && containsNoCase(g.message, "failed liveness probe")) return probe(g, sink);
    if (r == "BackOff") return backOff(g, sink);
    if (r == "Failed" && g.kind == "Pod") return failed(g, sink);
    if (r == "Evicted") return evicted(g, sink);
    if (r == "BackoffLimitExceeded" || r == "DeadlineExceeded") return jobFailed(g, sink);
    if (r == "ProvisioningFailed" || r == "FailedBinding" || r == "VolumeMismatch") return provisioning(g, sink);
    if (r == "FailedCreatePodSandBox") return sandbox(g, sink);
    if (r.starts_with("FailedGet") || r == "FailedComputeMetricsReplicas" || r == "FailedRescale") return autoscaler(g, sink);
    if (g.type == "Warning") return unknownWarning(g, sink);
  }

  // Adds the event's evidence (and detail) to another analyzer's finding.
  // Returns false when there is none.
  bool enrich(agent::AnalysisSink& sink, const std::string& id, const EventGroup& g, const std::string& detail, int confidence,
              const std::string& remediation = {}) {
    if (id.empty()) return false;
    const agent::Finding* f = findingById(sink, id);
    std::string addition = f != nullptr && !detail.empty() && !containsNoCase(f->title, detail) ? detail : std::string();
    sink.enrichFinding(id, g.evidence, addition, confidence, remediation);
    return true;
  }

  void add(agent::AnalysisSink& sink, const std::string& subject, std::string title, Severity severity, int confidence,
           const EventGroup& g, std::string remediation) {
    if (!added_.insert(subject).second) return;
    agent::FindingDraft d;
    d.subject = subject;
    d.title = std::move(title);
    d.severity = severity;
    d.confidence = confidence;
    d.evidence = g.evidence;
    d.remediation = std::move(remediation);
    sink.addFinding(kName, std::move(d));
  }

  static PullFacts pullFacts(const EventGroup& g, const std::string& container, const std::string& image) {
    PullFacts f;
    f.image = image;
    f.ns = g.ns;
    f.pod = g.name;
    f.container = container;
    return f;
  }

  static agent::PlannedCall podCall(const EventGroup& g, std::string reason) {
    return plannedCall("list_pods", CallArgs().strings("names", {g.name}), std::move(reason));
  }

  void scheduling(const EventGroup& g, agent::AnalysisSink& sink) {
    if (g.kind != "Pod") return;
    SchedulingDiagnosis d = parseSchedulingMessage(g.message);
    std::string existing = findingMatching(sink, "Pod/" + g.name, "cannot be scheduled", kName);
    if (!enrich(sink, existing, g, "", 90)) {
      PodSchedulingFacts facts;
      facts.ns = g.ns;
      facts.pod = g.name;
      add(sink, "Pod/" + g.name, "Pod " + g.name + " cannot be scheduled: " + d.summary + " (FailedScheduling" + g.times() + ")",
          Severity::High, 85, g, schedulingRemediation(d, facts));
      sink.suggest(podCall(g, "the pod's requests, selectors and volumes explain the scheduling failure"));
    }
    bool nodeCause = !d.has(SchedulingCause::Other) || d.reasons.size() > 1;
    if (d.has(SchedulingCause::UnboundClaims) || d.has(SchedulingCause::ClaimNotFound)) {
      sink.suggest(plannedCall("get_storage", CallArgs(), "pod " + g.name + " waits for a PersistentVolumeClaim"));
      nodeCause = d.reasons.size() > 1;
    }
    if (nodeCause) sink.suggest(plannedCall("get_nodes", CallArgs(), "compare node taints, labels and capacity with pod " + g.name));
    if (d.has(SchedulingCause::InsufficientResource)) {
      sink.suggest(plannedCall("get_quotas", CallArgs(), "LimitRange defaults can inflate the pod's requests"));
    }
  }

  void failedCreate(const EventGroup& g, agent::AnalysisSink& sink) {
    CreateFailure f = describeCreateFailure(g.message, g.ns);
    std::string existing = findingWithSubject(sink, g.object(), kName);
    if (existing.empty() && !f.quota.empty()) existing = findingMatching(sink, "", f.quota, kName);
    if (existing.empty()) existing = findingMatching(sink, "", "cannot create pods", kName);
    if (!enrich(sink, existing, g, "", 90, f.remediation)) {
      add(sink, g.object(), g.kind + " " + g.name + " cannot create pods: " + f.summary + " (FailedCreate" + g.times() + ")",
          Severity::High, 90, g, f.remediation);
    }
    if (f.quotaRelated) sink.suggest(plannedCall("get_quotas", CallArgs(), "see the quota that rejects " + g.name + "'s pods"));
  }

  void mount(const EventGroup& g, agent::AnalysisSink& sink) {
    if (g.kind != "Pod") return;
    std::string volume = between(g.message, "volume \"", "\"");
    if (volume.empty()) volume = between(g.message, "unmounted volumes=[", "]");
    std::string subject = "Pod/" + g.name;
    std::string existing = findingWithSubject(sink, subject, kName);
    std::string title = "Pod " + g.name + fill(" cannot mount ${volume}: ", {{"volume", volume.empty() ? "" : "volume " + volume,
                                                                              "a volume"}});
    std::string remediation;
    if (auto ref = parseConfigRefError(g.message)) {
      title += configRefPhrase(*ref);
      remediation = configRefRemediation(*ref, g.ns, "");
      CallArgs args;
      if (!ref->name.empty()) args.strings(ref->kind == "Secret" ? "secrets" : "configMaps", {ref->name});
      if (!ref->name.empty()) sink.suggest(plannedCall("get_config_refs", args, "check " + ref->kind + " " + ref->name + " exists"));
    } else if (containsNoCase(g.message, "Multi-Attach")) {
      title += "it is still attached to another node (Multi-Attach)";
      remediation = "A ReadWriteOnce volume attaches to one node at a time: let the old pod on the other node terminate "
                    "(or delete it), use strategy type Recreate for a Deployment with such a volume, or use ReadWriteMany storage.";
      sink.suggest(plannedCall("get_storage", CallArgs(), fill("find the claim and volume behind ${volume}",
                                                               {{"volume", volume, "the volume"}})));
    } else {
      title += fill("${message}", {{"message", shorten(g.message, 140), "the kubelet gave no reason"}});
      remediation = "Check the volume's source: the PersistentVolumeClaim is Bound and its CSI driver pods run on the node, "
                    "or the referenced ConfigMap/Secret exists (`kubectl describe pod " + g.name + g.nsFlag() + "`).";
      sink.suggest(plannedCall("get_storage", CallArgs(), "check the claims pod " + g.name + " mounts"));
    }
    title += " (" + g.reason + g.times() + ")";
    if (!enrich(sink, existing, g, "", 85)) add(sink, subject, title, Severity::High, 85, g, remediation);
  }

  static std::string probeRemediation(std::string_view kind, std::string_view detail) {
    std::string fix;
    if (containsNoCase(detail, "connection refused")) {
      fix = "Nothing listens on the probed port: make the probe's port match the port the app binds (and bind 0.0.0.0, not 127.0.0.1).";
    } else if (containsNoCase(detail, "statuscode: 404")) {
      fix = "The probed path does not exist: fix httpGet.path to the app's health endpoint.";
    } else if (containsNoCase(detail, "statuscode: 5")) {
      fix = "The app answers but reports itself unhealthy: its health check usually fails on a dependency; read its logs.";
    } else if (containsAnyNoCase(detail, {"timeout", "deadline exceeded"})) {
      fix = "The health endpoint answers too slowly: raise timeoutSeconds or make the check cheaper.";
    } else {
      fix = "Run the probe by hand in the container to see why it fails, then fix the app or the probe.";
    }
    if (kind == "Liveness") {
      fix += " The kubelet restarts the container on every failed liveness check: if the app is only slow to start, add a "
             "startupProbe or raise initialDelaySeconds/failureThreshold.";
    }
    return fix;
  }

  void probe(const EventGroup& g, agent::AnalysisSink& sink) {
    if (g.kind != "Pod") return;
    std::string kind = "Liveness";
    std::string detail;
    if (g.reason == "Killing") {
      detail = "container restarted by the kubelet";
    } else {
      auto p = g.message.find(" probe failed");
      kind = p == std::string::npos || p == 0 ? "Health" : g.message.substr(0, p);
      auto colon = g.message.find("failed:");
      detail = fill("${output}", {{"output", shorten(oneLine(colon == std::string::npos ? g.message : g.message.substr(colon + 7)), 100),
                                   "no output"}});
    }
    std::string subject = "Pod/" + g.name + (g.container.empty() ? "" : "/" + g.container);
    std::string existing = findingWithSubject(sink, subject, kName);
    if (existing.empty()) existing = findingMatching(sink, "Pod/" + g.name + "/", "", kName);
    if (existing.empty()) existing = findingWithSubject(sink, subject);  // ours, from a Killing event
    std::string phrase = "; " + toLower(kind) + " probe failed" + g.times() + ": " + detail;
    if (g.reason == "Killing") phrase = "; liveness probe failures restart it" + g.times();
    const agent::Finding* f = existing.empty() ? nullptr : findingById(sink, existing);
    bool readinessFinding = f != nullptr && containsNoCase(f->title, "not ready");
    if (f != nullptr && containsNoCase(f->title, toLower(kind) + " probe failed")) phrase.clear();
    if (enrich(sink, existing, g, phrase, 85, readinessFinding ? probeRemediation(kind, detail) : std::string())) return;
    std::string who = g.container.empty() ? "pod " + g.name : "container " + g.container + " in pod " + g.name;
    std::string title = g.reason == "Killing" ? "Liveness probe failures restart " + who + g.times()
                                              : kind + " probe of " + who + " fails" + g.times() + ": " + detail;
    add(sink, subject, title, Severity::Medium, 80, g, probeRemediation(kind, detail));
    sink.suggest(podCall(g, "the pod's status shows whether the probe keeps it unready or restarting"));
  }

  void backOff(const EventGroup& g, agent::AnalysisSink& sink) {
    if (g.kind != "Pod") return;
    bool pulling = containsNoCase(g.message, "pulling image");
    std::string container = g.container.empty() ? between(g.message, "failed container ", " in pod") : g.container;
    std::string subject = "Pod/" + g.name + (container.empty() ? "" : "/" + container);
    std::string existing = findingWithSubject(sink, subject, kName);
    if (enrich(sink, existing, g, "", 80)) return;
    std::string who = container.empty() ? "pod " + g.name : "Container " + container + " in pod " + g.name;
    if (pulling) {
      std::string image = imageInMessage(g.message);
      add(sink, subject,
          who + fill(" cannot pull ${image}", {{"image", image.empty() ? "" : "image " + image, "its image"}}) + " (ImagePullBackOff" +
              g.times() + ")",
          Severity::High, 70, g, pullRemediation(PullCause::Unknown, pullFacts(g, container, image)));
      if (image.empty()) sink.suggest(podCall(g, "the pod spec names the image the event does not"));
      return;
    }
    add(sink, subject, who + " crash-loops (BackOff restarting failed container" + g.times() + ")", Severity::High, 75, g,
        "Read why it exits: `kubectl logs " + g.name + (container.empty() ? "" : " -c " + container) + " --previous" + g.nsFlag() +
            "`, then fix the configuration or code it reports.");
    if (!container.empty()) {
      sink.suggest(plannedCall("get_pod_logs", CallArgs().str("pod", g.name).str("container", container).flag("previous", true),
                               "the previous run of " + container + " shows why it exits"));
    }
    sink.suggest(podCall(g, "the container's last exit code and reason"));
  }

  void failed(const EventGroup& g, agent::AnalysisSink& sink) {
    const std::string& m = g.message;
    if (m == "Error: ErrImagePull" || m == "Error: ImagePullBackOff") return;
    std::string subject = "Pod/" + g.name + (g.container.empty() ? "" : "/" + g.container);
    std::string existing = findingWithSubject(sink, subject, kName);
    std::string who = g.container.empty() ? "pod " + g.name : "Container " + g.container + " in pod " + g.name;
    if (containsNoCase(m, "failed to pull image") || containsNoCase(m, "failed to pull and unpack")) {
      // Also our own BackOff finding for the container: this event has the cause.
      if (existing.empty()) existing = findingWithSubject(sink, subject);
      // The message usually names the image; when it does not, the pod's
      // finding (from its spec and status) does.
      std::string image = imageInMessage(m);
      if (const agent::Finding* f = existing.empty() ? nullptr : findingById(sink, existing); image.empty() && f != nullptr) {
        image = imageInPullTitle(f->title);
      }
      PullCause cause = classifyPull("", m);
      std::string causeText = pullCauseText(cause);
      std::string remediation = pullRemediation(cause, pullFacts(g, g.container, image));
      if (enrich(sink, existing, g, causeText.empty() ? "" : ": " + causeText, 90, cause == PullCause::Unknown ? "" : remediation)) {
        return;
      }
      add(sink, subject,
          who + fill(" cannot pull ${image}", {{"image", image.empty() ? "" : "image " + image, "its image"}}) +
              (causeText.empty() ? "" : ": " + causeText) + " (ErrImagePull" + g.times() + ")",
          Severity::High, cause == PullCause::Unknown ? 70 : 90, g, remediation);
      if (image.empty()) sink.suggest(podCall(g, "the pod spec names the image the event does not"));
      return;
    }
    if (auto ref = parseConfigRefError(m)) {
      if (enrich(sink, existing, g, "", 90)) return;
      add(sink, subject, who + " cannot start: " + configRefPhrase(*ref) + " (CreateContainerConfigError" + g.times() + ")",
          Severity::High, 90, g, configRefRemediation(*ref, g.ns, ""));
      if (!ref->name.empty()) {
        sink.suggest(plannedCall("get_config_refs", CallArgs().strings(ref->kind == "Secret" ? "secrets" : "configMaps", {ref->name}),
                                 "check " + ref->kind + " " + ref->name + " and its keys"));
      }
      return;
    }
    if (m.starts_with("Error: ")) {
      if (enrich(sink, existing, g, "", 80)) return;
      add(sink, subject, who + " cannot start: " + fill("${error}", {{"error", shorten(m.substr(7), 140), "the runtime gave no error"}}) +
                             g.times(),
          Severity::High, 75, g,
          "Fix the container definition (command, args, mounts, securityContext) so the runtime can start it.");
    }
  }

  void evicted(const EventGroup& g, agent::AnalysisSink& sink) {
    if (g.kind != "Pod") return;
    std::string existing = findingWithSubject(sink, "Pod/" + g.name, kName);
    if (enrich(sink, existing, g, "", 90)) return;
    std::string resource = between(g.message, "low on resource: ", ".");
    add(sink, "Pod/" + g.name, "Pod " + g.name + " was evicted: its node ran low on " + (resource.empty() ? "resources" : resource),
        Severity::Medium, 85, g,
        "Set resources.requests of the pod's containers close to their real usage (with limits) so the scheduler reserves it "
        "and the kubelet evicts it last.");
  }

  void jobFailed(const EventGroup& g, agent::AnalysisSink& sink) {
    if (g.kind != "Job") return;
    std::string existing = findingWithSubject(sink, g.object(), kName);
    if (!enrich(sink, existing, g, "", 90)) {
      bool deadline = g.reason == "DeadlineExceeded";
      add(sink, g.object(),
          "Job " + g.name + " failed: " + (deadline ? "it ran longer than activeDeadlineSeconds" : "its pods failed backoffLimit times") +
              " (" + g.reason + ")",
          Severity::High, 85, g,
          deadline ? "Make the work finish within spec.activeDeadlineSeconds or raise it; the Job's pods' logs show where time went."
                   : "Read the failed pods' logs (`kubectl logs -l job-name=" + g.name + g.nsFlag() +
                         "`), fix the cause, then re-run the Job (delete and re-create it).");
    }
    sink.suggest(plannedCall("get_workload", CallArgs().str("kind", "Job").str("name", g.name), "the Job's conditions and counts"));
    sink.suggest(plannedCall("list_pods", CallArgs().str("selector", "job-name=" + g.name), "the Job's failed pods"));
  }

  void provisioning(const EventGroup& g, agent::AnalysisSink& sink) {
    if (g.kind != "PersistentVolumeClaim") return;
    std::string missingClass = between(g.message, "storageclass.storage.k8s.io \"", "\" not found");
    std::string what = missingClass.empty() ? fill("${message}", {{"message", shorten(g.message, 140), "no reason given"}})
                                            : "StorageClass " + missingClass + " not found";
    // VolumeMismatch: the persistentvolume controller will not bind the
    // claim to the volume it names (spec.volumeName), and says why ("requested
    // PV is too small", "incompatible accessMode").
    const bool mismatch = g.reason == "VolumeMismatch";
    std::string existing = findingWithSubject(sink, g.object(), kName);
    // A guess made without the events (the storage analyzer's "no volume
    // provisioned yet" when StorageClasses are unreadable) yields to them.
    const agent::Finding* guess = findingById(sink, existing);
    const bool guessed = guess != nullptr && guess->confidence < 80;
    const int guessConfidence = guess != nullptr ? guess->confidence : 0;  // (add() may move the findings)
    if (guessed || !enrich(sink, existing, g, "", 90)) {
      std::string how = mismatch ? " cannot bind to the volume it names: "
                                 : g.reason == "FailedBinding" ? " cannot bind: " : " cannot be provisioned: ";
      std::string fix =
          !missingClass.empty()
              ? "Use an existing StorageClass (`kubectl get storageclass`): spec.storageClassName cannot change on a PVC, so "
                "re-create the claim with a valid class, or create StorageClass " + missingClass + "."
          : mismatch
              ? "Compare the claim with the volume (`kubectl get pv` and `kubectl describe pvc " + g.name + g.nsFlag() +
                    "`): the volume must offer at least the requested storage, every requested access mode and the same "
                    "storageClassName and volumeMode. Re-create the claim to match, or name another volume."
              : "Fix the storage backend or the claim as the message says; `kubectl describe pvc " + g.name + g.nsFlag() + "`.";
      add(sink, g.object(), "PersistentVolumeClaim " + g.name + how + what + " (" + g.reason + g.times() + ")", Severity::High,
          85, g, fix);
      if (guessed) sink.enrichFinding(existing, g.evidence, "", guessConfidence, "");
    }
    sink.suggest(plannedCall("get_storage", CallArgs().str("name", g.name), "the claim, its StorageClass and candidate volumes"));
  }

  void sandbox(const EventGroup& g, agent::AnalysisSink& sink) {
    if (g.kind != "Pod") return;
    std::string existing = findingWithSubject(sink, "Pod/" + g.name, kName);
    if (enrich(sink, existing, g, "", 80)) return;
    add(sink, "Pod/" + g.name,
        "Pod " + g.name + " cannot get a sandbox: " + fill("${message}", {{"message", shorten(g.message, 140), "no reason given"}}) +
            g.times(),
        Severity::High, 75,
        g, "The node's container runtime or CNI plugin fails: check the CNI pods on that node (kube-system) and the node's "
           "runtime; pods on other nodes may be fine.");
  }

  void autoscaler(const EventGroup& g, agent::AnalysisSink& sink) {
    if (g.kind != "HorizontalPodAutoscaler") return;
    std::string existing = findingWithSubject(sink, g.object(), kName);
    if (enrich(sink, existing, g, "", 85)) return;
    add(sink, g.object(),
        "HorizontalPodAutoscaler " + g.name + " cannot scale: " +
            fill("${message}", {{"message", shorten(g.message, 140), "no reason given"}}) + " (" + g.reason + ")",
        Severity::Medium, 80, g,
        containsNoCase(g.message, "missing request")
            ? "Set resources.requests for the metric's resource on every container of the target; utilization targets need them."
            : "Check the metrics pipeline (metrics-server: `kubectl top pods`) and the HPA's metric definitions.");
    sink.suggest(plannedCall("get_hpa", CallArgs().str("name", g.name), "the autoscaler's conditions"));
  }

  void unknownWarning(const EventGroup& g, agent::AnalysisSink& sink) {
    if (unknown_ >= kMaxUnknownWarnings) return;
    if (!findingMatching(sink, g.object(), "", "").empty()) return;
    ++unknown_;
    add(sink, g.object() + "/" + g.reason,
        "Warning " + g.reason + " on " + g.kind + " " + g.name +
            fill(": ${message}", {{"message", shorten(g.message, 140), "no message"}}) + g.times(),
        Severity::Low, 50, g, "`kubectl describe " + toLower(g.kind) + " " + g.name + g.nsFlag() + "` and act on the message.");
  }
};

void EventAnalyzer::analyze(const agent::StepView& step, agent::AnalysisSink& sink) const {
  if (step.tool != "get_events" || !step.ok) return;
  Pass pass;
  for (const EventGroup& g : groupEvents(step)) pass.handle(g, sink);
}

}  // namespace

std::unique_ptr<agent::Analyzer> makeEventAnalyzer() { return std::make_unique<EventAnalyzer>(); }

}  // namespace opscopilot::tools
