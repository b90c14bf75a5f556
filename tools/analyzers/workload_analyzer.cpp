// Workload analyzer (get_workload): the status controllers keep on
// Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs.
// Whatever it finds, it asks for the workload's pods and events next: the
// workload says that it is broken, its pods say why.
#include "tools/analyzers/analyzers.h"
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

class WorkloadAnalyzer : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) override {
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
    add(sink, w, w.kind + " " + w.name + " cannot create pods" + owner + ": " + f.summary + " (" + strAt(c, {"reason"}) + ")",
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
    if (newest != nullptr && replicaFailure(newest, w, " (ReplicaSet " + rsName + ")", evidence, sink)) return;

    if (boolAt(o, {"spec", "paused"})) {
      add(sink, w, "Deployment " + w.name + " is paused: rollouts do not progress", Severity::Low, 90, evidence,
          "`kubectl rollout resume deployment/" + w.name + w.nsFlag() + "` when the change is ready.");
    }
    const Json* progressing = condition(o, "Progressing");
    if (progressing != nullptr && strAt(progressing, {"status"}) == "False" &&
        strAt(progressing, {"reason"}) == "ProgressDeadlineExceeded") {
      std::string msg = strAt(progressing, {"message"});
      while (!msg.empty() && (msg.back() == '.' || msg.back() == ' ')) msg.pop_back();
      add(sink, w, "Deployment " + w.name + " is not progressing (ProgressDeadlineExceeded): " + shorten(oneLine(msg), 120) + "; " +
                       replicaCounts(available, desired, "available") + ", " + std::to_string(updated) + " updated",
          available == 0 && desired > 0 ? Severity::High : Severity::Medium, 90, evidence,
          "The new pods never became ready; their status and logs say why (see the pod findings). Fix the pod template, or " +
              undo + ".");
      return;
    }
    if (desired == 0) {
      add(sink, w, "Deployment " + w.name + " is scaled to 0 replicas", Severity::Low, 80, evidence,
          "`kubectl scale deployment/" + w.name + " --replicas=<n>" + w.nsFlag() + "` if it should run (check any HPA first).");
      return;
    }
    if (unavailable > 0 || available < desired) {
      std::int64_t down = std::max(unavailable, desired - available);
      bool none = available == 0;
      add(sink, w,
          "Deployment " + w.name + (none ? " has no available replicas: " : " is degraded: ") +
              std::to_string(std::min(down, desired)) + " of " + std::to_string(desired) + " replicas unavailable",
          none ? Severity::High : Severity::Medium, 80, evidence,
          "See why its pods are not ready (pod findings, `kubectl get pods -l " + selectorString(at(o, {"spec", "selector"})) +
              w.nsFlag() + "`); if a new rollout broke it, " + undo + ".");
    }
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
    const Json* failed = condition(o, "Failed");
    if (failed == nullptr || strAt(failed, {"status"}) != "True") return false;
    std::string reason = strAt(failed, {"reason"});
    std::int64_t failures = intAt(o, {"status", "failed"}).value_or(0);
    std::int64_t limit = intAt(o, {"spec", "backoffLimit"}).value_or(6);
    std::string jobName = nameOf(o);
    std::string detail;
    std::string remediation;
    std::string logs = "`kubectl logs -l job-name=" + jobName + w.nsFlag() + " --tail=50`";
    if (reason == "DeadlineExceeded") {
      detail = "ran longer than activeDeadlineSeconds " + scalarText(at(o, {"spec", "activeDeadlineSeconds"}));
      remediation = "Make the work finish in time or raise spec.activeDeadlineSeconds; " + logs + " shows where it stalls.";
    } else if (reason == "BackoffLimitExceeded") {
      detail = "failed " + countOf(failures, "time") + ", backoffLimit " + std::to_string(limit);
      remediation = "Read why its pods fail: " + logs + "; fix the cause, then re-run it (a failed Job does not retry).";
    } else {
      detail = shorten(oneLine(strAt(failed, {"message"})), 120);
      remediation = "Read the failed pods' logs: " + logs + ".";
    }
    add(sink, w, prefix + "Job " + jobName + " failed: " + detail + " (" + reason + ")", Severity::High, 90, std::move(evidence),
        remediation);
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
