// Object parsing and every accessor on arbitrary JSON; what serialize()
// writes must parse again. (Not byte-equal: RapidJSON's default number
// parsing may land a long decimal a few ULP off, so it can re-print differently.)
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include <rapidjson/document.h>

#include "operator/kube/object.h"

using namespace opscopilot::kube;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto parsed = Object::parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (!parsed.ok()) return 0;
  const Object& o = **parsed;
  (void)o.apiVersion();
  (void)o.kind();
  (void)o.name();
  (void)o.ns();
  (void)o.uid();
  (void)o.resourceVersion();
  (void)o.generation();
  (void)o.isBeingDeleted();
  (void)o.label("app");
  (void)o.annotation("kubectl.kubernetes.io/last-applied-configuration");
  (void)o.key();
  (void)o.at({"spec", "template", "spec", "containers"});
  (void)o.stringAt({"status", "phase"});
  (void)o.intAt({"spec", "replicas"});
  (void)o.intAt({"metadata", "generation"});
  if (const auto* items = member(o.json(), "items"); items && items->IsArray()) {
    for (const auto& item : items->GetArray()) {
      auto copy = Object::copyOf(item);
      (void)copy->name();
      (void)stringMember(item, "kind");
      (void)serializeJson(item);
    }
  }
  const auto text = o.serialize();
  auto again = Object::parse(text);
  if (!again.ok()) std::abort();
  return 0;
}
