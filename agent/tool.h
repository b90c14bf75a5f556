// Tool: one read-only diagnostic capability the graph can call. The agent
// library knows tools only through this interface; tools/ implements them on
// the Kubernetes client.
#pragma once

#include <rapidjson/document.h>

#include <chrono>
#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <optional>
#include <vector>

#include "agent/args_schema.h"
#include "agent/requester.h"

namespace opscopilot::agent {

struct ToolSpec {
  std::string name;         // snake_case, e.g. "get_pod_logs"
  std::string description;  // one sentence, for people and models
  std::string argsSchema;   // JSON Schema (object) of the arguments
  std::chrono::milliseconds timeout{10000};
  std::size_t maxOutputBytes = 4096;  // per evidence excerpt, after redaction
  bool gated = false;                 // needs an approved ApprovalRequest
  std::string risk = "Low";           // Low, Medium, High (for gated tools)
  // The letter of its evidence IDs: E (what the cluster shows: E1, E2, ...)
  // or R (a team's runbooks: R1, R2, ...), numbered apart.
  char evidencePrefix = 'E';
  // Reads the cluster's objects, so that a run whose first such read is
  // refused or finds nothing ends there (Forbidden, TargetNotFound); false
  // for tools that read elsewhere (runbooks, earlier runs, Prometheus).
  bool readsCluster = true;
  // Writes outside the cluster (notify, create_ticket): always gated, sent
  // at most once (the step is on record as Running before it is sent; a run
  // resumed with it so never sends it again), to a destination the run's
  // spec.actions names, and not counted against spec.limits.maxSteps.
  bool action = false;
  // Every call of it makes one read whatever its arguments (search_runbooks:
  // the runbook list). A run starts that read beside its first tool step
  // (Tool::warmUp) and keeps it in its scratch, where the call takes it:
  // the API server's wait before a run's first consistent list is shared.
  bool warmUp = false;
};

// One piece of evidence as a tool produced it. The executor redacts and
// truncates `text` and gives it an ID (E1, E2, ...; R1, R2, ... for runbooks).
struct EvidenceDraft {
  std::string ref;   // "Kind/name[ detail]", e.g. "Pod/web-1", "Pod/web-1 container app (previous)"
  std::string text;  // human-readable, compact rendering of what was read
};

struct ToolOutput {
  bool ok = true;
  std::string errorReason;  // when !ok: Forbidden, NotFound, Timeout, InvalidArgs, Error
  std::string summary;      // one line for the step
  std::vector<EvidenceDraft> evidence;  // a failed call still explains itself here
  // What was read, structured, for the analyzers (see tools/README.md for
  // each tool's shape). Kept in memory only; never sent to a model raw.
  std::shared_ptr<const rapidjson::Document> data;
  int apiRequests = 0;  // Kubernetes API requests the call made
  // A read was refused because the run's requester may not make it (not the
  // reader identity, nor the API server).
  bool refusedForRequester = false;
};

// What the tools keep for one run between its steps (the tools define it:
// tools::RecentObjects). The run's owner holds it while the run is active and
// hands the same one to every step; shared by the steps of a batch, so what
// is derived from it locks.
class RunScratch {
 public:
  virtual ~RunScratch() = default;
};

struct ToolContext {
  std::string ns;  // the run's namespace: every read is scoped to it
  std::chrono::steady_clock::time_point deadline;
  // Who asked for the run: each read must be allowed for them too. nullopt:
  // the reader identity alone decides (an operator setting, see RunSpec).
  std::optional<Requester> requester;
  // A follow-up run's: Events and logs older than this were read by the
  // earlier run; tools that read them keep to what is newer. {}: all.
  std::chrono::system_clock::time_point since{};
  // The run's name, for what an action sends (a pointer back to the run).
  std::string runName;
  // Action tools: the same for every attempt at one approved action (run UID,
  // generation, the approval's step), sent as the Idempotency-Key header.
  std::string idempotencyKey;
  // The run's scratch (see RunScratch); null: nothing kept between steps.
  std::shared_ptr<RunScratch> scratch;
};

// Thread safety: one instance serves every worker, so run() is called
// concurrently for different runs; implementations keep nothing between calls
// but what they were built with (shared caches lock, as AccessReviewer does).
class Tool {
 public:
  virtual ~Tool() = default;
  virtual const ToolSpec& spec() const = 0;
  // Runs the tool. args has already been checked against spec().argsSchema
  // by the executor (ToolRegistry::checkArgs). Never throws; failures are ToolOutput{ok=false}.
  virtual ToolOutput run(const ToolContext& ctx, const rapidjson::Value& args) = 0;
  // The read of ToolSpec::warmUp, kept in ctx.scratch (nothing without
  // one); returns the API requests it made. Never throws.
  virtual int warmUp(const ToolContext&) { return 0; }
};

class ToolRegistry {
 public:
  // Registers the tool and compiles its argsSchema once. Throws
  // std::invalid_argument (a start-up error) when the schema does not compile.
  void add(std::unique_ptr<Tool> tool);
  Tool* find(const std::string& name) const;  // nullptr when unknown
  std::vector<const ToolSpec*> specs() const;
  // "" when args satisfy the named tool's schema, else one line naming the
  // offending member (see ArgsSchema::validate); an unknown tool is refused.
  std::string checkArgs(const std::string& name, const rapidjson::Value& args) const;

 private:
  struct Entry {
    std::unique_ptr<Tool> tool;
    ArgsSchema schema;
  };
  std::map<std::string, Entry> tools_;
};

}  // namespace opscopilot::agent
