-- Runs the Argo CD health check against DiagnosticRuns in every state.
-- Usage: lua5.4 tests/argocd/health_test.lua config/argocd/diagnosticrun-health.lua
local script = assert(io.open(arg[1])):read("a")
local function health(o)
  local env = setmetatable({obj = o}, {__index = _G})
  return assert(load(script, "health", "t", env))()
end
local cases = {
  {"new run", {metadata = {generation = 1}}, "Progressing"},
  {"running", {metadata = {generation = 1}, status = {phase = "Running", observedGeneration = 1}}, "Progressing"},
  {"waiting for a person", {metadata = {generation = 1}, status = {phase = "AwaitingApproval", observedGeneration = 1}}, "Suspended"},
  {"completed", {metadata = {generation = 1}, status = {phase = "Succeeded", reason = "Completed", message = "1 problem found", observedGeneration = 1}}, "Healthy"},
  {"partial at a limit", {metadata = {generation = 1}, status = {phase = "Succeeded", reason = "StepLimitReached", message = "Partial answer", observedGeneration = 1}}, "Degraded"},
  {"failed", {metadata = {generation = 1}, status = {phase = "Failed", reason = "TargetNotFound", message = "Deployment/x was not found", observedGeneration = 1}}, "Degraded"},
  {"new spec after completion", {metadata = {generation = 2}, status = {phase = "Succeeded", reason = "Completed", observedGeneration = 1}}, "Progressing"},
}
local passed, failed = 0, 0
for _, c in ipairs(cases) do
  local hs = health(c[2])
  if hs.status == c[3] and hs.message ~= nil then
    passed = passed + 1
    print("PASS " .. c[1] .. ": " .. hs.status .. " (" .. hs.message .. ")")
  else
    failed = failed + 1
    print("FAIL " .. c[1] .. ": got " .. tostring(hs.status) .. ", want " .. c[3])
  end
end
print(passed .. " passed, " .. failed .. " failed")
os.exit(failed == 0 and 0 or 1)
