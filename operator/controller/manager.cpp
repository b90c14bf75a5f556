#include "operator/controller/manager.h"

#include <fstream>
#include <iterator>


#include <malloc.h>
#include <unistd.h>

#include <atomic>
#include <future>
#include <stdexcept>
#include <thread>

#include "operator/controller/event_recorder.h"
#include "operator/controller/health_server.h"
#include "operator/controller/json_log.h"
#include "operator/controller/leader_election.h"
#include "operator/controller/operator_metrics.h"
#include "operator/controller/llm_http_client.h"
#include "operator/controller/run_reconciler.h"
#include "operator/controller/schedule_reconciler.h"
#include "operator/controller/tracing.h"
#include "operator/controller/web_timeline.h"
#include "operator/controller/work_queue.h"
#include "operator/kube/informer.h"
#include "tools/builtin_tools.h"
#include "tools/action_destinations.h"
#include "tools/metrics_source.h"

namespace opscopilot::controller {

namespace {


// The API key of a model profile: from its environment variable, or from
// its Secret (read with the operator's own identity). "" when neither is set
// (local servers need none). The key is never logged.
// One key of a Secret (read with the operator's own identity), without a
// trailing newline. Never logged.
kube::Result<std::string> secretValue(kube::Client& client, const SecretKeyRef& ref) {
  auto secret = client.get(kube::resources::kSecrets, ref.ns, ref.name);
  if (!secret.ok()) {
    return kube::Error{0, "InvalidConfig", "Secret " + ref.ns + "/" + ref.name + ": " + secret.error().reason};
  }
  auto encoded = (*secret)->stringAt({"data", ref.key});
  auto value = kube::base64Decode(std::string(encoded));
  if (encoded.empty() || !value) {
    return kube::Error{0, "InvalidConfig", "Secret " + ref.ns + "/" + ref.name + " has no key \"" + ref.key + "\""};
  }
  while (!value->empty() && (value->back() == '\n' || value->back() == '\r')) value->pop_back();
  return *value;
}

kube::Result<std::string> resolveApiKey(kube::Client& client, const ModelProfile& p) {
  if (!p.apiKeyEnv.empty()) {
    const char* v = std::getenv(p.apiKeyEnv.c_str());
    if (!v || !*v) return kube::Error{0, "InvalidConfig", "environment variable " + p.apiKeyEnv + " is not set"};
    return std::string(v);
  }
  if (!p.apiKeySecretName.empty()) {
    return secretValue(client, {p.apiKeySecretNamespace, p.apiKeySecretName, p.apiKeySecretKey});
  }
  return std::string();
}

kube::Result<std::shared_ptr<net::HttpTransport>> transportFor(const net::Url& url, const std::string& caFile,
                                                               bool insecureSkipVerify) {
  net::TransportOptions o;
  o.host = url.host;
  o.port = url.port;
  o.tls = url.tls;
  o.insecureSkipVerify = insecureSkipVerify;
  o.maxIdleConnections = 8;
  o.maxResponseBytes = 8u << 20;
  if (!caFile.empty()) {
    std::ifstream in(caFile);
    if (!in) return kube::Error{0, "InvalidConfig", "cannot read caFile " + caFile};
    o.caPem.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  }
  return net::makeHttpTransport(o);
}

// A notify or create_ticket destination: its transport, and its URL and
// token from their Secrets (read with the operator's own identity, never logged).
kube::Result<tools::ActionDestination> actionDestination(kube::Client& client, const ActionDestinationConfig& dc) {
  std::string text = dc.url;
  if (!dc.urlSecret.empty()) {
    auto v = secretValue(client, dc.urlSecret);
    if (!v.ok()) return v.error();
    text = *v;
  }
  auto url = net::parseUrl(text);
  // The URL from a Secret is never quoted: it is a credential.
  if (!url) return kube::Error{0, "InvalidConfig", dc.url.empty() ? "the URL in its urlSecret is not an http(s) URL" : "bad URL " + dc.url};
  tools::ActionDestination d;
  d.name = dc.name;
  d.tool = dc.tool();
  d.type = dc.type;
  d.display = std::string(url->tls ? "https://" : "http://") + url->host + ":" + url->port;
  d.target = url->target;
  if (dc.type == "github") {
    while (!d.target.empty() && d.target.back() == '/') d.target.pop_back();
    d.target += "/repos/" + dc.repository + "/issues";
  }
  d.repository = dc.repository;
  d.namespaces = dc.namespaces;
  if (!dc.tokenSecret.empty()) {
    auto token = secretValue(client, dc.tokenSecret);
    if (!token.ok()) return token.error();
    d.authorization = "Bearer " + *token;
  }
  auto transport = transportFor(*url, dc.caFile, dc.insecureSkipVerify);
  if (!transport.ok()) return transport.error();
  d.transport = *transport;
  return d;
}

// A Prometheus endpoint for query_metrics: its transport, and the bearer
// token from its Secret (read with the operator's own identity, never logged).
kube::Result<tools::PrometheusEndpoint> prometheusEndpoint(kube::Client& client, const PrometheusConfig& pc) {
  auto url = net::parseUrl(pc.url);
  if (!url) return kube::Error{0, "InvalidConfig", "bad URL " + pc.url};
  tools::PrometheusEndpoint ep;
  ep.url = pc.url;
  ep.basePath = url->target == "/" ? "" : url->target;
  while (!ep.basePath.empty() && ep.basePath.back() == '/') ep.basePath.pop_back();
  ep.scopeLabel = pc.scopeLabel;
  if (!pc.tokenSecretName.empty()) {
    auto token = secretValue(client, {pc.tokenSecretNamespace, pc.tokenSecretName, pc.tokenSecretKey});
    if (!token.ok()) return token.error();
    ep.authorization = "Bearer " + *token;
  }
  auto transport = transportFor(*url, pc.caFile, pc.insecureSkipVerify);
  if (!transport.ok()) return transport.error();
  ep.transport = *transport;
  return ep;
}

// What the schedules' event triggers read of a Warning Event; the rest is
// not cached.
kube::ObjectPtr slimEvent(const kube::ObjectPtr& e) {
  rapidjson::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  rapidjson::Value meta(rapidjson::kObjectType);
  for (const char* k : {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"}) {
    auto v = e->stringAt({"metadata", k});
    meta.AddMember(rapidjson::StringRef(k), rapidjson::Value(v.data(), static_cast<rapidjson::SizeType>(v.size()), a), a);
  }
  doc.AddMember("metadata", meta, a);
  for (const char* k : {"type", "reason", "lastTimestamp", "eventTime"}) {
    auto v = e->stringAt({k});
    if (!v.empty()) doc.AddMember(rapidjson::StringRef(k), rapidjson::Value(v.data(), static_cast<rapidjson::SizeType>(v.size()), a), a);
  }
  auto message = e->stringAt({"message"}).substr(0, 1000);
  doc.AddMember("message", rapidjson::Value(message.data(), static_cast<rapidjson::SizeType>(message.size()), a), a);
  if (const auto* o = e->at({"involvedObject"})) doc.AddMember("involvedObject", rapidjson::Value(*o, a), a);
  if (const auto* s = e->at({"series"})) doc.AddMember("series", rapidjson::Value(*s, a), a);
  return kube::Object::copyOf(doc);
}

}  // namespace

int runManager(std::shared_ptr<kube::Client> client, const OperatorConfig& config, net::Cancellation& stop,
               std::chrono::seconds shutdownDeadline) {
  OperatorMetrics metrics;
  const std::string kRuns = "diagnosticrun", kSchedules = "diagnosticschedule";
  metrics.workers(kRuns, config.workers);
  metrics.workers(kSchedules, 1);
  client->observeRequests([&metrics](std::string_view method, int status, std::optional<double> seconds) {
    metrics.request(method, status, seconds);
  });

  agent::ToolRegistry tools;
  tools::ToolSettings ts;
  ts.readerUser = config.readerUser;
  ts.maxExcerptBytes = config.maxExcerptBytes;
  ts.defaultLogTailLines = config.logTailLines;
  ts.runbookNamespace = config.runbookNamespace;
  ts.access = std::make_shared<tools::AccessReviewer>(client);
  if (config.clusterPrometheus || !config.namespacePrometheus.empty()) {
    auto sources = std::make_shared<tools::MetricsSources>();
    if (config.clusterPrometheus) {
      auto ep = prometheusEndpoint(*client, *config.clusterPrometheus);
      if (!ep.ok()) {
        logError("cannot start: metrics.prometheus", {{"error", ep.error().message}});
        return 1;
      }
      sources->setClusterDefault(std::move(*ep));
    }
    for (const auto& [ns, pc] : config.namespacePrometheus) {
      auto ep = prometheusEndpoint(*client, pc);
      if (!ep.ok()) {
        logError("cannot start: metrics.namespaces", {{"namespace", ns}, {"error", ep.error().message}});
        return 1;
      }
      sources->setForNamespace(ns, std::move(*ep));
    }
    ts.metrics = std::move(sources);
  }
  if (!config.actionDestinations.empty()) {
    auto destinations = std::make_shared<tools::ActionDestinations>();
    for (const auto& [name, dc] : config.actionDestinations) {
      auto d = actionDestination(*client, dc);
      if (!d.ok()) {
        logError("cannot start: actions.destinations", {{"destination", name}, {"error", d.error().message}});
        return 1;
      }
      logInfo("action destination ready", {{"destination", name}, {"type", d->type}, {"server", d->display},
                                           {"token", d->authorization.empty() ? "none" : "set"}});
      destinations->add(std::move(*d));
    }
    ts.actions = std::move(destinations);
  }
  try {
    tools::registerBuiltinTools(tools, client, ts);
  } catch (const std::invalid_argument& e) {
    logError("cannot start: a tool's argument schema does not compile", {{"error", e.what()}});
    return 1;
  }
  auto analyzers = tools::builtinAnalyzers();

  // One gateway per model profile, shared by every run that names it.
  std::map<std::string, std::unique_ptr<agent::llm::Gateway>> gateways;
  auto http = std::make_shared<LlmHttpClient>();
  for (const auto& [name, p] : config.models) {
    if (p.provider == "builtin") continue;
    auto key = resolveApiKey(*client, p);
    if (!key.ok()) {
      logError("cannot start: model profile needs an API key", {{"profile", name}, {"error", key.error().message}});
      return 1;
    }
    agent::llm::ProviderConfig pc{name, p.provider, p.baseURL, p.model, p.apiVersion, *key, p.stream,
                                  std::chrono::seconds(p.timeoutSeconds), p.temperature};
    auto provider = p.provider == "anthropic" ? agent::llm::makeAnthropicProvider(pc, http)
                                              : agent::llm::makeOpenAIProvider(pc, http);
    agent::llm::GatewayOptions go;
    go.maxAttempts = p.maxAttempts;
    go.requestsPerMinute = p.requestsPerMinute;
    go.tokensPerMinute = p.tokensPerMinute;
    go.breakerFailures = p.breakerFailures;
    go.breakerCooldown = std::chrono::seconds(p.breakerCooldownSeconds);
    go.price = {p.inputMicroUSDPerMTok, p.outputMicroUSDPerMTok};
    metrics.modelProfile(name);
    go.onCallEnded = [&metrics, profile = name, model = p.model, provider = p.provider](const agent::llm::CallRecord& call) {
      metrics.modelCall(profile, call);
      recordModelCall({profile, model, provider, call, std::chrono::system_clock::now()});
    };
    gateways[name] = std::make_unique<agent::llm::Gateway>(std::move(provider), go);
    logInfo("model profile ready", {{"profile", name}, {"provider", p.provider}, {"model", p.model},
                                    {"apiKey", key->empty() ? "none" : "set"}});
  }

  kube::WatcherOptions wo;
  wo.resource = kDiagnosticRuns;
  wo.ns = config.watchNamespace;
  wo.pageSize = 100;  // runs are 10-20 KB each: small pages keep the list's peak memory low
  wo.transform = slimForCache;
  kube::Informer runs(client, wo);
  WorkQueue queue;
  queue.observe(&metrics.queue(kRuns));
  auto enqueue = [&](const kube::ObjectPtr& o) { queue.add(o->key()); };
  runs.addHandlers({enqueue, [&](const kube::ObjectPtr&, const kube::ObjectPtr& n) { enqueue(n); }, {}});

  // A decision on an ApprovalRequest wakes its run, and so does one appearing
  // or vanishing (a forged or recreated request is refused at once, not when
  // the genuine one would have expired).
  kube::WatcherOptions ao;
  ao.resource = kApprovalRequests;
  ao.ns = config.watchNamespace;
  kube::Informer approvals(client, ao);
  auto wakeRun = [&](const kube::ObjectPtr& o) {
    auto run = o->stringAt({"spec", "runRef", "name"});
    if (!run.empty()) queue.add(std::string(o->ns()) + "/" + std::string(run));
  };
  approvals.addHandlers({wakeRun, [&](const kube::ObjectPtr&, const kube::ObjectPtr& n) { wakeRun(n); }, wakeRun});

  // Namespace budgets: read from a cache; a change shows in its status at once.
  kube::WatcherOptions bo;
  bo.resource = kDiagnosticBudgets;
  bo.ns = config.watchNamespace;
  kube::Informer budgets(client, bo);

  // DiagnosticSchedules: runs on a cron schedule, created as this process.
  auto self = whoAmI(*client);
  if (!self.ok()) {
    logError("cannot start: cannot tell who this process is (a SelfSubjectReview)", {{"error", self.error().toString()}});
    return 1;
  }
  kube::WatcherOptions so;
  so.resource = kDiagnosticSchedules;
  so.ns = config.watchNamespace;
  kube::Informer schedules(client, so);
  WorkQueue scheduleQueue;
  scheduleQueue.observe(&metrics.queue(kSchedules));

  EventRecorder events(client);
  std::atomic<bool> stopping{false};
  RequesterPolicy requesterPolicy(client, config.requesterPolicyBinding);
  RunReconciler reconciler(client, runs, tools, analyzers, config, events, stopping, requesterPolicy, &gateways);
  reconciler.useSchedules(&schedules, *self);
  ScheduleReconciler scheduler(client, schedules, runs, events, *self);
  auto enqueueSchedule = [&](const kube::ObjectPtr& o) { scheduleQueue.add(o->key()); };
  schedules.addHandlers({enqueueSchedule, [&](const kube::ObjectPtr&, const kube::ObjectPtr& n) { enqueueSchedule(n); }, {}});
  // A run of a schedule that changes (finishes, goes) changes the schedule's status.
  auto runOfSchedule = [&](const kube::ObjectPtr& o) {
    if (auto key = ScheduleReconciler::ownerKey(*o); !key.empty()) scheduleQueue.add(key);
  };
  runs.addHandlers({runOfSchedule, [&](const kube::ObjectPtr&, const kube::ObjectPtr& n) { runOfSchedule(n); }, runOfSchedule});
  scheduler.limitTriggers(config.triggersPerNamespacePerHour);
  scheduler.useReader(config.readerUser);
  // Warning Events, for schedules' onEvents: slim copies of the last hour's.
  kube::WatcherOptions eo;
  eo.resource = kube::resources::kEvents;
  eo.ns = config.watchNamespace;
  eo.fieldSelector = "type=Warning";
  eo.transform = slimEvent;
  kube::Informer warnings(client, eo);
  auto onWarning = [&](const kube::ObjectPtr& o) {
    for (const auto& s : schedules.listIn(std::string(o->ns()))) {
      if (s->at({"spec", "onEvents"})) {
        scheduleQueue.add("event:" + o->key());
        return;
      }
    }
  };
  warnings.addHandlers({onWarning, [&](const kube::ObjectPtr&, const kube::ObjectPtr& n) { onWarning(n); }, {}});
  reconciler.onNodeDone([&](const std::string& key) { queue.add(key); });
  reconciler.useBudgets(&budgets);
  reconciler.useMetrics(&metrics);
  std::unique_ptr<SpanExporter> spans;
  if (config.tracing) {
    auto exporter = SpanExporter::start(*config.tracing);
    if (!exporter.ok()) {
      logError("cannot start: tracing", {{"error", exporter.error().message}});
      return 1;
    }
    spans = std::move(*exporter);
    reconciler.useTracing(spans.get());
    logInfo("exporting traces over OTLP/HTTP", {{"endpoint", config.tracing->endpoint}, {"service", config.tracing->serviceName}});
  }
  // Only the leader writes a budget's status (a standby keeps its caches warm).
  std::atomic<bool> leading{!config.leaderElection};
  auto budgetChanged = [&](const kube::ObjectPtr& o) {
    if (leading.load() && o->name() == "default") reconciler.publishBudget(std::string(o->ns()));
  };
  budgets.addHandlers({budgetChanged, [&](const kube::ObjectPtr&, const kube::ObjectPtr& n) { budgetChanged(n); }, {}});
  runs.addHandlers({{}, {}, [&](const kube::ObjectPtr& o) { reconciler.runDeleted(*o); }});

  std::unique_ptr<HealthServer> health;
  if (!config.healthAddress.empty()) {
    auto scrape = [&] {
      OperatorMetrics::Snapshot now;
      for (const auto& run : runs.list()) ++now.runsByPhase[std::string(agent::toString(agent::phaseFrom(run->stringAt({"status", "phase"}))))];
      now.activeRuns = static_cast<int>(reconciler.activeRuns());
      now.nodesRunning = static_cast<int>(reconciler.nodesInFlight());
      now.nodesWaiting = static_cast<int>(reconciler.nodesWaiting());
      now.eventsPending = events.pending();
      now.statusWrites = reconciler.statusWrites();
      for (const auto& [name, gateway] : gateways) now.circuits[name] = gateway->circuitState();
      now.queues[kRuns] = {queue.depth(), queue.unfinishedWorkSeconds(), queue.longestRunningSeconds()};
      now.queues[kSchedules] = {scheduleQueue.depth(), scheduleQueue.unfinishedWorkSeconds(), scheduleQueue.longestRunningSeconds()};
      return metrics.scrape(now);
    };
    auto h = HealthServer::start(config.healthAddress,
                                 {[&] { return runs.hasSynced() && approvals.hasSynced() && !stopping.load(); }, scrape});
    if (!h.ok()) {
      logError("cannot start the health server", {{"error", h.error().message}});
      return 1;
    }
    health = std::move(h.value());
    logInfo("serving /healthz, /readyz and /metrics", {{"address", config.healthAddress}});
  }

  std::unique_ptr<WebTimeline> web;
  if (!config.webAddress.empty()) {
    WebTimeline::Source source;
    source.runs = [&] { return runs.list(); };
    source.run = [&](const std::string& ns, const std::string& name) { return client->get(kDiagnosticRuns, ns, name); };
    source.approvals = [&](const std::string& ns, const std::string& name) {
      std::vector<kube::ObjectPtr> out;
      for (const auto& a : approvals.listIn(ns)) {
        if (a->stringAt({"spec", "runRef", "name"}) == name) out.push_back(a);
      }
      return out;
    };
    auto w = WebTimeline::start(config.webAddress, std::move(source));
    if (!w.ok()) {
      logError("cannot start the web timeline", {{"error", w.error().message}});
      return 1;
    }
    web = std::move(w.value());
    runs.addHandlers({[&](const kube::ObjectPtr& o) { web->runChanged(*o, false); },
                      [&](const kube::ObjectPtr&, const kube::ObjectPtr& n) { web->runChanged(*n, false); },
                      [&](const kube::ObjectPtr& o) { web->runChanged(*o, true); }});
    logInfo("serving the read-only web timeline", {{"address", config.webAddress}, {"port", std::to_string(web->port())}});
  }

  runs.start();
  approvals.start();
  budgets.start();
  schedules.start();
  warnings.start();
  logInfo("starting", {{"controller", "diagnosticrun"}, {"workers", std::to_string(config.workers)},
                       {"namespace", config.watchNamespace.empty() ? "(all)" : config.watchNamespace}});
  while (!runs.waitForSync(std::chrono::seconds(1))) {
    if (stop.cancelled()) break;
  }
  if (runs.hasSynced()) {
    logInfo("cache synced", {{"controller", "diagnosticrun"}, {"runs", std::to_string(runs.size())}});
    // The initial list's pages are garbage now; hand their memory back.
    malloc_trim(0);
  }

  // With leader election, only the holder of the Lease reconciles; a
  // standby keeps its caches warm and takes over when the lease expires.
  std::unique_ptr<LeaderElector> elector;
  std::thread renewer;
  std::atomic<bool> lostLeadership{false};
  if (config.leaderElection) {
    char host[256] = "opscopilot";
    gethostname(host, sizeof host - 1);
    elector = std::make_unique<LeaderElector>(client, config.leaseNamespace, config.leaseName,
                                              std::string(host) + "_" + std::to_string(::getpid()));
    if (!elector->acquire(stop)) {
      runs.stop();
      approvals.stop();
      budgets.stop();
      schedules.stop();
      warnings.stop();
      return 0;
    }
    leading.store(true);
    for (const auto& b : budgets.list()) budgetChanged(b);  // what changed while standing by
    renewer = std::thread([&] {
      if (!elector->keepRenewing(stop)) {
        lostLeadership.store(true);
        stop.cancel();
      }
    });
  }

  std::vector<std::thread> workers;
  for (int i = 0; i < config.workers; ++i) {
    workers.emplace_back([&] {
      while (auto key = queue.get()) {
        auto t0 = std::chrono::steady_clock::now();
        metrics.workerBusy(kRuns, true);
        ReconcileResult r;
        try {
          r = reconciler.reconcile(*key);
        } catch (const std::exception& e) {
          r.error = kube::Error{0, "InternalError", e.what()};
        }
        metrics.workerBusy(kRuns, false);
        const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        metrics.reconciled(kRuns, r.error ? "error" : r.requeueAfter.count() > 0 ? "requeue_after" : "success", took);
        if (r.error) {
          logError("reconcile failed", {{"controller", "diagnosticrun"}, {"key", *key}, {"error", r.error->toString()}});
          queue.addRateLimited(*key);
        } else {
          queue.forget(*key);
          if (r.requeueAfter.count() > 0) queue.addAfter(*key, r.requeueAfter);
          if (!r.finishedReason.empty()) metrics.runFinished(r.finishedPhase, r.finishedReason);
        }
        queue.done(*key);
      }
    });
  }

  // One worker for schedules: each reconcile is a few cached reads and at
  // most a create, a status patch and history deletes.
  std::thread scheduleWorker([&] {
    while (!schedules.waitForSync(std::chrono::seconds(1))) {
      if (stop.cancelled()) return;
    }
    while (auto key = scheduleQueue.get()) {
      const auto t0 = std::chrono::steady_clock::now();
      metrics.workerBusy(kSchedules, true);
      ReconcileResult r;
      try {
        if (key->rfind("event:", 0) == 0) {
          if (auto e = warnings.get(key->substr(6))) r = scheduler.onWarningEvent(*e);
        } else {
          r = scheduler.reconcile(*key);
        }
      } catch (const std::exception& e) {
        r.error = kube::Error{0, "InternalError", e.what()};
      }
      metrics.workerBusy(kSchedules, false);
      metrics.reconciled(kSchedules, r.error ? "error" : r.requeueAfter.count() > 0 ? "requeue_after" : "success",
                         std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (r.error) {
        logError("reconcile failed", {{"controller", "diagnosticschedule"}, {"key", *key}, {"error", r.error->toString()}});
        scheduleQueue.addRateLimited(*key);
      } else {
        scheduleQueue.forget(*key);
        if (r.requeueAfter.count() > 0) scheduleQueue.addAfter(*key, r.requeueAfter);
      }
      scheduleQueue.done(*key);
    }
  });

  stop.sleepFor(std::chrono::hours(24 * 365 * 100));
  logInfo("shutting down: no new work; checkpointing runs in progress");
  stopping.store(true);
  for (auto& [name, gateway] : gateways) gateway->shutdown();  // model waits and calls in flight end now
  queue.shutdown();
  scheduleQueue.shutdown();
  scheduleWorker.join();
  auto joined = std::async(std::launch::async, [&] {
    for (auto& w : workers) w.join();
  });
  // Then the nodes in flight end, and each run in progress writes what it
  // has not written yet.
  auto checkpointed = std::async(std::launch::async, [&] {
    joined.wait();
    return reconciler.checkpointAll();
  });
  if (checkpointed.wait_for(shutdownDeadline) != std::future_status::ready) {
    logError("runs in progress were not checkpointed within the shutdown deadline; exiting anyway");
    std::_Exit(1);
  }
  logInfo("checkpointed runs in progress", {{"runs", std::to_string(checkpointed.get())}});
  if (spans) spans->shutdown();  // sends the spans still queued
  if (renewer.joinable()) renewer.join();
  if (elector && !lostLeadership.load()) elector->release();
  runs.stop();
  approvals.stop();
  budgets.stop();
  schedules.stop();
  warnings.stop();
  logInfo("stopped");
  return lostLeadership.load() ? 1 : 0;
}

}  // namespace opscopilot::controller
