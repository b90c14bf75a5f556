// Manager: wires the DiagnosticRun informer, the work queue, N reconcile
// workers, the tools and analyzers, Events, health/metrics, and graceful
// shutdown. One per operator process.
#pragma once

#include <memory>

#include "operator/controller/operator_config.h"
#include "operator/kube/client.h"
#include "operator/net/cancellation.h"

namespace opscopilot::controller {

// Runs the controller until stop fires. On stop it takes no new work, lets
// the nodes in flight end (model calls end at once), writes what each run in
// progress has not written yet (RunReconciler::checkpointAll), and returns
// within shutdownDeadline. Returns the process exit code.
int runManager(std::shared_ptr<kube::Client> client, const OperatorConfig& config, net::Cancellation& stop,
               std::chrono::seconds shutdownDeadline = std::chrono::seconds(25));

}  // namespace opscopilot::controller
