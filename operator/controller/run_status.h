// What a DiagnosticRun's status holds: the body of a status write (the run's
// state, its Succeeded and AwaitingApproval conditions, times, trace ID and
// the record of its ApprovalRequest, every string through the redactor), and
// the slim copy the informer keeps of it.
#pragma once

#include <chrono>
#include <string>

#include "agent/redacted.h"
#include "agent/run_state.h"
#include "operator/controller/approval.h"
#include "operator/kube/object.h"

namespace opscopilot::controller {

struct StatusWrite {
  const agent::RunState& state;
  std::chrono::system_clock::time_point start;  // status.startTime
  const std::string& targetRef;
  bool freshRun = false;                        // a new generation: nothing of the old status is kept
  const approval::Record* record = nullptr;     // the ApprovalRequest created for the waiting step
};

// The whole object to PUT to the status subresource: run (its metadata,
// resourceVersion included) with its status replaced by what w says. The
// sink: every string passes the redactor, whatever wrote it.
agent::RedactedText statusBody(const kube::Object& run, const StatusWrite& w);

// What the informer keeps of a DiagnosticRun: never metadata.managedFields;
// for a finished run only what reconciling it still needs (spec, metadata,
// phase, reason, generations and times), not its steps, evidence, findings or
// answer. Keeps the operator small with thousands of finished runs cached.
kube::ObjectPtr slimForCache(const kube::ObjectPtr& run);

}  // namespace opscopilot::controller
