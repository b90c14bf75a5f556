// Traces: one OpenTelemetry trace per run, exported over OTLP/HTTP (JSON
// encoding) to the endpoint of the operator config's `tracing` (or
// OTEL_EXPORTER_OTLP_ENDPOINT). The trace ID is status.traceID, derived from
// the run's UID and generation, so a restarted operator continues the same
// trace. Spans:
//   - the run (name "DiagnosticRun"), from status.startTime to its end, with
//     its namespace, name, phase, reason, target, profile, tokens and cost;
//   - one per graph step (planner, tool <name>, critic, finalizer,
//     approval), a child of the run, with its state, reason, tokens and the
//     evidence it gathered;
//   - one per model call ("chat <model>", kind CLIENT), a child of the step
//     it served, with OpenTelemetry's gen_ai.* attributes (tokens) and its
//     cost, attempts and error kind.
// Spans are batched (at most a second, or 256 spans) and sent by a
// background thread; what the collector refuses or cannot take is dropped
// and counted, never retried forever. The body passes the redactor (the
// exporter takes only RedactedText), like every sink.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "agent/llm/llm.h"
#include "agent/redacted.h"
#include "agent/run_state.h"
#include "operator/controller/operator_config.h"
#include "operator/kube/object.h"
#include "operator/kube/result.h"
#include "operator/net/http_transport.h"

namespace opscopilot::controller {

struct SpanAttribute {
  std::string key;
  std::variant<std::string, std::int64_t, double, bool> value;
};

struct Span {
  std::string traceId;       // 32 lowercase hex
  std::string spanId;        // 16 lowercase hex
  std::string parentSpanId;  // "" for the run's span
  std::string name;
  int kind = 1;  // OTLP SpanKind: 1 internal, 3 client
  std::int64_t startNs = 0, endNs = 0;  // Unix nanoseconds
  std::vector<SpanAttribute> attributes;
  bool error = false;
  std::string statusMessage;
};

// The trace ID of a run's generation: 32 hex digits of SHA-256(uid/generation).
std::string traceIdFor(std::string_view uid, std::int64_t generation);
// A span ID within a trace, stable for what it names ("run", "step-3", ...).
std::string spanIdFor(std::string_view traceId, std::string_view what);

// The OTLP/HTTP JSON body (ExportTraceServiceRequest) for spans of one service.
agent::RedactedText otlpBody(const std::vector<Span>& spans, const std::string& serviceName);

// The spans of what one node did: each step that ended (or began to wait)
// in it, and the model calls it made (children of the last such step).
struct ModelCallSpan {
  std::string profile, model, provider;
  agent::llm::CallRecord record;
  std::chrono::system_clock::time_point end;
};
std::vector<Span> nodeSpans(const std::string& traceId, const std::vector<const agent::Step*>& steps,
                            const std::vector<ModelCallSpan>& calls);
// The run's own span, at its end.
Span runSpan(const std::string& traceId, const kube::Object& run, const agent::RunState& state, const std::string& profile,
             std::chrono::system_clock::time_point end);

// While alive, the model calls this thread's gateways report (recordModelCall)
// go to calls (nullptr: nowhere). Captures do not nest.
class ModelCallCapture {
 public:
  explicit ModelCallCapture(std::vector<ModelCallSpan>* calls);
  ~ModelCallCapture();
  ModelCallCapture(const ModelCallCapture&) = delete;
  ModelCallCapture& operator=(const ModelCallCapture&) = delete;
};
// Called by a gateway's onCallEnded, on the thread that made the call.
void recordModelCall(ModelCallSpan call);

class SpanExporter {
 public:
  // Starts the sending thread. Fails (InvalidConfig) on a bad endpoint or CA file.
  static kube::Result<std::unique_ptr<SpanExporter>> start(const TracingConfig& config);
  SpanExporter(std::shared_ptr<net::HttpTransport> transport, std::string target, std::string serviceName);
  ~SpanExporter();
  SpanExporter(const SpanExporter&) = delete;
  SpanExporter& operator=(const SpanExporter&) = delete;

  // Queues spans (beyond 4096 waiting, they are dropped and counted).
  void add(std::vector<Span> spans);
  // Sends what is queued, then stops (on the operator's shutdown).
  void shutdown();

  std::uint64_t exported() const { return exported_.load(); }
  std::uint64_t dropped() const { return dropped_.load(); }

 private:
  void loop();
  bool send(const std::vector<Span>& batch);

  std::shared_ptr<net::HttpTransport> transport_;
  std::string target_, serviceName_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Span> queue_;
  bool stopping_ = false;
  std::atomic<std::uint64_t> exported_{0}, dropped_{0};
  std::thread thread_;
};

}  // namespace opscopilot::controller
