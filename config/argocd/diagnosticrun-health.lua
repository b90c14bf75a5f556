-- Argo CD health check for opscopilot.io/DiagnosticRun.
-- Install it under resource.customizations.health.opscopilot.io_DiagnosticRun
-- in argocd-cm (see config/argocd/argocd-cm-patch.yaml).
--   Progressing: the run has not finished (or has not seen its latest spec)
--   Suspended:   a step waits for a person (ApprovalRequest)
--   Healthy:     the run completed with its answer
--   Degraded:    the run failed, or stopped at a limit with a partial answer
hs = {}
local status = obj.status
if status == nil or status.phase == nil then
  hs.status = "Progressing"
  hs.message = "Waiting for the OpsCopilot controller"
  return hs
end
local generation = obj.metadata and obj.metadata.generation
if generation ~= nil and status.observedGeneration ~= nil and status.observedGeneration < generation then
  hs.status = "Progressing"
  hs.message = "A new spec is being investigated"
  return hs
end
local message = status.message or status.phase
if status.phase == "AwaitingApproval" then
  hs.status = "Suspended"
  hs.message = "Waiting for an ApprovalRequest decision"
elseif status.phase == "Succeeded" and status.reason == "Completed" then
  hs.status = "Healthy"
  hs.message = message
elseif status.phase == "Succeeded" or status.phase == "Failed" then
  hs.status = "Degraded"
  hs.message = (status.reason or status.phase) .. ": " .. message
else
  hs.status = "Progressing"
  hs.message = message
end
return hs
