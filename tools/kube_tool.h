// KubeTool: the base of every built-in tool. run() checks the run's
// namespace, builds the ToolCall (reader identity with "{namespace}"
// replaced, the call's deadline) and hands it to read(); it never throws.
// Also the argument helpers the tools share.
#pragma once

#include <rapidjson/document.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/tool.h"
#include "operator/kube/client.h"
#include "tools/builtin_tools.h"
#include "tools/tool_call.h"

namespace opscopilot::tools {

// Evidence items per output, at most.
inline constexpr std::size_t kMaxEvidence = 12;

class KubeTool : public agent::Tool {
 public:
  KubeTool(std::shared_ptr<kube::Client> client, ToolSettings settings, agent::ToolSpec spec);

  const agent::ToolSpec& spec() const override { return spec_; }
  // ok=false, InvalidArgs when ctx.ns is not a namespace name or args is not
  // an object; ok=false, Error when read() throws. The output has at most
  // kMaxEvidence evidence items.
  agent::ToolOutput run(const agent::ToolContext& ctx, const rapidjson::Value& args) final;
  // warm() through the same ToolCall run() builds; nothing without a scratch.
  int warmUp(const agent::ToolContext& ctx) final;

 protected:
  // The tool itself: args is an object; every request goes through call.
  virtual agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) = 0;
  // The read every call makes whatever its arguments (ToolSpec::warmUp),
  // made through call so that the run keeps it. Returns the requests made
  // through other calls (as read() counts them).
  virtual int warm(ToolCall&) { return 0; }

  const ToolSettings& settings() const { return settings_; }
  // The reader identity of namespace ns.
  kube::Impersonation readerFor(const std::string& ns) const;

 private:
  // The ToolCall of a call in ctx's run; nullopt with the output to return
  // when it cannot be made.
  std::optional<ToolCall> callFor(const agent::ToolContext& ctx, agent::ToolOutput* refused) const;

  std::shared_ptr<kube::Client> client_;
  ToolSettings settings_;
  agent::ToolSpec spec_;
};

// The spec every tool starts from: name, description, schema, the settings'
// excerpt size as maxOutputBytes, a 10 s timeout.
agent::ToolSpec makeSpec(std::string name, std::string description, std::string argsSchema,
                         const ToolSettings& settings);

// ok=false, errorReason InvalidArgs, the message as summary and evidence
// (ref "args").
agent::ToolOutput invalidArgs(std::string message);

// A DNS subdomain name as Kubernetes object names are (1..253 of [a-z0-9.-],
// starting and ending alphanumeric). Names go into request paths, so
// anything else is refused before a request is made.
bool isObjectName(std::string_view s);
// A DNS label (namespaces, container names): 1..63 of [a-z0-9-].
bool isLabelName(std::string_view s);

// Argument readers: nullopt (or empty, or def) when the member is absent or
// of another type.
std::optional<std::string> stringArg(const rapidjson::Value& args, const char* key);
std::optional<std::int64_t> intArg(const rapidjson::Value& args, const char* key);
bool boolArg(const rapidjson::Value& args, const char* key, bool def);
// The strings of an array member; nullopt when absent, and when present but
// not an array of strings.
std::optional<std::vector<std::string>> stringListArg(const rapidjson::Value& args, const char* key);

// Reads the optional "name" argument; an error output when present but not a
// valid object name.
std::optional<agent::ToolOutput> checkOptionalName(const rapidjson::Value& args, std::string* name);
// Reads a required object-name argument.
std::optional<agent::ToolOutput> checkRequiredName(const rapidjson::Value& args, const char* key, std::string* name);

}  // namespace opscopilot::tools
