#include "agent/args_schema.h"

#include <rapidjson/document.h>

namespace opscopilot::agent {

namespace {

bool hasType(const rapidjson::Value& v, std::string_view type) {
  if (type == "object") return v.IsObject();
  if (type == "array") return v.IsArray();
  if (type == "string") return v.IsString();
  if (type == "integer") return v.IsInt64() || v.IsUint64();
  if (type == "number") return v.IsNumber();
  if (type == "boolean") return v.IsBool();
  if (type == "null") return v.IsNull();
  return true;
}

std::string check(const rapidjson::Value& schema, const rapidjson::Value& v, const std::string& path) {
  if (!schema.IsObject()) return {};
  if (auto t = schema.FindMember("type"); t != schema.MemberEnd() && t->value.IsString()) {
    if (!hasType(v, t->value.GetString())) return path + ": must be of type " + t->value.GetString();
  }
  if (auto e = schema.FindMember("enum"); e != schema.MemberEnd() && e->value.IsArray()) {
    bool found = false;
    for (const auto& option : e->value.GetArray()) found = found || option == v;
    if (!found) return path + ": not one of the allowed values";
  }
  if (v.IsNumber()) {
    if (auto m = schema.FindMember("minimum"); m != schema.MemberEnd() && m->value.IsNumber() &&
                                               v.GetDouble() < m->value.GetDouble()) {
      return path + ": below the minimum";
    }
    if (auto m = schema.FindMember("maximum"); m != schema.MemberEnd() && m->value.IsNumber() &&
                                               v.GetDouble() > m->value.GetDouble()) {
      return path + ": above the maximum";
    }
  }
  if (v.IsString()) {
    auto len = v.GetStringLength();
    if (auto m = schema.FindMember("minLength"); m != schema.MemberEnd() && m->value.IsUint() && len < m->value.GetUint()) {
      return path + ": too short";
    }
    if (auto m = schema.FindMember("maxLength"); m != schema.MemberEnd() && m->value.IsUint() && len > m->value.GetUint()) {
      return path + ": too long";
    }
  }
  if (v.IsArray()) {
    if (auto items = schema.FindMember("items"); items != schema.MemberEnd()) {
      int i = 0;
      for (const auto& item : v.GetArray()) {
        if (auto err = check(items->value, item, path + "[" + std::to_string(i++) + "]"); !err.empty()) return err;
      }
    }
  }
  if (v.IsObject()) {
    const auto props = schema.FindMember("properties");
    if (auto req = schema.FindMember("required"); req != schema.MemberEnd() && req->value.IsArray()) {
      for (const auto& r : req->value.GetArray()) {
        if (r.IsString() && !v.HasMember(r.GetString())) return path + "." + r.GetString() + ": required";
      }
    }
    auto extra = schema.FindMember("additionalProperties");
    const bool closed = extra != schema.MemberEnd() && extra->value.IsBool() && !extra->value.GetBool();
    for (const auto& m : v.GetObject()) {
      std::string name = m.name.GetString();
      const rapidjson::Value* sub = nullptr;
      if (props != schema.MemberEnd() && props->value.IsObject()) {
        if (auto p = props->value.FindMember(m.name); p != props->value.MemberEnd()) sub = &p->value;
      }
      if (!sub) {
        if (closed) return path + "." + name + ": unknown argument";
        continue;
      }
      if (auto err = check(*sub, m.value, path + "." + name); !err.empty()) return err;
    }
  }
  return {};
}

}  // namespace

std::string validateArgs(const std::string& schemaJson, const rapidjson::Value& args) {
  rapidjson::Document schema;
  schema.Parse(schemaJson.c_str());
  if (schema.HasParseError()) return args.IsObject() ? std::string() : "args: must be an object";
  return check(schema, args, "args");
}

}  // namespace opscopilot::agent
