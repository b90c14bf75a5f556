#include "operator/controller/run_status.h"

#include <rapidjson/document.h>


#include "agent/graph.h"
#include "agent/run_state_json.h"
#include "agent/sink_redaction.h"
#include "operator/controller/tracing.h"
#include "operator/kube/conditions.h"

namespace opscopilot::controller {

agent::RedactedText statusBody(const kube::Object& run, const StatusWrite& w) {
  using kube::setMember;
  rapidjson::Document doc;
  doc.CopyFrom(run.json(), doc.GetAllocator());
  auto& a = doc.GetAllocator();
  // Written by the API server; sending them back costs bytes and nothing else.
  if (doc.HasMember("metadata") && doc["metadata"].IsObject()) doc["metadata"].RemoveMember("managedFields");
  if (w.freshRun || !doc.HasMember("status") || !doc["status"].IsObject()) {
    setMember(doc, "status", rapidjson::Value(rapidjson::kObjectType), a);
  }
  auto& status = doc["status"];
  const auto& state = w.state;
  agent::writeRunState(state, status, a);
  const std::string now = agent::formatTime(std::chrono::system_clock::now());
  const auto generation = run.generation();
  setMember(status, "observedGeneration", rapidjson::Value(static_cast<std::int64_t>(generation)), a);
  setMember(status, "startTime", rapidjson::Value(agent::formatTime(w.start).c_str(), a), a);
  // The trace of this generation (tracing.h): the same after a restart.
  const std::string traceID = traceIdFor(run.uid(), generation);
  setMember(status, "traceID", rapidjson::Value(traceID.c_str(), a), a);
  if (!w.targetRef.empty()) setMember(status, "targetRef", rapidjson::Value(w.targetRef.c_str(), a), a);
  if (state.finished()) {
    if (!status.HasMember("completionTime")) setMember(status, "completionTime", rapidjson::Value(now.c_str(), a), a);
    kube::setStatusCondition(status,
                             {"Succeeded", state.phase == agent::Phase::Succeeded ? "True" : "False", state.reason, state.message,
                              generation},
                             now, a);
  } else {
    status.RemoveMember("completionTime");
    kube::setStatusCondition(
        status,
        {"Succeeded", "Unknown", "Running", "investigating: " + std::to_string(state.steps.size()) + " steps so far",
         generation},
        now, a);
  }
  // While a step waits, the condition's message records which
  // ApprovalRequest the controller created for it (name and UID; see
  // approval.h): given, or kept from the previous write for the same step.
  const bool waiting = state.phase == agent::Phase::AwaitingApproval;
  std::string waitingMessage = "no step waits for approval";
  if (waiting) {
    const agent::Step* pending = agent::RunGraph::pendingApproval(state);
    waitingMessage = pending ? "step " + std::to_string(pending->id) + " (" + pending->tool +
                                   ") waits for an ApprovalRequest"
                             : "a step waits for an ApprovalRequest";
    std::optional<approval::Record> kept;
    if (w.record) {
      kept = *w.record;
    } else if (!w.freshRun) {
      kept = approval::recordFrom(run);
    }
    if (pending && kept && kept->stepID == pending->id && kept->generation == generation) {
      waitingMessage = approval::recordMessage(*kept, pending->tool);
    }
  }
  kube::setStatusCondition(status,
                           {"AwaitingApproval", waiting ? "True" : "False",
                            waiting ? "ApprovalPending" : "NoApprovalPending", waitingMessage, generation},
                           now, a);
  return agent::redactJson(doc);
}

kube::ObjectPtr slimForCache(const kube::ObjectPtr& run) {
  const auto phase = run->stringAt({"status", "phase"});
  const bool finished = phase == "Succeeded" || phase == "Failed";
  const bool hasManagedFields = run->at({"metadata", "managedFields"}) != nullptr;
  if (!finished && !hasManagedFields) return run;
  rapidjson::Document doc;
  doc.CopyFrom(run->json(), doc.GetAllocator());
  if (doc.HasMember("metadata") && doc["metadata"].IsObject()) doc["metadata"].RemoveMember("managedFields");
  if (finished && doc.HasMember("status") && doc["status"].IsObject()) {
    // What a run cost stays: its namespace's budget counts it (budget.h).
    std::string cost(run->stringAt({"status", "usage", "costUSD"}));
    for (const char* heavy : {"steps", "evidence", "findings", "answer", "plan", "usage", "conditions"}) {
      doc["status"].RemoveMember(heavy);
    }
    if (agent::parseMicroUSD(cost).value_or(0) > 0) {
      auto& a = doc.GetAllocator();
      rapidjson::Value usage(rapidjson::kObjectType);
      usage.AddMember("costUSD", rapidjson::Value(cost.c_str(), a), a);
      doc["status"].AddMember("usage", usage, a);
    }
  }
  auto slim = kube::Object::parse(kube::serializeJson(doc));
  return slim.ok() ? *slim : run;
}

}  // namespace opscopilot::controller
