#include "agent/tool.h"

#include <stdexcept>

namespace opscopilot::agent {

void ToolRegistry::add(std::unique_ptr<Tool> tool) {
  auto name = tool->spec().name;
  auto schema = ArgsSchema::compile(tool->spec().argsSchema);
  if (!schema.error().empty()) throw std::invalid_argument("tool " + name + ": argsSchema: " + schema.error());
  tools_.insert_or_assign(name, Entry{std::move(tool), std::move(schema)});
}

Tool* ToolRegistry::find(const std::string& name) const {
  auto it = tools_.find(name);
  return it == tools_.end() ? nullptr : it->second.tool.get();
}

std::vector<const ToolSpec*> ToolRegistry::specs() const {
  std::vector<const ToolSpec*> out;
  for (const auto& [name, entry] : tools_) out.push_back(&entry.tool->spec());
  return out;
}

std::string ToolRegistry::checkArgs(const std::string& name, const rapidjson::Value& args) const {
  auto it = tools_.find(name);
  if (it == tools_.end()) return "unknown tool " + name;
  return it->second.schema.validate(args);
}

}  // namespace opscopilot::agent
