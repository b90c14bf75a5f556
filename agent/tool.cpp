#include "agent/tool.h"

namespace opscopilot::agent {

void ToolRegistry::add(std::unique_ptr<Tool> tool) {
  auto name = tool->spec().name;
  tools_[name] = std::move(tool);
}

Tool* ToolRegistry::find(const std::string& name) const {
  auto it = tools_.find(name);
  return it == tools_.end() ? nullptr : it->second.get();
}

std::vector<const ToolSpec*> ToolRegistry::specs() const {
  std::vector<const ToolSpec*> out;
  for (const auto& [name, tool] : tools_) out.push_back(&tool->spec());
  return out;
}

}  // namespace opscopilot::agent
