#include "operator/controller/tracing.h"

#include <fstream>
#include <iterator>

#include "agent/json_writer.h"
#include "agent/run_spec.h"
#include "operator/controller/approval.h"
#include "operator/controller/digest.h"
#include "operator/controller/json_log.h"

namespace opscopilot::controller {

namespace {

using Clock = std::chrono::system_clock;

std::int64_t unixNanos(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

void attr(Span& s, std::string key, std::string value) {
  if (!value.empty()) s.attributes.push_back({std::move(key), std::move(value)});
}
void attr(Span& s, std::string key, std::int64_t value) { s.attributes.push_back({std::move(key), value}); }
void attr(Span& s, std::string key, double value) { s.attributes.push_back({std::move(key), value}); }

std::string stepSpanName(const agent::Step& st) {
  switch (st.node) {
    case agent::Node::Tool: return "tool " + st.tool;
    case agent::Node::Approval: return "approval " + st.tool;
    default: return std::string(agent::toString(st.node));
  }
}

}  // namespace

std::string traceIdFor(std::string_view uid, std::int64_t generation) {
  return sha256Hex(std::string(uid) + "/" + std::to_string(generation)).substr(0, 32);
}

std::string spanIdFor(std::string_view traceId, std::string_view what) {
  return sha256Hex(std::string(traceId) + "/" + std::string(what)).substr(0, 16);
}

agent::RedactedText otlpBody(const std::vector<Span>& spans, const std::string& serviceName) {
  rapidjson::StringBuffer buf;
  agent::JsonWriter<rapidjson::StringBuffer> w(buf);
  auto str = [&](const std::string& s) { w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size())); };
  auto keyValue = [&](const SpanAttribute& a) {
    w.StartObject();
    w.Key("key");
    str(a.key);
    w.Key("value");
    w.StartObject();
    if (const auto* s = std::get_if<std::string>(&a.value)) {
      w.Key("stringValue");
      str(*s);
    } else if (const auto* i = std::get_if<std::int64_t>(&a.value)) {
      w.Key("intValue");  // int64 is a string in OTLP's JSON encoding
      str(std::to_string(*i));
    } else if (const auto* d = std::get_if<double>(&a.value)) {
      w.Key("doubleValue");
      w.Double(*d);
    } else {
      w.Key("boolValue");
      w.Bool(std::get<bool>(a.value));
    }
    w.EndObject();
    w.EndObject();
  };
  w.StartObject();
  w.Key("resourceSpans");
  w.StartArray();
  w.StartObject();
  w.Key("resource");
  w.StartObject();
  w.Key("attributes");
  w.StartArray();
  keyValue({"service.name", serviceName});
  w.EndArray();
  w.EndObject();
  w.Key("scopeSpans");
  w.StartArray();
  w.StartObject();
  w.Key("scope");
  w.StartObject();
  w.Key("name");
  str("opscopilot.io/operator");
  w.EndObject();
  w.Key("spans");
  w.StartArray();
  for (const auto& s : spans) {
    w.StartObject();
    w.Key("traceId");
    str(s.traceId);
    w.Key("spanId");
    str(s.spanId);
    if (!s.parentSpanId.empty()) {
      w.Key("parentSpanId");
      str(s.parentSpanId);
    }
    w.Key("name");
    str(s.name);
    w.Key("kind");
    w.Int(s.kind);
    w.Key("startTimeUnixNano");
    str(std::to_string(s.startNs));
    w.Key("endTimeUnixNano");
    str(std::to_string(std::max(s.endNs, s.startNs)));
    w.Key("attributes");
    w.StartArray();
    for (const auto& a : s.attributes) keyValue(a);
    w.EndArray();
    w.Key("status");
    w.StartObject();
    w.Key("code");
    w.Int(s.error ? 2 : 1);  // ERROR : OK
    if (!s.statusMessage.empty()) {
      w.Key("message");
      str(s.statusMessage);
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  w.EndArray();
  w.EndObject();
  // The sink: attribute values (summaries, reasons) pass the redactor.
  return agent::redactJsonBody(std::string_view(buf.GetString(), buf.GetSize()));
}

std::vector<Span> nodeSpans(const std::string& traceId, const std::vector<const agent::Step*>& steps,
                            const std::vector<ModelCallSpan>& calls) {
  std::vector<Span> out;
  const std::string runSpanId = spanIdFor(traceId, "run");
  std::string lastStep = runSpanId;
  for (const agent::Step* st : steps) {
    Span s;
    s.traceId = traceId;
    s.spanId = spanIdFor(traceId, "step-" + std::to_string(st->id));
    s.parentSpanId = runSpanId;
    s.name = stepSpanName(*st);
    const auto start = parseRfc3339(st->startedAt).value_or(Clock::now() - std::chrono::milliseconds(st->durationMs));
    s.startNs = unixNanos(start);
    s.endNs = s.startNs + st->durationMs * 1'000'000;
    attr(s, "opscopilot.step.id", static_cast<std::int64_t>(st->id));
    attr(s, "opscopilot.step.node", std::string(agent::toString(st->node)));
    attr(s, "opscopilot.step.state", std::string(agent::toString(st->state)));
    attr(s, "opscopilot.tool.name", st->tool);
    attr(s, "opscopilot.step.reason", st->reason);
    attr(s, "opscopilot.step.summary", st->summary.substr(0, 512));
    if (st->tokens > 0) attr(s, "opscopilot.step.tokens", st->tokens);
    std::string evidence;
    for (const auto& e : st->evidence) evidence += (evidence.empty() ? "" : ",") + e;
    attr(s, "opscopilot.step.evidence", evidence);
    if (st->state == agent::StepState::Failed) {
      s.error = true;
      s.statusMessage = st->error.empty() ? st->reason : st->error.substr(0, 512);
    }
    lastStep = s.spanId;
    out.push_back(std::move(s));
  }
  int n = 0;
  for (const auto& c : calls) {
    Span s;
    s.traceId = traceId;
    s.spanId = spanIdFor(traceId, lastStep + "-call-" + std::to_string(n++) + "-" + std::to_string(unixNanos(c.end)));
    s.parentSpanId = lastStep;
    s.name = "chat " + c.model;
    s.kind = 3;  // client
    s.endNs = unixNanos(c.end);
    s.startNs = s.endNs - std::chrono::duration_cast<std::chrono::nanoseconds>(c.record.elapsed).count();
    attr(s, "gen_ai.operation.name", std::string("chat"));
    attr(s, "gen_ai.provider.name", c.provider);
    attr(s, "gen_ai.request.model", c.model);
    attr(s, "gen_ai.usage.input_tokens", c.record.usage.promptTokens);
    attr(s, "gen_ai.usage.output_tokens", c.record.usage.completionTokens);
    attr(s, "opscopilot.model.profile", c.profile);
    attr(s, "opscopilot.model.attempts", static_cast<std::int64_t>(c.record.attempts));
    attr(s, "opscopilot.cost_usd", static_cast<double>(c.record.costMicroUSD) / 1e6);
    if (c.record.error) {
      s.error = true;
      attr(s, "error.type", std::string(agent::llm::kindName(*c.record.error)));
      s.statusMessage = agent::llm::kindName(*c.record.error);
    }
    out.push_back(std::move(s));
  }
  return out;
}

Span runSpan(const std::string& traceId, const kube::Object& run, const agent::RunState& state, const std::string& profile,
             Clock::time_point end) {
  Span s;
  s.traceId = traceId;
  s.spanId = spanIdFor(traceId, "run");
  s.name = "DiagnosticRun";
  s.endNs = unixNanos(end);
  const auto start = parseRfc3339(run.stringAt({"status", "startTime"}));
  s.startNs = start ? unixNanos(*start) : s.endNs - state.usage.durationMs * 1'000'000;
  attr(s, "k8s.namespace.name", std::string(run.ns()));
  attr(s, "opscopilot.run.name", std::string(run.name()));
  attr(s, "opscopilot.run.uid", std::string(run.uid()));
  attr(s, "opscopilot.run.generation", run.generation());
  attr(s, "opscopilot.run.phase", std::string(agent::toString(state.phase)));
  attr(s, "opscopilot.run.reason", state.reason);
  attr(s, "opscopilot.run.target", std::string(run.stringAt({"status", "targetRef"})));
  attr(s, "opscopilot.model.profile", profile);
  attr(s, "opscopilot.run.steps", static_cast<std::int64_t>(state.steps.size()));
  attr(s, "opscopilot.run.tool_calls", state.usage.toolCalls);
  attr(s, "gen_ai.usage.input_tokens", state.usage.promptTokens);
  attr(s, "gen_ai.usage.output_tokens", state.usage.completionTokens);
  attr(s, "opscopilot.cost_usd", agent::parseMicroUSD(state.usage.costUSD).value_or(0) / 1e6);
  if (state.phase == agent::Phase::Failed) {
    s.error = true;
    s.statusMessage = state.reason + ": " + state.message.substr(0, 512);
  }
  return s;
}

namespace {
thread_local std::vector<ModelCallSpan>* capturedCalls = nullptr;
}  // namespace

ModelCallCapture::ModelCallCapture(std::vector<ModelCallSpan>* calls) { capturedCalls = calls; }
ModelCallCapture::~ModelCallCapture() { capturedCalls = nullptr; }

void recordModelCall(ModelCallSpan call) {
  if (capturedCalls) capturedCalls->push_back(std::move(call));
}

kube::Result<std::unique_ptr<SpanExporter>> SpanExporter::start(const TracingConfig& config) {
  auto url = net::parseUrl(config.endpoint);
  if (!url) return kube::Error{0, "InvalidConfig", "tracing endpoint " + config.endpoint + " is not an http(s) URL"};
  net::TransportOptions o;
  o.host = url->host;
  o.port = url->port;
  o.tls = url->tls;
  o.insecureSkipVerify = config.insecureSkipVerify;
  o.maxIdleConnections = 2;
  o.maxResponseBytes = 1u << 20;
  if (!config.caFile.empty()) {
    std::ifstream in(config.caFile);
    if (!in) return kube::Error{0, "InvalidConfig", "cannot read tracing.caFile " + config.caFile};
    o.caPem.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  auto transport = net::makeHttpTransport(o);
  if (!transport.ok()) return transport.error();
  return std::make_unique<SpanExporter>(*transport, url->target.empty() ? "/" : url->target, config.serviceName);
}

SpanExporter::SpanExporter(std::shared_ptr<net::HttpTransport> transport, std::string target, std::string serviceName)
    : transport_(std::move(transport)), target_(std::move(target)), serviceName_(std::move(serviceName)),
      thread_([this] { loop(); }) {}

SpanExporter::~SpanExporter() { shutdown(); }

void SpanExporter::add(std::vector<Span> spans) {
  bool full = false;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    for (auto& s : spans) {
      if (queue_.size() >= 4096) {
        dropped_.fetch_add(1);
        continue;
      }
      queue_.push_back(std::move(s));
    }
    full = queue_.size() >= 256;
  }
  if (full) cv_.notify_one();
}

void SpanExporter::shutdown() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

void SpanExporter::loop() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stopping_ || queue_.size() >= 256; });
    if (queue_.empty()) {
      if (stopping_) return;
      continue;
    }
    std::vector<Span> batch;
    batch.swap(queue_);
    const bool last = stopping_;
    lock.unlock();
    for (std::size_t i = 0; i < batch.size(); i += 512) {
      std::vector<Span> part(batch.begin() + static_cast<std::ptrdiff_t>(i),
                             batch.begin() + static_cast<std::ptrdiff_t>(std::min(batch.size(), i + 512)));
      if (send(part)) {
        exported_.fetch_add(part.size());
      } else {
        dropped_.fetch_add(part.size());
      }
    }
    lock.lock();
    if (last && queue_.empty()) return;
  }
}

bool SpanExporter::send(const std::vector<Span>& batch) {
  net::HttpRequest req;
  req.method = "POST";
  req.target = target_;
  req.headers.emplace_back("Content-Type", "application/json");
  req.body = otlpBody(batch, serviceName_).str();
  req.timeout = std::chrono::seconds(10);
  // One retry for a dropped connection or a busy collector (429, 502-504), as OTLP asks.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto res = transport_->roundTrip(req);
    if (res.ok() && res->status >= 200 && res->status < 300) return true;
    const bool retryable = !res.ok() || res->status == 429 || (res->status >= 502 && res->status <= 504);
    if (!retryable || attempt == 1) {
      logError("traces not exported", {{"spans", std::to_string(batch.size())},
                                        {"error", res.ok() ? "HTTP " + std::to_string(res->status) : res.error().message}});
      return false;
    }
  }
  return false;
}

}  // namespace opscopilot::controller
