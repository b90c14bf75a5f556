#include "tools/builtin_tools.h"

#include "tools/analyzers/analyzers.h"
#include "tools/tool_factories.h"

namespace opscopilot::tools {

void registerBuiltinTools(agent::ToolRegistry& registry, std::shared_ptr<kube::Client> client,
                          const ToolSettings& settings) {
  for (auto make : {makeGetWorkloadTool, makeListPodsTool, makeGetEventsTool, makeGetPodLogsTool,
                    makeGetServiceTool, makeGetStorageTool, makeGetConfigRefsTool, makeGetQuotasTool, makeGetHpaTool,
                    makeGetIngressTool, makeGetNodesTool, makeSearchLogsTool, makeSearchRunbooksTool,
                    makeRecallPastRunsTool, makeRecallPreviousRunTool, makeQueryMetricsTool, makeReadConfigMapDataTool,
                    makeNotifyTool, makeCreateTicketTool}) {
    registry.add(make(client, settings));
  }
}

std::vector<std::string> builtinToolNames() {
  // Constructing a tool makes no request: a registry without a client is
  // enough to read the names.
  agent::ToolRegistry registry;
  registerBuiltinTools(registry, nullptr, ToolSettings{});
  std::vector<std::string> names;
  for (const auto* spec : registry.specs()) names.push_back(spec->name);
  return names;
}

std::vector<std::unique_ptr<agent::Analyzer>> builtinAnalyzers() {
  std::vector<std::unique_ptr<agent::Analyzer>> analyzers;
  // On a list_pods step the pod status analyzer runs before the service
  // analyzer, which only enriches.
  for (auto make : {makePodStatusAnalyzer, makeWorkloadAnalyzer, makeEventAnalyzer, makeLogAnalyzer,
                    makeServiceAnalyzer, makeStorageAnalyzer, makeConfigRefsAnalyzer, makeQuotaAnalyzer,
                    makeHpaAnalyzer, makeIngressAnalyzer, makeNodeAnalyzer, makeLogSearchAnalyzer,
                    makeRunbookAnalyzer, makePastRunsAnalyzer, makeMetricsAnalyzer,
                    // Last: it compares with the earlier run what the others found.
                    makeFollowUpAnalyzer}) {
    analyzers.push_back(make());
  }
  return analyzers;
}

}  // namespace opscopilot::tools
