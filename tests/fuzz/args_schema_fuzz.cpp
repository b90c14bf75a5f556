// The tool argument validator. Input "schema\0args" checks args against a
// schema of its own (compiling it first, which may refuse it); input without
// a NUL is args, checked against every built-in tool's schema.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include <rapidjson/document.h>

#include "agent/args_schema.h"
#include "agent/tool.h"
#include "tools/builtin_tools.h"

using namespace opscopilot;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const auto* registry = [] {
    auto* r = new agent::ToolRegistry();
    tools::registerBuiltinTools(*r, nullptr, tools::ToolSettings{});
    return r;
  }();
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto nul = input.find('\0');
  rapidjson::Document args;
  const auto argsText = nul == std::string_view::npos ? input : input.substr(nul + 1);
  args.Parse(argsText.data(), argsText.size());
  if (args.HasParseError()) return 0;
  if (nul != std::string_view::npos) {
    auto schema = agent::ArgsSchema::compile(std::string(input.substr(0, nul)));
    auto err = schema.validate(args);
    if (!schema.error().empty() && err.empty()) std::abort();  // must fail closed
    if (err.find('\n') != std::string::npos) std::abort();     // one line
    return 0;
  }
  for (const auto* spec : registry->specs()) {
    auto err = registry->checkArgs(spec->name, args);
    if (err.find('\n') != std::string::npos) std::abort();
  }
  return 0;
}
