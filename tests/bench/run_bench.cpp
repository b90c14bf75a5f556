// run_bench: creates N DiagnosticRuns at once against a running operator and
// prints create-to-Succeeded latency (p50/p99), throughput, the operator's
// RSS and its API requests and status writes per run. Not a test: it prints
// figures. Driven by tests/bench/bench.sh, which sets up the cluster,
// the workload and the operator.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "operator/kube/client.h"
#include "operator/kube/informer.h"
#include "operator/net/http_transport.h"

using namespace opscopilot;
using Clock = std::chrono::steady_clock;

namespace {

const kube::ResourceRef kRuns{"opscopilot.io", "v1alpha1", "diagnosticruns", true};

long rssKiB(int pid, const char* field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field, 0) == 0) return std::stol(line.substr(std::strlen(field)));
  }
  return -1;
}

// Reads a gauge or counter value from the operator's /metrics.
double metric(net::HttpTransport& t, const std::string& name) {
  net::HttpRequest req;
  req.target = "/metrics";
  auto r = t.roundTrip(req);
  if (!r.ok()) return -1;
  // The sum of the metric's series (rest_client_requests_total has one per
  // method and code).
  std::istringstream in(r->body);
  std::string line;
  double sum = -1;
  while (std::getline(in, line)) {
    if (line.rfind(name, 0) == 0 && (line.size() > name.size()) && (line[name.size()] == ' ' || line[name.size()] == '{')) {
      sum = std::max(sum, 0.0) + std::stod(line.substr(line.rfind(' ') + 1));
    }
  }
  return sum;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 200, pid = 0, metricsPort = 0, threads = 8;
  std::string ns = "bench", target = "checkout", model;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--runs") runs = std::stoi(v);
    if (a == "--namespace") ns = v;
    if (a == "--operator-pid") pid = std::stoi(v);
    if (a == "--metrics-port") metricsPort = std::stoi(v);
    if (a == "--target") target = v;
    if (a == "--threads") threads = std::stoi(v);
    if (a == "--model") model = v;
  }
  auto cfg = kube::loadDefaultConfig("", "");
  if (!cfg.ok()) {
    std::cerr << cfg.error().message << "\n";
    return 1;
  }
  auto client = kube::Client::create(*cfg);
  if (!client.ok()) return 1;
  std::shared_ptr<net::HttpTransport> metrics;
  if (metricsPort) {
    net::TransportOptions mo;
    mo.host = "127.0.0.1";
    mo.port = std::to_string(metricsPort);
    mo.tls = false;
    metrics = net::makeHttpTransport(mo).value();
  }

  std::mutex mu;
  std::map<std::string, Clock::time_point> created, done;
  kube::WatcherOptions wo;
  wo.resource = kRuns;
  wo.ns = ns;
  kube::Informer inf(*client, wo);
  auto seen = [&](const kube::ObjectPtr& o) {
    auto phase = o->stringAt({"status", "phase"});
    if (phase != "Succeeded" && phase != "Failed") return;
    auto now = Clock::now();
    std::lock_guard l(mu);
    done.emplace(std::string(o->name()), now);
  };
  inf.addHandlers({seen, [&](const kube::ObjectPtr&, const kube::ObjectPtr& n) { seen(n); }, {}});
  inf.start();
  inf.waitForSync(std::chrono::seconds(30));

  const long idleRss = pid ? rssKiB(pid, "VmRSS:") : -1;
  const double reqBefore = metrics ? metric(*metrics, "rest_client_requests_total") : -1;
  const double writesBefore = metrics ? metric(*metrics, "opscopilot_status_writes_total") : -1;

  const auto stamp = std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 100000000);
  std::atomic<int> next{0}, failures{0};
  const auto start = Clock::now();
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      for (int i; (i = next++) < runs;) {
        std::string name = "bench-" + stamp + "-" + std::to_string(i);
        std::string body = R"({"apiVersion":"opscopilot.io/v1alpha1","kind":"DiagnosticRun","metadata":{"name":")" + name +
                           R"("},"spec":{"question":"Why is )" + target + R"( failing?","target":{"kind":"Deployment","name":")" +
                           target + R"("},)" + (model.empty() ? "" : R"("model":")" + model + R"(",)") +
                           R"("ttlSecondsAfterFinished":600}})";
        auto before = Clock::now();
        {
          std::lock_guard l(mu);
          created[name] = before;
        }
        if (!(*client)->create(kRuns, ns, agent::redactJsonBody(body)).ok()) ++failures;
      }
    });
  }
  for (auto& w : workers) w.join();
  const double createSeconds = std::chrono::duration<double>(Clock::now() - start).count();
  const auto deadline = Clock::now() + std::chrono::seconds(300);
  while (Clock::now() < deadline) {
    {
      std::lock_guard l(mu);
      int finished = 0;
      for (const auto& [name, t] : created) finished += done.count(name);
      if (finished >= runs - failures) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const long peakRss = pid ? rssKiB(pid, "VmHWM:") : -1;
  // The operator sends its Events one at a time, after the runs they are
  // about: the requests counted below include them once they are out.
  double eventsLagSeconds = -1;
  if (metrics) {
    const auto finished = Clock::now();
    const auto eventsDeadline = finished + std::chrono::seconds(120);
    while (metric(*metrics, "opscopilot_events_pending") > 0 && Clock::now() < eventsDeadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    eventsLagSeconds = std::chrono::duration<double>(Clock::now() - finished).count();
  }
  const double reqAfter = metrics ? metric(*metrics, "rest_client_requests_total") : -1;
  const double writesAfter = metrics ? metric(*metrics, "opscopilot_status_writes_total") : -1;

  std::vector<double> latencies;
  Clock::time_point last = start;
  {
    std::lock_guard l(mu);
    for (const auto& [name, t] : created) {
      auto it = done.find(name);
      if (it == done.end()) continue;
      latencies.push_back(std::chrono::duration<double, std::milli>(it->second - t).count());
      last = std::max(last, it->second);
    }
  }
  if (const char* trace = std::getenv("BENCH_TRACE")) {
    // Each run's create and finish, in ms from the first create, in creation order.
    std::vector<std::pair<double, double>> rows;
    std::lock_guard l(mu);
    for (const auto& [name, t] : created) {
      auto it = done.find(name);
      auto ms = [&](Clock::time_point p) { return std::chrono::duration<double, std::milli>(p - start).count(); };
      rows.emplace_back(ms(t), it == done.end() ? -1.0 : ms(it->second));
    }
    std::sort(rows.begin(), rows.end());
    if (FILE* f = std::fopen(trace, "w")) {
      std::fprintf(f, "# start %lld us (steady clock)\n",
                   static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(start.time_since_epoch()).count()));
      for (const auto& [c, d] : rows) std::fprintf(f, "%.1f %.1f\n", c, d);
      std::fclose(f);
    }
  }
  std::sort(latencies.begin(), latencies.end());
  auto pct = [&](double p) {
    if (latencies.empty()) return 0.0;
    return latencies[std::min(latencies.size() - 1, static_cast<std::size_t>(p * static_cast<double>(latencies.size())))];
  };
  const double seconds = std::chrono::duration<double>(last - start).count();
  std::printf("runs created:              %d (%d failed to create)\n", runs, failures.load());
  std::printf("runs finished:             %zu\n", latencies.size());
  std::printf("creates took:              %.2f s\n", createSeconds);
  std::printf("create->finished p50:      %.1f ms\n", pct(0.50));
  std::printf("create->finished p99:      %.1f ms\n", pct(0.99));
  std::printf("throughput:                %.1f runs/s (%.2f s for all)\n", seconds > 0 ? static_cast<double>(latencies.size()) / seconds : 0.0, seconds);
  if (pid) std::printf("operator RSS idle / peak:  %.1f MiB / %.1f MiB\n", static_cast<double>(idleRss) / 1024.0, static_cast<double>(peakRss) / 1024.0);
  if (metrics && !latencies.empty()) {
    std::printf("API requests per run:      %.1f\n", (reqAfter - reqBefore) / static_cast<double>(latencies.size()));
    std::printf("status writes per run:     %.1f\n", (writesAfter - writesBefore) / static_cast<double>(latencies.size()));
    std::printf("Events all sent:           %.2f s after the last run finished\n", eventsLagSeconds);
  }
  inf.stop();
  return latencies.size() == static_cast<std::size_t>(runs - failures) ? 0 : 1;
}
