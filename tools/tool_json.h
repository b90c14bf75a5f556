// Building a tool's `data` document (see tools/README.md for each shape).
#pragma once

#include <rapidjson/document.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "operator/kube/object.h"

namespace opscopilot::tools {

using JsonAlloc = rapidjson::Document::AllocatorType;

// A new data document holding an empty JSON object.
std::shared_ptr<rapidjson::Document> newData();

// A deep copy of a Kubernetes object as data holds it: without
// metadata.managedFields, and with only the sim.opscopilot.io/* and
// deployment.kubernetes.io/revision annotations (the others, such as
// kubectl's last-applied-configuration, are large and may hold values).
rapidjson::Value trimmed(const rapidjson::Value& object, JsonAlloc& a);
rapidjson::Value trimmedArray(const std::vector<kube::ObjectPtr>& objects, JsonAlloc& a);

rapidjson::Value jsonString(std::string_view s, JsonAlloc& a);
rapidjson::Value stringArray(const std::vector<std::string>& values, JsonAlloc& a);
// Adds (or replaces) a member of the document's top-level object.
void setMember(rapidjson::Document& doc, std::string_view key, rapidjson::Value value);

}  // namespace opscopilot::tools
