// Storage analyzer (get_storage): why a PersistentVolumeClaim stays Pending
// (its StorageClass does not exist, there is no default class, no static
// PersistentVolume fits) or is Lost. Provisioner errors arrive as
// ProvisioningFailed events, which the event analyzer reads.
#include <algorithm>

#include "tools/analyzers/analyzers.h"
#include "tools/analyzers/fill.h"
#include "tools/analyzers/support.h"

namespace opscopilot::tools {

namespace {

using namespace analysis;
using agent::Severity;

constexpr std::string_view kName = "storage";

bool forbidden(const Json* data, std::string_view resource) {
  for (const Json* f : listAt(data, {"forbidden"})) {
    if (str(f) == resource) return true;
  }
  return false;
}

std::vector<std::string> strings(const Json* arr) {
  std::vector<std::string> out;
  for (const Json* v : list(arr)) {
    if (v->IsString()) out.push_back(str(v));
  }
  return out;
}

bool isDefaultClass(const Json* sc) {
  for (const char* key : {"storageclass.kubernetes.io/is-default-class", "storageclass.beta.kubernetes.io/is-default-class"}) {
    if (strAt(sc, {"metadata", "annotations", key}) == "true") return true;
  }
  return false;
}

struct Claim {
  const Json* pvc = nullptr;
  std::string name;
  std::string ns;
  bool hasClassField = false;
  std::string storageClass;
  std::string request;
  std::vector<std::string> modes;
  std::string volumeMode;

  std::string nsFlag() const { return ns.empty() ? std::string() : " -n " + ns; }
  std::string asks() const {
    return (request.empty() ? std::string("any size") : request) + (modes.empty() ? "" : " " + join(modes, ","));
  }
};

// Why no Available PersistentVolume fits the claim ("" when one does).
std::string staticMismatch(const Claim& c, const std::vector<const Json*>& pvs) {
  auto wanted = parseQuantity(c.request);
  std::vector<std::string> near;
  for (const Json* pv : pvs) {
    std::string pvClass = strAt(pv, {"spec", "storageClassName"});
    if (pvClass != c.storageClass) continue;
    std::string phase = strAt(pv, {"status", "phase"});
    std::string size = scalarText(at(pv, {"spec", "capacity", "storage"}));
    auto modes = strings(at(pv, {"spec", "accessModes"}));
    std::string mode = strAt(pv, {"spec", "volumeMode"});
    bool sizeOk = !wanted || (parseQuantity(size) && *parseQuantity(size) >= *wanted);
    bool modesOk = std::all_of(c.modes.begin(), c.modes.end(),
                               [&](const std::string& m) { return std::find(modes.begin(), modes.end(), m) != modes.end(); });
    bool volumeModeOk = (mode.empty() ? "Filesystem" : mode) == (c.volumeMode.empty() ? "Filesystem" : c.volumeMode);
    if (phase == "Available" && sizeOk && modesOk && volumeModeOk) return {};
    if (near.size() < 3 && !nameOf(pv).empty()) {
      std::string shape = fill("${size}", {{"size", size, "no size"}}) + (modes.empty() ? "" : " " + join(modes, ","));
      near.push_back(nameOf(pv) + " (" + shape + ", " + (phase.empty() ? "unknown" : phase) + ")");
    }
  }
  std::string cls = c.storageClass.empty() ? std::string("without a class") : "of class " + c.storageClass;
  return "no Available PersistentVolume " + cls + " fits " + c.asks() +
         (near.empty() ? std::string() : "; candidates: " + join(near, ", "));
}

class StorageAnalyzer : public agent::Analyzer {
 public:
  std::string_view name() const override { return kName; }

  void analyze(const agent::StepView& step, agent::AnalysisSink& sink) const override {
    if (step.tool != "get_storage" || !step.ok) return;
    const Json* data = step.data;
    bool classesKnown = !forbidden(data, "storageclasses");
    bool pvsKnown = !forbidden(data, "persistentvolumes");
    std::vector<const Json*> classes;
    for (const Json* sc : listAt(data, {"storageClasses"})) {
      if (sc->IsObject()) classes.push_back(sc);
    }
    std::vector<const Json*> pvs;
    for (const Json* pv : listAt(data, {"persistentVolumes"})) {
      if (pv->IsObject()) pvs.push_back(pv);
    }
    for (const Json* pvc : listAt(data, {"items"})) {
      if (!pvc->IsObject()) continue;
      Claim c;
      c.pvc = pvc;
      c.name = nameOf(pvc);
      if (c.name.empty()) continue;
      c.ns = namespaceOf(pvc);
      const Json* cls = at(pvc, {"spec", "storageClassName"});
      c.hasClassField = cls != nullptr && cls->IsString();
      c.storageClass = str(cls);
      c.request = scalarText(at(pvc, {"spec", "resources", "requests", "storage"}));
      c.modes = strings(at(pvc, {"spec", "accessModes"}));
      c.volumeMode = strAt(pvc, {"spec", "volumeMode"});
      std::string phase = strAt(pvc, {"status", "phase"});
      agent::FindingDraft d;
      d.subject = "PersistentVolumeClaim/" + c.name;
      d.evidence = cite(step, {d.subject});
      if (phase == "Lost") {
        std::string pv = strAt(pvc, {"spec", "volumeName"});
        d.title = fill("PersistentVolumeClaim ${claim} is Lost: its ${pv} no longer exists",
                       {{"claim", c.name, "<claim>"}, {"pv", pv.empty() ? "" : "PersistentVolume " + pv, "PersistentVolume"}});
        d.severity = Severity::High;
        d.confidence = 90;
        d.remediation = fill("The data volume is gone: restore it (from backup or by re-creating ${pv} with the same claimRef), or "
                             "delete and re-create the claim.",
                             {{"pv", pv.empty() ? "" : "PersistentVolume " + pv, "its PersistentVolume"}});
        sink.addFinding(kName, std::move(d));
        continue;
      }
      if (phase != "Pending") continue;
      pending(c, classesKnown ? &classes : nullptr, pvsKnown ? &pvs : nullptr, d);
      if (!d.title.empty()) sink.addFinding(kName, std::move(d));
      sink.suggest(plannedCall("get_events", CallArgs().str("kind", "PersistentVolumeClaim").str("name", c.name),
                               "ProvisioningFailed events of claim " + c.name));
    }
  }

 private:
  static std::string classList(const std::vector<const Json*>& classes) {
    std::vector<std::string> names;
    for (const Json* sc : classes) {
      if (!nameOf(sc).empty()) names.push_back(nameOf(sc) + (isDefaultClass(sc) ? " (default)" : ""));
    }
    return names.empty() ? std::string("none") : join(names, ", ");
  }

  // Fills d for a Pending claim; leaves the title empty when nothing is wrong.
  static void pending(const Claim& c, const std::vector<const Json*>* classes, const std::vector<const Json*>* pvs,
                      agent::FindingDraft& d) {
    std::string title = "PersistentVolumeClaim " + c.name + " is Pending: ";
    std::string recreate = "storageClassName cannot change on an existing claim: delete and re-create it (`kubectl delete pvc " +
                           c.name + c.nsFlag() + "`, then apply the fixed manifest)";
    d.severity = Severity::High;
    std::string volume = strAt(c.pvc, {"spec", "volumeName"});
    if (!volume.empty() && pvs != nullptr) {
      const Json* pv = nullptr;
      for (const Json* p : *pvs) {
        if (nameOf(p) == volume) pv = p;
      }
      std::string claimedBy = strAt(pv, {"spec", "claimRef", "name"});
      if (pv == nullptr) {
        d.title = title + "it asks for PersistentVolume " + volume + ", which does not exist";
        d.confidence = 85;
        d.remediation = "Create PersistentVolume " + volume + " or drop spec.volumeName (re-create the claim).";
      } else if (!claimedBy.empty() && claimedBy != c.name) {
        d.title = title + "PersistentVolume " + volume + " is bound to another claim (" + claimedBy + ")";
        d.confidence = 85;
        d.remediation = "Use a free PersistentVolume, or release " + volume + " (clear its spec.claimRef once " + claimedBy +
                        " is gone).";
      }
      if (!d.title.empty()) return;
    }
    if (c.hasClassField && !c.storageClass.empty()) {
      const Json* sc = nullptr;
      if (classes != nullptr) {
        for (const Json* s : *classes) {
          if (nameOf(s) == c.storageClass) sc = s;
        }
      }
      if (classes != nullptr && sc == nullptr) {
        d.title = title + "StorageClass " + c.storageClass + " does not exist (available: " + classList(*classes) + ")";
        d.confidence = 95;
        d.remediation = "Use an existing StorageClass in spec.storageClassName (" + recreate + "), or create StorageClass " +
                        c.storageClass + ".";
        return;
      }
      if (sc == nullptr) {
        d.title = title + "no volume provisioned for class " + c.storageClass + " yet (StorageClasses not readable)";
        d.severity = Severity::Medium;
        d.confidence = 50;
        d.remediation = "Read the claim's events: `kubectl describe pvc " + c.name + c.nsFlag() + "`.";
        return;
      }
      std::string provisioner = strAt(sc, {"provisioner"});
      if (provisioner == "kubernetes.io/no-provisioner") {
        if (pvs != nullptr) {
          std::string why = staticMismatch(c, *pvs);
          if (!why.empty()) {
            d.title = title + why;
            d.confidence = 85;
            d.remediation = "Class " + c.storageClass + " has no provisioner: create a PersistentVolume of that class with at least " +
                            c.asks() + ", or shrink the request / change access modes.";
          }
        }
        return;
      }
      if (strAt(sc, {"volumeBindingMode"}) == "WaitForFirstConsumer") {
        d.title = title + "class " + c.storageClass + " binds only once a pod using the claim is scheduled (WaitForFirstConsumer)";
        d.severity = Severity::Info;
        d.confidence = 70;
        d.remediation = "Expected until a pod mounts it; if such a pod is Pending, its scheduling finding tells why.";
        return;
      }
      d.title = title + fill("${provisioner} of class ${class} has not created a volume",
                             {{"provisioner", provisioner.empty() ? "" : "provisioner " + provisioner, "the provisioner"},
                              {"class", c.storageClass, "<class>"}});
      d.severity = Severity::Medium;
      d.confidence = 65;
      d.remediation = "Read the claim's ProvisioningFailed events (`kubectl describe pvc " + c.name + c.nsFlag() +
                      "`) and check the provisioner's controller pods.";
      return;
    }
    if (c.hasClassField) {  // "": static binding only
      if (pvs == nullptr) return;
      std::string why = staticMismatch(c, *pvs);
      if (why.empty()) return;
      d.title = title + why;
      d.confidence = 85;
      d.remediation = "An empty storageClassName disables dynamic provisioning: create a matching PersistentVolume, or set a "
                      "StorageClass (" + recreate + ").";
      return;
    }
    if (classes == nullptr) return;
    bool hasDefault = std::any_of(classes->begin(), classes->end(), isDefaultClass);
    if (hasDefault) return;  // retroactive default assignment will set it
    d.title = title + "it sets no storageClassName and there is no default StorageClass (available: " + classList(*classes) + ")";
    d.confidence = classes->empty() ? 90 : 75;
    d.remediation = classes->empty()
                        ? "Install a storage provisioner and its StorageClass (mark it default), or create a matching "
                          "PersistentVolume by hand."
                        : "Set spec.storageClassName to one of the classes (" + recreate +
                              "), or mark one default: `kubectl patch storageclass <name> -p "
                              "'{\"metadata\":{\"annotations\":{\"storageclass.kubernetes.io/is-default-class\":\"true\"}}}'`.";
  }
};

}  // namespace

std::unique_ptr<agent::Analyzer> makeStorageAnalyzer() { return std::make_unique<StorageAnalyzer>(); }

}  // namespace opscopilot::tools
