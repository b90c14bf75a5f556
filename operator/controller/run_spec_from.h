// runSpecFrom: a DiagnosticRun's spec, with the operator config's defaults
// and caps applied, as the RunSpec the investigation runs on.
#pragma once

#include "agent/run_spec.h"
#include "operator/controller/operator_config.h"
#include "operator/kube/object.h"
#include "operator/kube/result.h"

namespace opscopilot::controller {

// Returns an Error with reason InvalidSpec (and a message a person
// understands) for what admission could not catch.
kube::Result<agent::RunSpec> runSpecFrom(const kube::Object& run, const OperatorConfig& config);

}  // namespace opscopilot::controller
