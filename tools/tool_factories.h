// One factory per built-in tool (each defined in the tool's own file), for
// registerBuiltinTools and for tests that want a single tool.
#pragma once

#include <memory>

#include "agent/tool.h"
#include "operator/kube/client.h"
#include "tools/builtin_tools.h"

namespace opscopilot::tools {

using ClientPtr = std::shared_ptr<kube::Client>;

std::unique_ptr<agent::Tool> makeGetWorkloadTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeListPodsTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeGetEventsTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeGetPodLogsTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeGetServiceTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeGetStorageTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeGetConfigRefsTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeGetQuotasTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeGetHpaTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeGetIngressTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeGetNodesTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeSearchLogsTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeSearchRunbooksTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeRecallPastRunsTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeRecallPreviousRunTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeQueryMetricsTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeReadConfigMapDataTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeNotifyTool(ClientPtr client, const ToolSettings& settings);
std::unique_ptr<agent::Tool> makeCreateTicketTool(ClientPtr client, const ToolSettings& settings);

}  // namespace opscopilot::tools
