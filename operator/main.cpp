// opscopilot-operator: connects to the cluster and, for now, watches pods
// through the informer and logs what changes, as JSON lines. The
// DiagnosticRun controller is built on this client (see README).
#include <csignal>
#include <cstring>
#include <iostream>
#include <string>

#include "operator/kube/client.h"
#include "operator/kube/informer.h"

using namespace opscopilot;

namespace {

net::Cancellation* gStop = nullptr;

void onSignal(int) {
  if (gStop) gStop->cancel();  // Cancellation::cancel only takes a mutex and notifies
}

std::string jsonEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

void logLine(std::string_view msg, std::string_view ns = {}, std::string_view name = {}) {
  std::cout << R"({"msg":")" << jsonEscape(msg) << '"';
  if (!ns.empty()) std::cout << R"(,"namespace":")" << jsonEscape(ns) << '"';
  if (!name.empty()) std::cout << R"(,"name":")" << jsonEscape(name) << '"';
  std::cout << "}\n" << std::flush;
}

int usage() {
  std::cerr << "usage: opscopilot-operator [--kubeconfig PATH] [--context NAME] [--once]\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  std::string kubeconfig, context;
  bool once = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](std::string& out) {
      if (i + 1 >= argc) return false;
      out = argv[++i];
      return true;
    };
    if (a == "--kubeconfig") {
      if (!value(kubeconfig)) return usage();
    } else if (a.starts_with("--kubeconfig=")) {
      kubeconfig = a.substr(13);
    } else if (a == "--context") {
      if (!value(context)) return usage();
    } else if (a == "--once") {
      once = true;
    } else {
      return usage();
    }
  }
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
    std::cerr << "opscopilot-operator: cannot reach " << cfg->server << ": " << version.error().toString() << "\n";
    return 1;
  }
  logLine("connected to " + cfg->server);

  kube::WatcherOptions wo;
  wo.resource = kube::resources::kPods;
  kube::Informer pods(*client, wo);
  pods.addHandlers({
      [](const kube::ObjectPtr& o) { logLine("pod added", o->ns(), o->name()); },
      [](const kube::ObjectPtr&, const kube::ObjectPtr& n) {
        logLine("pod updated: phase " + std::string(n->stringAt({"status", "phase"})), n->ns(), n->name());
      },
      [](const kube::ObjectPtr& o) { logLine("pod deleted", o->ns(), o->name()); },
  });
  net::Cancellation stop;
  gStop = &stop;
  std::signal(SIGTERM, onSignal);
  std::signal(SIGINT, onSignal);
  pods.start();
  if (!pods.waitForSync(std::chrono::seconds(30))) {
    std::cerr << "opscopilot-operator: pod cache did not sync within 30s\n";
    return 1;
  }
  logLine("pod cache synced: " + std::to_string(pods.size()) + " pods");
  if (!once) stop.sleepFor(std::chrono::hours(24 * 365));
  pods.stop();
  logLine("stopped");
  return 0;
}
