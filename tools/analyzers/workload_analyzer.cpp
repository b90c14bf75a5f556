// Workload analyzer (get_workload): the status controllers keep on
// Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs.
// Whatever it finds, it asks for the workload's pods and events next: the
// workload says that it is broken, its pods say why.
#include <algorithm>
#include <optional>

#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/fill.h"
#include "tools/analyzers/k8s_messages.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "workload";

struct Workload {
  const Json* obj = nullptr;
  const Json* data = nullptr;
  std::string kind;
  std::string name;
  std::string ns;
  std::vector<std::string> evidence;

  std::string object() const { return kind + "/" + name; }
  std::string target() const { return toLower(kind) + "/" + name; }
  std::string nsFlag() const { return ns.empty() ? std::string() : " -n " + ns; }
};

// One ReplicaSet of a Deployment: a revision of its pod template.
struct Revision {
  const Json* rs = nullptr;
  std::string name;
  std::string revision;  // the deployment.kubernetes.io/revision annotation; "" when missing
  std::int64_t number = -1;
  std::int64_t desired = 0;
  std::int64_t ready = 0;
  std::vector<std::pair<std::string, std::string>> images;  // container, image (as the template has them)

  std::string hash() const { return strAt(rs, {"metadata", "labels", "pod-template-hash"}); }
  std::string image(const std::string& container) const {
    for (const auto& [c, i] : images) {
      if (c == container) return i;
    }
    return {};
  }
};

Revision revisionOf(const Json* rs) {
  Revision r;
  r.rs = rs;
  r.name = nameOf(rs);
  r.revision = strAt(rs, {"metadata", "annotations", "deployment.kubernetes.io/revision"});
  if (!r.revision.empty() && r.revision.size() < 12 &&
      std::all_of(r.revision.begin(), r.revision.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    r.number = std::stoll(r.revision);
  } else {
    r.revision.clear();
  }
  r.desired = intAt(rs, {"spec", "replicas"}).value_or(1);
  r.ready = intAt(rs, {"status", "readyReplicas"}).value_or(0);
  for (const Json* c : listAt(rs, {"spec", "template", "spec", "containers"})) {
    std::string name = strAt(c, {"name"});
    std::string image = strAt(c, {"image"});
    if (!name.empty() && !image.empty()) r.images.emplace_back(name, image);
  }
  return r;
}

// A rollout whose new revision does not become ready while an older one
// still serves: what fails (revision, image) next to what still works.
struct StuckRollout {
  Revision next;
  Revision serving;

  // The containers whose image the new revision changed (all of them when none changed).
  std::vector<std::string> shownContainers() const {
    std::vector<std::string> changed, all;
    for (const auto& [c, image] : next.images) {
      all.push_back(c);
      if (serving.image(c) != image) changed.push_back(c);
    }
    return changed.empty() ? all : changed;
  }
  std::string imagesOf(const Revision& r) const {
    std::vector<std::string> parts;
    auto shown = shownContainers();
    for (const auto& c : shown) {
      std::string image = r.image(c);
      if (!image.empty()) parts.push_back(shown.size() == 1 ? image : c + "=" + image);
    }
    if (parts.empty()) return {};
    return (parts.size() == 1 ? "image " : "images ") + join(parts, ", ");
  }
  // "revision 3 (image ghcr.io/example/web:2.1.0, ReplicaSet web-7d9f5c6b8d)"
  std::string phrase(const Revision& r) const {
    std::string images = imagesOf(r);
    if (r.revision.empty()) return "ReplicaSet " + r.name + (images.empty() ? "" : " (" + images + ")");
    return "revision " + r.revision + " (" + (images.empty() ? "" : images + ", ") + "ReplicaSet " + r.name + ")";
  }
  std::string story() const {
    return phrase(next) + " has " + std::to_string(next.ready) + " of " + std::to_string(next.desired) +
           " pods ready while " + phrase(serving) + " still serves " + countOf(serving.ready, "ready replica");
  }
};

std::optional<StuckRollout> stuckRollout(const Json* data) {
  std::vector<Revision> revisions;
  for (const Json* rs : listAt(data, {"replicaSets"})) {
    if (rs->IsObject() && !nameOf(rs).empty()) revisions.push_back(revisionOf(rs));
  }
  if (revisions.size() < 2) return std::nullopt;
  // The tool lists them newest first; the revision annotation decides when present.
  const Revision* next = &revisions.front();
  for (const auto& r : revisions) {
    if (r.number > next->number) next = &r;
  }
  if (next->desired <= 0 || next->ready >= next->desired) return std::nullopt;
  const Revision* serving = nullptr;
  for (const auto& r : revisions) {
    if (&r == next || r.ready <= 0) continue;
    if (serving == nullptr || r.number > serving->number) serving = &r;
  }
  if (serving == nullptr) return std::nullopt;
  return StuckRollout{*next, *serving};
}

// What the pods of a stuck revision's finding should know about it.
struct RolloutRef {
  std::string deployment;
  std::string ns;
  std::string replicaSet;       // of the failing revision: its pods are named <replicaSet>-<suffix>
  std::string revision;         // "3"
  std::string images;           // "image ghcr.io/example/web:2.1.0", or ""
  std::string servingRevision;  // "2"
  std::string servingImages;
};

RolloutRef refOf(const std::string& deployment, const std::string& ns, const StuckRollout& r) {
  return {deployment, ns, r.next.name, r.next.revision, r.imagesOf(r.next), r.serving.revision, r.imagesOf(r.serving)};
}

// Reads the revisions back from a stuck-rollout title (StuckRollout::story);
// nullopt when the title tells no such story or the revisions are unnamed.
std::optional<RolloutRef> parseRollout(const agent::Finding& f, const std::string& ns) {
  constexpr std::string_view kWhile = " pods ready while revision ";
  auto p = f.title.find(kWhile);
  if (p == std::string::npos || !f.subject.starts_with("Deployment/")) return std::nullopt;
  auto head = f.title.rfind("revision ", p);
  if (head == std::string::npos) return std::nullopt;
  auto open = f.title.find(" (", head);
  auto close = f.title.find(") has ", head);
  if (open == std::string::npos || close == std::string::npos || open > close) return std::nullopt;
  RolloutRef ref;
  ref.deployment = f.subject.substr(11);
  ref.ns = ns;
  ref.revision = f.title.substr(head + 9, open - head - 9);
  std::string inside = f.title.substr(open + 2, close - open - 2);  // "image X, ReplicaSet RS" or "ReplicaSet RS"
  auto rs = inside.rfind("ReplicaSet ");
  if (rs == std::string::npos) return std::nullopt;
  ref.replicaSet = inside.substr(rs + 11);
  ref.images = rs >= 2 ? inside.substr(0, rs - 2) : std::string();
  std::string serving = f.title.substr(p + kWhile.size());
  auto sOpen = serving.find(" (");
  auto sClose = serving.find("ReplicaSet ");
  ref.servingRevision = serving.substr(0, sOpen);
  if (sOpen != std::string::npos && sClose != std::string::npos && sClose >= sOpen + 4) {
    ref.servingImages = serving.substr(sOpen + 2, sClose - sOpen - 4);
  }
  auto digits = [](const std::string& v) {
    return !v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if (!digits(ref.revision) || !digits(ref.servingRevision) || ref.replicaSet.empty()) return std::nullopt;
  return ref;
}

// Tells the findings of the failing revision's pods which rollout they
// belong to, and how to go back while their cause is fixed.
void enrichRevisionPods(agent::AnalysisSink& sink, std::string_view analyzer, const RolloutRef& ref) {
  std::string prefix = "Pod/" + ref.replicaSet + "-";
  // The images are left out when the templates did not carry them.
  std::string detail = fill("; it runs revision ${revision}", {{"revision", ref.revision, "<revision>"}}) +
                       (ref.images.empty() ? "" : " (" + ref.images + ")") +
                       fill(" of Deployment ${deployment}, whose rollout is stuck while revision ${serving}",
                            {{"deployment", ref.deployment, "<deployment>"}, {"serving", ref.servingRevision, "<revision>"}}) +
                       (ref.servingImages.empty() ? "" : " (" + ref.servingImages + ")") + " still serves";
  std::string rollback = "`kubectl rollout undo deployment/" + ref.deployment + (ref.ns.empty() ? "" : " -n " + ref.ns) +
                         " --to-revision=" + ref.servingRevision + "`";
  struct Update {
    std::string id;
    std::string remediation;
  };
  std::vector<Update> updates;
  for (const auto& f : sink.findings()) {
    if (f.analyzer == analyzer || !f.subject.starts_with(prefix) || f.severity < agent::Severity::Medium) continue;
    if (f.title.find("whose rollout is stuck") != std::string::npos) continue;
    std::string remediation = f.remediation.find(rollback) != std::string::npos
                                  ? std::string()
                                  : f.remediation + (f.remediation.empty() ? "" : " ") + "Meanwhile " + rollback +
                                        " brings revision " + ref.servingRevision + " back.";
    updates.push_back({f.id, remediation});
  }
  for (const auto& u : updates) sink.enrichFinding(u.id, {}, detail, 0, u.remediation);
}

class WorkloadAnalyzer : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override {
    if (step.tool == "list_pods" && step.ok) return revisionPods(step, sink);
    if (step.tool != "get_workload" || !step.ok) return;
    for (const Json* item : listAt(step.data, {"items"})) {
      if (!item->IsObject()) continue;
      Workload w;
      w.obj = item;
      w.data = step.data;
      w.kind = strAt(item, {"kind"});
      if (w.kind.empty()) w.kind = strAt(step.args, {"kind"});
      w.name = nameOf(item);
      if (w.kind.empty() || w.name.empty()) continue;
      w.ns = namespaceOf(item);
      w.evidence = cite(step, {w.object()});
      if (w.kind == "Deployment") {
        deployment(step, w, sink);
      } else if (w.kind == "StatefulSet") {
        statefulSet(w, sink);
      } else if (w.kind == "DaemonSet") {
        daemonSet(w, sink);
      } else if (w.kind == "ReplicaSet") {
        replicaSet(w, sink);
      } else if (w.kind == "Job") {
        job(w, sink);
      } else if (w.kind == "CronJob") {
        cronJob(step, w, sink);
        continue;
      } else {
        continue;
      }
      followUp(w, selectorString(at(item, {"spec", "selector"})), sink);
    }
  }

 private:
  // On a list_pods step: the pods of a stuck revision found after the
  // Deployment learn which rollout they belong to.
  static void revisionPods(const agent::StepView& step, agent::AnalysisSink& sink) {
    std::string ns;
    for (const Json* pod : listAt(step.data, {"items"})) {
      if (ns.empty()) ns = namespaceOf(pod);
    }
    std::vector<RolloutRef> refs;
    for (const auto& f : sink.findings()) {
      if (f.analyzer != kName) continue;
      if (auto ref = parseRollout(f, ns)) refs.push_back(*ref);
    }
    for (const auto& ref : refs) enrichRevisionPods(sink, kName, ref);
  }

  static void add(agent::AnalysisSink& sink, const Workload& w, std::string title, Severity severity, int confidence,
                  std::vector<std::string> evidence, std::string remediation) {
    agent::FindingDraft d;
    d.subject = w.object();
    d.title = std::move(title);
    d.severity = severity;
    d.confidence = confidence;
    d.evidence = std::move(evidence);
    d.remediation = std::move(remediation);
    sink.addFinding(kName, std::move(d));
  }

  static void followUp(const Workload& w, const std::string& selector, agent::AnalysisSink& sink) {
    if (!selector.empty()) {
      sink.suggest(plannedCall("list_pods", CallArgs().str("selector", selector), "the pods of " + w.object() + " show why"));
    }
    sink.suggest(plannedCall("get_events", CallArgs().str("kind", w.kind).str("name", w.name), "the events of " + w.object()));
  }

  static std::string replicaCounts(std::int64_t ready, std::int64_t desired, std::string_view word) {
    return std::to_string(ready) + " of " + std::to_string(desired) + " replicas " + std::string(word);
  }

  // A ReplicaFailure=True condition (quota, admission), as the controller wrote it.
  static bool replicaFailure(const Json* obj, const Workload& w, const std::string& owner, std::vector<std::string> evidence,
                             agent::AnalysisSink& sink) {
    const Json* c = condition(obj, "ReplicaFailure");
    if (c == nullptr || strAt(c, {"status"}) != "True") return false;
    CreateFailure f = describeCreateFailure(strAt(c, {"message"}), w.ns);
    std::string reason = strAt(c, {"reason"});
    add(sink, w, w.kind + " " + w.name + " cannot create pods" + owner + ": " + f.summary + (reason.empty() ? "" : " (" + reason + ")"),
        Severity::High, 90, std::move(evidence), f.remediation);
    if (f.quotaRelated) sink.suggest(plannedCall("get_quotas", CallArgs(), "see the quota blocking " + w.object()));
    return true;
  }

  static void deployment(const agent::StepView& step, const Workload& w, agent::AnalysisSink& sink) {
    const Json* o = w.obj;
    std::int64_t desired = intAt(o, {"spec", "replicas"}).value_or(1);
    std::int64_t available = intAt(o, {"status", "availableReplicas"}).value_or(0);
    std::int64_t unavailable = intAt(o, {"status", "unavailableReplicas"}).value_or(std::max<std::int64_t>(desired - available, 0));
    std::int64_t updated = intAt(o, {"status", "updatedReplicas"}).value_or(0);
    const Json* newest = nullptr;
    for (const Json* rs : listAt(w.data, {"replicaSets"})) {
      if (rs->IsObject()) {
        newest = rs;
        break;
      }
    }
    std::string rsName = nameOf(newest);
    std::vector<std::string> evidence = w.evidence;
    if (!rsName.empty()) addEvidence(evidence, cite(step, {"ReplicaSet/" + rsName}));
    std::string undo = "`kubectl rollout undo deployment/" + w.name + w.nsFlag() + "` returns to the previous ReplicaSet";

    if (replicaFailure(o, w, "", evidence, sink)) return;
    if (newest != nullptr && replicaFailure(newest, w, rsName.empty() ? "" : " (ReplicaSet " + rsName + ")", evidence, sink)) return;

    if (boolAt(o, {"spec", "paused"})) {
      add(sink, w, "Deployment " + w.name + " is paused: rollouts do not progress", Severity::Low, 90, evidence,
          "`kubectl rollout resume deployment/" + w.name + w.nsFlag() + "` when the change is ready.");
    }
    const Json* progressing = condition(o, "Progressing");
    bool deadline = progressing != nullptr && strAt(progressing, {"status"}) == "False" &&
                    strAt(progressing, {"reason"}) == "ProgressDeadlineExceeded";
    std::string counts = replicaCounts(available, desired, "available") + ", " + std::to_string(updated) + " updated";
    auto stuck = stuckRollout(w.data);
    if (stuck) {
      addEvidence(evidence, cite(step, {"ReplicaSet/" + stuck->next.name}));
      addEvidence(evidence, cite(step, {"ReplicaSet/" + stuck->serving.name}));
      // Pods read before the Deployment: tell their findings now.
      if (!stuck->next.revision.empty() && !stuck->serving.revision.empty()) {
        enrichRevisionPods(sink, kName, refOf(w.name, w.ns, *stuck));
      }
    }
    if (deadline) {
      std::string msg = strAt(progressing, {"message"});
      while (!msg.empty() && (msg.back() == '.' || msg.back() == ' ')) msg.pop_back();
      add(sink, w,
          "Deployment " + w.name + " is not progressing (ProgressDeadlineExceeded): " +
              fill("${message}", {{"message", shorten(oneLine(msg), 120), "the controller gave no message"}}) + "; " +
              (stuck ? stuck->story() + "; " : std::string()) + counts,
          available == 0 && desired > 0 ? Severity::High : Severity::Medium, 90, evidence,
          stuck ? rolloutRemediation(w, *stuck)
                : "The new pods never became ready; their status and logs say why (see the pod findings). Fix the pod template, or " +
                      undo + ".");
      return;
    }
    if (desired == 0) {
      add(sink, w, "Deployment " + w.name + " is scaled to 0 replicas", Severity::Low, 80, evidence,
          "`kubectl scale deployment/" + w.name + " --replicas=<n>" + w.nsFlag() + "` if it should run (check any HPA first).");
      return;
    }
    if (stuck && (unavailable > 0 || available < desired || updated < desired)) {
      add(sink, w, "Deployment " + w.name + " is rolling out a revision whose pods are not ready: " + stuck->story() + "; " + counts,
          available == 0 ? Severity::High : Severity::Medium, 80, evidence, rolloutRemediation(w, *stuck));
      return;
    }
    if (unavailable > 0 || available < desired) {
      std::int64_t down = std::max(unavailable, desired - available);
      bool none = available == 0;
      std::string selector = selectorString(at(o, {"spec", "selector"}));
      add(sink, w,
          "Deployment " + w.name + (none ? " has no available replicas: " : " is degraded: ") +
              std::to_string(std::min(down, desired)) + " of " + std::to_string(desired) + " replicas unavailable",
          none ? Severity::High : Severity::Medium, 80, evidence,
          "See why its pods are not ready (pod findings" +
              (selector.empty() ? std::string() : ", `kubectl get pods -l " + shellWord(selector) + w.nsFlag() + "`") +
              "); if a new rollout broke it, " + undo + ".");
    }
  }

  static std::string rolloutRemediation(const Workload& w, const StuckRollout& r) {
    std::string hash = r.next.hash();
    std::string pods = hash.empty() ? std::string()
                                    : ", or `kubectl get pods -l pod-template-hash=" + hash + w.nsFlag() + "`";
    std::string back = r.serving.revision.empty()
                           ? "`kubectl rollout undo deployment/" + w.name + w.nsFlag() + "` returns to the previous ReplicaSet"
                           : "`kubectl rollout undo deployment/" + w.name + w.nsFlag() + " --to-revision=" + r.serving.revision +
                                 "` returns to " + r.phrase(r.serving);
    return "The pods of " + r.phrase(r.next) + " do not become ready; their status and logs say why (see the pod findings" + pods +
           "). Fix the pod template and roll out again, or go back: " + back + ".";
  }

  static void statefulSet(const Workload& w, agent::AnalysisSink& sink) {
    const Json* o = w.obj;
    std::int64_t desired = intAt(o, {"spec", "replicas"}).value_or(1);
    std::int64_t ready = intAt(o, {"status", "readyReplicas"}).value_or(0);
    if (desired == 0 || ready >= desired) return;
    bool ordered = strAt(o, {"spec", "podManagementPolicy"}) != "Parallel";
    std::string first = w.name + "-" + std::to_string(ready);
    add(sink, w,
        "StatefulSet " + w.name + (ready == 0 ? " has no ready replicas: " : " is degraded: ") +
            replicaCounts(ready, desired, "ready"),
        ready == 0 ? Severity::High : Severity::Medium, 80, w.evidence,
        ordered ? "With OrderedReady pods start one by one: the first unready pod (likely " + first +
                      ") blocks the rest; fix it first (its status, logs and PersistentVolumeClaim)."
                : "See why the pods are not ready (pod findings and their PersistentVolumeClaims).");
  }

  static void daemonSet(const Workload& w, agent::AnalysisSink& sink) {
    const Json* o = w.obj;
    std::int64_t desired = intAt(o, {"status", "desiredNumberScheduled"}).value_or(0);
    std::int64_t ready = intAt(o, {"status", "numberReady"}).value_or(0);
    std::int64_t unavailable = intAt(o, {"status", "numberUnavailable"}).value_or(std::max<std::int64_t>(desired - ready, 0));
    std::int64_t misscheduled = intAt(o, {"status", "numberMisscheduled"}).value_or(0);
    if (desired == 0) {
      add(sink, w, "DaemonSet " + w.name + " schedules no pods: its nodeSelector/affinity/tolerations match no node",
          Severity::Low, 70, w.evidence,
          "Check spec.template.spec.nodeSelector and tolerations against the nodes' labels and taints.");
      sink.suggest(plannedCall("get_nodes", CallArgs(), "which nodes DaemonSet " + w.name + " could run on"));
      return;
    }
    if (unavailable > 0) {
      add(sink, w,
          "DaemonSet " + w.name + " is degraded: " + std::to_string(unavailable) + " of " + std::to_string(desired) +
              " pods unavailable",
          ready == 0 ? Severity::High : Severity::Medium, 80, w.evidence,
          "See why the pods on those nodes are not ready (pod findings); node-specific causes are taints, disk or image pulls.");
    } else if (misscheduled > 0) {
      add(sink, w, "DaemonSet " + w.name + " has " + countOf(misscheduled, "pod") + " on nodes it should not run on",
          Severity::Low, 70, w.evidence, "Check the DaemonSet's nodeSelector and the nodes' labels.");
    }
  }

  static void replicaSet(const Workload& w, agent::AnalysisSink& sink) {
    if (replicaFailure(w.obj, w, "", w.evidence, sink)) return;
    std::int64_t desired = intAt(w.obj, {"spec", "replicas"}).value_or(1);
    std::int64_t ready = intAt(w.obj, {"status", "readyReplicas"}).value_or(0);
    if (desired == 0 || ready >= desired) return;
    add(sink, w, "ReplicaSet " + w.name + (ready == 0 ? " has no ready replicas: " : " is degraded: ") +
                     replicaCounts(ready, desired, "ready"),
        ready == 0 ? Severity::High : Severity::Medium, 75, w.evidence, "See why its pods are not ready (pod findings).");
  }

  // Returns true when the Job failed.
  static bool jobFailure(const Workload& w, const Json* o, const std::string& prefix, std::vector<std::string> evidence,
                         agent::AnalysisSink& sink) {
    // Since Kubernetes 1.31 the controller sets FailureTarget first and
    // Failed only once the Job's last pods have terminated: failed either way.
    const Json* failed = condition(o, "Failed");
    if (failed == nullptr || strAt(failed, {"status"}) != "True") failed = condition(o, "FailureTarget");
    if (failed == nullptr || strAt(failed, {"status"}) != "True") return false;
    std::string reason = strAt(failed, {"reason"});
    std::int64_t failures = intAt(o, {"status", "failed"}).value_or(0);
    std::int64_t limit = intAt(o, {"spec", "backoffLimit"}).value_or(6);
    std::string jobName = nameOf(o);
    std::string detail;
    std::string remediation;
    std::string logs = "`kubectl logs -l job-name=" + jobName + w.nsFlag() + " --tail=50`";
    if (reason == "DeadlineExceeded") {
      std::string seconds = scalarText(at(o, {"spec", "activeDeadlineSeconds"}));
      detail = "ran longer than activeDeadlineSeconds" + (seconds.empty() ? std::string() : " " + seconds);
      remediation = "Make the work finish in time or raise spec.activeDeadlineSeconds; " + logs + " shows where it stalls.";
    } else if (reason == "BackoffLimitExceeded") {
      detail = "failed " + countOf(failures, "time") + ", backoffLimit " + std::to_string(limit);
      remediation = "Read why its pods fail: " + logs + "; fix the cause, then re-run it (a failed Job does not retry).";
    } else {
      detail = fill("${message}", {{"message", shorten(oneLine(strAt(failed, {"message"})), 120), "the controller gave no reason"}});
      remediation = "Read the failed pods' logs: " + logs + ".";
    }
    add(sink, w, prefix + "Job " + jobName + " failed: " + detail + (reason.empty() ? "" : " (" + reason + ")"), Severity::High, 90,
        std::move(evidence), remediation);
    return true;
  }

  static void job(const Workload& w, agent::AnalysisSink& sink) {
    const Json* o = w.obj;
    if (jobFailure(w, o, "", w.evidence, sink)) return;
    const Json* complete = condition(o, "Complete");
    if (complete != nullptr && strAt(complete, {"status"}) == "True") return;
    const Json* suspended = condition(o, "Suspended");
    if (boolAt(o, {"spec", "suspend"}) || (suspended != nullptr && strAt(suspended, {"status"}) == "True")) {
      add(sink, w, "Job " + w.name + " is suspended", Severity::Low, 85, w.evidence,
          "Set spec.suspend to false to let it run.");
      return;
    }
    std::int64_t failures = intAt(o, {"status", "failed"}).value_or(0);
    if (failures > 0) {
      std::int64_t limit = intAt(o, {"spec", "backoffLimit"}).value_or(6);
      add(sink, w,
          "Job " + w.name + " keeps failing: " + countOf(failures, "failed pod") + " so far, backoffLimit " + std::to_string(limit),
          Severity::Medium, 80, w.evidence,
          "Read the failed pods' logs (`kubectl logs -l job-name=" + w.name + w.nsFlag() + "`) before it exhausts its retries.");
    }
  }

  static void cronJob(const agent::StepView& step, const Workload& w, agent::AnalysisSink& sink) {
    const Json* o = w.obj;
    if (boolAt(o, {"spec", "suspend"})) {
      add(sink, w, "CronJob " + w.name + " is suspended: no Jobs are scheduled", Severity::Medium, 90, w.evidence,
          "`kubectl patch cronjob " + w.name + w.nsFlag() + " -p '{\"spec\":{\"suspend\":false}}'` if it should run.");
    }
    const Json* last = nullptr;
    for (const Json* j : listAt(w.data, {"jobs"})) {
      if (j->IsObject()) {
        last = j;
        break;
      }
    }
    std::string lastName = nameOf(last);
    if (last != nullptr && !lastName.empty()) {
      std::vector<std::string> evidence = w.evidence;
      addEvidence(evidence, cite(step, {"Job/" + lastName}));
      jobFailure(w, last, "CronJob " + w.name + ": its last ", evidence, sink);
      sink.suggest(plannedCall("list_pods", CallArgs().str("selector", "job-name=" + lastName),
                               "the pods of " + w.name + "'s last Job " + lastName));
    }
    sink.suggest(plannedCall("get_events", CallArgs().str("kind", "CronJob").str("name", w.name), "the events of CronJob " + w.name));
  }
};

}  // namespace

std::unique_ptr<agent::Analyzer> makeWorkloadAnalyzer() { return std::make_unique<WorkloadAnalyzer>(); }

}  // namespace opscopilot::tools
