#include "tools/builtin_tools.h"

namespace opscopilot::tools {

void registerBuiltinTools(agent::ToolRegistry&, std::shared_ptr<kube::Client>, const ToolSettings&) {}

std::vector<std::unique_ptr<agent::Analyzer>> builtinAnalyzers() { return {}; }

}  // namespace opscopilot::tools
