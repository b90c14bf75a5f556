// opscopilot-operator: the DiagnosticRun controller. Out of cluster with
// --kubeconfig (or $KUBECONFIG); in cluster with its service account.
#include <pthread.h>

#include <csignal>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include "operator/controller/json_log.h"
#include "operator/controller/manager.h"
#include "operator/controller/operator_config.h"
#include "operator/kube/client.h"

using namespace opscopilot;

namespace {

int usage() {
  std::cerr << "usage: opscopilot-operator [--kubeconfig PATH] [--context NAME] [--config operator.yaml]\n"
               "                           [--health-address HOST:PORT] [--namespace NS]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string kubeconfig, context, configPath, healthAddress, watchNamespace;
  bool healthSet = false, nsSet = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    auto eq = [&](const char* flag, std::string& out) {
      std::string prefix = std::string(flag) + "=";
      if (a.rfind(prefix, 0) != 0) return false;
      out = a.substr(prefix.size());
      return true;
    };
    if (a == "--kubeconfig" ? next(kubeconfig) : eq("--kubeconfig", kubeconfig)) continue;
    if (a == "--context" ? next(context) : eq("--context", context)) continue;
    if (a == "--config" ? next(configPath) : eq("--config", configPath)) continue;
    if (a == "--health-address" ? next(healthAddress) : eq("--health-address", healthAddress)) {
      healthSet = true;
      continue;
    }
    if (a == "--namespace" ? next(watchNamespace) : eq("--namespace", watchNamespace)) {
      nsSet = true;
      continue;
    }
    return usage();
  }

  // Signals are taken by a dedicated thread; every other thread blocks them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  controller::OperatorConfig config;
  if (!configPath.empty()) {
    auto c = controller::loadOperatorConfig(configPath);
    if (!c.ok()) {
      std::cerr << "opscopilot-operator: invalid configuration: " << c.error().message << "\n";
      return 1;
    }
    config = *c;
  }
  // OpenTelemetry's environment variables, when the config names no tracing endpoint.
  if (!config.tracing) {
    const char* traces = std::getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
    const char* base = std::getenv("OTEL_EXPORTER_OTLP_ENDPOINT");
    const char* disabled = std::getenv("OTEL_SDK_DISABLED");
    if ((traces && *traces) || (base && *base)) {
      if (disabled && std::string(disabled) == "true") {
        // OTEL_SDK_DISABLED=true: no traces.
      } else {
        controller::TracingConfig tc;
        const bool specific = traces && *traces;
        if (auto err = controller::tracesEndpoint(specific ? traces : base, specific, tc.endpoint); !err.empty()) {
          std::cerr << "opscopilot-operator: " << (specific ? "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT " : "OTEL_EXPORTER_OTLP_ENDPOINT ")
                    << err << "\n";
          return 1;
        }
        if (const char* name = std::getenv("OTEL_SERVICE_NAME"); name && *name) tc.serviceName = name;
        config.tracing = tc;
      }
    }
  }
  if (healthSet) config.healthAddress = healthAddress;
  if (nsSet) config.watchNamespace = watchNamespace;

  auto cfg = kube::loadDefaultConfig(kubeconfig, context);
  if (!cfg.ok()) {
    std::cerr << "opscopilot-operator: " << cfg.error().message << "\n";
    return 1;
  }
  auto client = kube::Client::create(*cfg);
  if (!client.ok()) {
    std::cerr << "opscopilot-operator: " << client.error().message << "\n";
    return 1;
  }
  auto version = (*client)->getRaw("/version");
  if (!version.ok()) {
    std::cerr << "opscopilot-operator: cannot reach the API server at " << cfg->server << ": "
              << version.error().toString() << "\n";
    return 1;
  }
  controller::logInfo("connected", {{"server", cfg->server}});

  // Shared with the signal thread, which is detached (it may sit in sigwait
  // forever) and may still be inside cancel() when main returns: found by
  // ThreadSanitizer on the e2e suite when `stop` lived on main's stack.
  auto stop = std::make_shared<net::Cancellation>();
  std::thread signalThread([stop, signals] {
    int sig = 0;
    sigwait(&signals, &sig);
    controller::logInfo("signal received", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
    stop->cancel();
  });
  signalThread.detach();
  return controller::runManager(*client, config, *stop);
}
