#include "operator/kube/object.h"

#include <rapidjson/document.h>
#include <rapidjson/error/en.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "agent/json_writer.h"

namespace opscopilot::kube {

// The pool allocator's default chunk is 64 KiB, far more than a typical
// object needs; with thousands of cached objects that would dominate memory,
// so each object gets a chunk sized to its text.
struct Object::Impl {
  explicit Impl(std::size_t sizeHint) : alloc(sizeHint + sizeHint / 2 + 256), doc(&alloc) {}
  rapidjson::MemoryPoolAllocator<> alloc;
  rapidjson::Document doc;
};

Object::Object(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Object::~Object() = default;

Result<ObjectPtr> Object::parse(std::string_view json) {
  auto impl = std::make_unique<Impl>(json.size());
  impl->doc.Parse(json.data(), json.size());
  if (impl->doc.HasParseError()) {
    return Error{0, "InvalidJSON",
                 std::string("invalid JSON at offset ") + std::to_string(impl->doc.GetErrorOffset()) +
                     ": " + rapidjson::GetParseError_En(impl->doc.GetParseError())};
  }
  if (!impl->doc.IsObject()) return Error{0, "InvalidJSON", "JSON document is not an object"};
  return ObjectPtr(new Object(std::move(impl)));
}

ObjectPtr Object::copyOf(const rapidjson::Value& value) {
  auto impl = std::make_unique<Impl>(1024);
  impl->doc.CopyFrom(value, impl->alloc);
  return ObjectPtr(new Object(std::move(impl)));
}

const rapidjson::Value& Object::json() const { return impl_->doc; }

const rapidjson::Value* member(const rapidjson::Value& v, std::string_view name) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(rapidjson::Value(rapidjson::StringRef(name.data(), name.size())));
  return it == v.MemberEnd() ? nullptr : &it->value;
}

std::string_view stringMember(const rapidjson::Value& v, std::string_view name) {
  const auto* m = member(v, name);
  return m && m->IsString() ? std::string_view(m->GetString(), m->GetStringLength()) : std::string_view();
}

std::vector<std::string> stringValues(const rapidjson::Value* v) {
  std::vector<std::string> out;
  if (!v || !v->IsArray()) return out;
  for (const auto& s : v->GetArray()) {
    if (s.IsString()) out.emplace_back(s.GetString(), s.GetStringLength());
  }
  return out;
}

std::string serializeJson(const rapidjson::Value& v) { return agent::jsonText(v); }

const rapidjson::Value* Object::at(std::initializer_list<std::string_view> path) const {
  const rapidjson::Value* v = &impl_->doc;
  for (auto step : path) {
    v = member(*v, step);
    if (!v) return nullptr;
  }
  return v;
}

std::string_view Object::stringAt(std::initializer_list<std::string_view> path) const {
  const auto* v = at(path);
  return v && v->IsString() ? std::string_view(v->GetString(), v->GetStringLength()) : std::string_view();
}

std::optional<std::int64_t> Object::intAt(std::initializer_list<std::string_view> path) const {
  const auto* v = at(path);
  if (!v || !v->IsInt64()) return std::nullopt;
  return v->GetInt64();
}

std::string_view Object::apiVersion() const { return stringAt({"apiVersion"}); }
std::string_view Object::kind() const { return stringAt({"kind"}); }
std::string_view Object::name() const { return stringAt({"metadata", "name"}); }
std::string_view Object::ns() const { return stringAt({"metadata", "namespace"}); }
std::string_view Object::uid() const { return stringAt({"metadata", "uid"}); }
std::string_view Object::resourceVersion() const { return stringAt({"metadata", "resourceVersion"}); }
std::int64_t Object::generation() const { return intAt({"metadata", "generation"}).value_or(0); }
bool Object::isBeingDeleted() const { return at({"metadata", "deletionTimestamp"}) != nullptr; }
std::string_view Object::label(std::string_view key) const { return stringAt({"metadata", "labels", key}); }
std::string_view Object::annotation(std::string_view key) const {
  return stringAt({"metadata", "annotations", key});
}

std::string Object::key() const {
  auto n = ns();
  if (n.empty()) return std::string(name());
  std::string k;
  k.reserve(n.size() + 1 + name().size());
  k.append(n).append("/").append(name());
  return k;
}

std::string Object::serialize() const { return serializeJson(impl_->doc); }

}  // namespace opscopilot::kube
