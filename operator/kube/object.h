// Object: one immutable Kubernetes object (or any JSON document) as parsed
// JSON, shared by pointer between the informer cache, handlers and callers.
#pragma once

#include <rapidjson/fwd.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "operator/kube/result.h"

namespace opscopilot::kube {

class Object;
using ObjectPtr = std::shared_ptr<const Object>;

class Object {
 public:
  // Parses a JSON document. Returns an Error with reason "InvalidJSON" when
  // the text is not a JSON object.
  static Result<ObjectPtr> parse(std::string_view json);
  // Deep-copies a value (for example one item of a list) into a new Object.
  static ObjectPtr copyOf(const rapidjson::Value& value);

  ~Object();
  Object(const Object&) = delete;
  Object& operator=(const Object&) = delete;

  const rapidjson::Value& json() const;

  // Metadata accessors; empty when the field is absent.
  std::string_view apiVersion() const;
  std::string_view kind() const;
  std::string_view name() const;
  std::string_view ns() const;
  std::string_view uid() const;
  std::string_view resourceVersion() const;
  std::int64_t generation() const;  // 0 when absent
  bool isBeingDeleted() const;      // metadata.deletionTimestamp set
  std::string_view label(std::string_view key) const;
  std::string_view annotation(std::string_view key) const;
  // "namespace/name", or "name" for cluster-scoped objects.
  std::string key() const;

  // The value at a path of member names, or nullptr when any step is missing
  // or not an object.
  const rapidjson::Value* at(std::initializer_list<std::string_view> path) const;
  // The string at a path, or "" when missing or not a string.
  std::string_view stringAt(std::initializer_list<std::string_view> path) const;
  // The integer at a path, or nullopt when missing or not an integer.
  std::optional<std::int64_t> intAt(std::initializer_list<std::string_view> path) const;

  // Compact JSON text of the whole object.
  std::string serialize() const;

 private:
  struct Impl;
  explicit Object(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Helpers over plain rapidjson values, for code that walks nested lists.
const rapidjson::Value* member(const rapidjson::Value& v, std::string_view name);
std::string_view stringMember(const rapidjson::Value& v, std::string_view name);
// The strings of an array value, in order (other items skipped); empty when v
// is null or not an array.
std::vector<std::string> stringValues(const rapidjson::Value* v);
std::string serializeJson(const rapidjson::Value& v);

}  // namespace opscopilot::kube
