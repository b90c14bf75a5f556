// fill_runs: creates N finished DiagnosticRuns (spec plus a status copied from
// a real finished run) with no operator involved, so that cache_bench.sh can
// measure the operator's memory with that many runs in its cache.
#include <rapidjson/document.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>
#include <vector>

#include "operator/kube/client.h"

using namespace opscopilot;

int main(int argc, char** argv) {
  int runs = 10000, threads = 8;
  std::string ns, statusFile;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--runs") runs = std::stoi(v);
    if (a == "--namespace") ns = v;
    if (a == "--status-file") statusFile = v;
    if (a == "--threads") threads = std::stoi(v);
  }
  std::ifstream in(statusFile);
  std::stringstream ss;
  ss << in.rdbuf();
  rapidjson::Document status;
  status.Parse(ss.str().c_str());
  if (status.HasParseError() || !status.IsObject()) {
    std::cerr << "fill_runs: --status-file must hold a run's status object\n";
    return 2;
  }
  auto cfg = kube::loadDefaultConfig("", "");
  if (!cfg.ok()) return 1;
  auto client = kube::Client::create(*cfg).value();
  const kube::ResourceRef runsRef{"opscopilot.io", "v1alpha1", "diagnosticruns", true};
  std::atomic<int> next{0}, failed{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i; (i = next++) < runs;) {
        std::string name = "cached-" + std::to_string(i);
        auto created = client->create(runsRef, ns,
                                      agent::redactJsonBody(R"({"apiVersion":"opscopilot.io/v1alpha1","kind":"DiagnosticRun","metadata":{"name":")" +
                                          name + R"("},"spec":{"question":"Why is checkout crash-looping?","target":{"kind":"Deployment","name":"checkout"}}})"));
        if (!created.ok()) {
          ++failed;
          continue;
        }
        rapidjson::Document doc;
        doc.CopyFrom((*created)->json(), doc.GetAllocator());
        rapidjson::Value st;
        st.CopyFrom(status, doc.GetAllocator());
        doc.AddMember("status", st, doc.GetAllocator());
        doc["status"]["observedGeneration"].SetInt64((*created)->generation());
        if (!client->updateStatus(runsRef, ns, name, agent::redactJson(doc)).ok()) ++failed;
      }
    });
  }
  for (auto& t : pool) t.join();
  std::cout << "created " << runs - failed.load() << " finished runs (" << failed.load() << " failed)\n";
  return failed.load() == 0 ? 0 : 1;
}
