// get_storage: PersistentVolumeClaims of the namespace (one or all), with the
// PersistentVolumes and StorageClasses they use. PVs and StorageClasses are
// cluster-scoped: a namespace reader is usually refused them, which is
// reported in "forbidden" and as evidence, not as a failure of the call.
#include <set>

#include "tools/kube_tool.h"
#include "tools/render.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

std::string renderPvc(const rapidjson::Value& pvc) {
  std::string out = "PersistentVolumeClaim " + std::string(stringAt(pvc, {"metadata", "name"})) + ": phase " +
                    std::string(stringAt(pvc, {"status", "phase"}));
  auto cls = stringAt(pvc, {"spec", "storageClassName"});
  out += "; storageClass " + (cls.empty() ? std::string("(default)") : std::string(cls));
  if (auto r = renderResourceList(valueAt(pvc, {"spec", "resources", "requests"})); !r.empty()) out += "; requests " + r;
  if (const auto* modes = valueAt(pvc, {"spec", "accessModes"}); modes && modes->IsArray()) {
    std::vector<std::string> m;
    for (const auto& v : modes->GetArray()) m.push_back(scalarText(&v));
    out += "; accessModes " + join(m, ",");
  }
  auto vol = stringAt(pvc, {"spec", "volumeName"});
  out += "; volume " + (vol.empty() ? std::string("none") : std::string(vol));
  if (auto c = renderResourceList(valueAt(pvc, {"status", "capacity"})); !c.empty()) out += "; capacity " + c;
  out += renderConditions(valueAt(pvc, {"status", "conditions"}), "  ", false);
  return out;
}

std::string renderPv(const rapidjson::Value& pv) {
  std::string out = "PersistentVolume " + std::string(stringAt(pv, {"metadata", "name"})) + ": phase " +
                    std::string(stringAt(pv, {"status", "phase"}));
  if (auto c = renderResourceList(valueAt(pv, {"spec", "capacity"})); !c.empty()) out += "; capacity " + c;
  out += "; storageClass " + std::string(stringAt(pv, {"spec", "storageClassName"}));
  out += "; reclaimPolicy " + std::string(stringAt(pv, {"spec", "persistentVolumeReclaimPolicy"}));
  if (auto n = stringAt(pv, {"spec", "claimRef", "name"}); !n.empty()) {
    out += "; claim " + std::string(stringAt(pv, {"spec", "claimRef", "namespace"})) + "/" + std::string(n);
  }
  if (auto m = stringAt(pv, {"status", "message"}); !m.empty()) out += "; " + quoted(m);
  return out;
}

std::string renderStorageClass(const rapidjson::Value& sc) {
  std::string out = "StorageClass " + std::string(stringAt(sc, {"metadata", "name"})) + ": provisioner " +
                    std::string(stringAt(sc, {"provisioner"}));
  if (auto m = stringAt(sc, {"volumeBindingMode"}); !m.empty()) out += "; volumeBindingMode " + std::string(m);
  if (auto r = stringAt(sc, {"reclaimPolicy"}); !r.empty()) out += "; reclaimPolicy " + std::string(r);
  if (stringAt(sc, {"metadata", "annotations", "storageclass.kubernetes.io/is-default-class"}) == "true") {
    out += "; default class";
  }
  return out;
}

class GetStorageTool : public KubeTool {
 public:
  GetStorageTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings,
                 makeSpec("get_storage",
                          "Reads a PersistentVolumeClaim (or all of the namespace) with the PersistentVolumes and "
                          "StorageClasses it uses, to explain a claim stuck in Pending.",
                          R"({"type":"object","properties":{
"name":{"type":"string","minLength":1,"maxLength":253,"description":"a PersistentVolumeClaim; omit for all"}},
"additionalProperties":false})",
                          settings)) {}

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) override {
    std::string name;
    if (auto bad = checkOptionalName(args, &name)) return *bad;
    auto data = newData();
    auto& a = data->GetAllocator();
    for (auto key : {"items", "persistentVolumes", "storageClasses", "forbidden"}) {
      setMember(*data, key, rapidjson::Value(rapidjson::kArrayType));
    }

    agent::ToolOutput failure;
    auto read = call.getOrList(kinds::kPersistentVolumeClaim, name, 500, data, &failure);
    if (!read) return failure;
    std::vector<kube::ObjectPtr> pvcs = std::move(*read);
    (*data)["items"] = trimmedArray(pvcs, a);

    agent::ToolOutput out;
    // Pending claims first: they are what a storage question is about.
    std::stable_partition(pvcs.begin(), pvcs.end(),
                          [](const kube::ObjectPtr& p) { return p->stringAt({"status", "phase"}) != "Bound"; });
    std::vector<agent::EvidenceDraft> later;
    std::set<std::string> forbidden, volumes, classes;
    bool needDefaultClass = false;
    for (const auto& p : pvcs) {
      out.evidence.push_back({"PersistentVolumeClaim/" + std::string(p->name()), renderPvc(p->json())});
      if (auto v = p->stringAt({"spec", "volumeName"}); !v.empty()) volumes.emplace(v);
      auto cls = p->stringAt({"spec", "storageClassName"});
      if (!cls.empty()) classes.emplace(cls);
      // Absent (not "") means the default class, which only a list finds.
      if (!p->at({"spec", "storageClassName"})) needDefaultClass = true;
    }

    auto deny = [&](const kube::Error& e, std::string_view verb, const ApiKind& kind, std::string_view n) {
      if (e.isForbidden()) {
        if (forbidden.insert(std::string(kind.ref.resource)).second) {
          out.evidence.push_back(call.failureEvidence(e, verb, kind, n));
        }
      } else {
        later.push_back(call.failureEvidence(e, verb, kind, n));
      }
    };
    for (const auto& v : volumes) {
      if (forbidden.contains("persistentvolumes")) break;
      auto pv = call.get(kinds::kPersistentVolume, v);
      if (pv.ok()) {
        (*data)["persistentVolumes"].PushBack(trimmed((*pv)->json(), a), a);
        later.push_back({"PersistentVolume/" + v, renderPv((*pv)->json())});
      } else {
        deny(pv.error(), "get", kinds::kPersistentVolume, v);
      }
    }
    if (needDefaultClass) {
      if (auto all = call.list(kinds::kStorageClass, {}, 100); all.ok()) {
        for (const auto& sc : all->items) {
          if (classes.contains(std::string(sc->name()))) continue;
          (*data)["storageClasses"].PushBack(trimmed(sc->json(), a), a);
          later.push_back({"StorageClass/" + std::string(sc->name()), renderStorageClass(sc->json())});
        }
      } else {
        deny(all.error(), "list", kinds::kStorageClass, {});
      }
    }
    for (const auto& c : classes) {
      if (forbidden.contains("storageclasses")) break;
      auto sc = call.get(kinds::kStorageClass, c);
      if (sc.ok()) {
        (*data)["storageClasses"].PushBack(trimmed((*sc)->json(), a), a);
        later.push_back({"StorageClass/" + c, renderStorageClass((*sc)->json())});
      } else if (sc.error().isNotFound()) {
        // A claim naming a class that does not exist stays Pending forever.
        out.evidence.push_back({"StorageClass/" + c, "not found: StorageClass " + c +
                                                         " does not exist (a claim in namespace " + call.ns() +
                                                         " requests it)"});
      } else {
        deny(sc.error(), "get", kinds::kStorageClass, c);
      }
    }
    for (auto& e : later) out.evidence.push_back(std::move(e));
    for (const auto& f : forbidden) (*data)["forbidden"].PushBack(jsonString(f, a), a);

    std::size_t pending = 0;
    for (const auto& p : pvcs) pending += p->stringAt({"status", "phase"}) == "Pending" ? 1 : 0;
    if (pvcs.empty()) {
      out.summary = "no PersistentVolumeClaims in namespace " + call.ns();
      out.evidence.insert(out.evidence.begin(), {"PersistentVolumeClaim/*", out.summary});
    } else {
      out.summary = std::to_string(pvcs.size()) + " PersistentVolumeClaim" + (pvcs.size() == 1 ? "" : "s") + ", " +
                    std::to_string(pending) + " Pending";
      if (pending) out.summary += " (" + std::string(pvcs.front()->name()) + ")";
    }
    if (!forbidden.empty()) out.summary += "; not readable: " + join({forbidden.begin(), forbidden.end()}, ", ");
    out.data = std::move(data);
    return out;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeGetStorageTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<GetStorageTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
