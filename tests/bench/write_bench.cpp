// write_bench: what one write costs the API server. Creates N objects, then
// writes each M times (a real change every time: the API server skips a write
// that changes nothing), and prints kube-apiserver CPU per write, wall time
// per write and the bytes sent. Not a test: it prints figures. Driven by
// tests/bench/write_cost.sh, which runs it once per kind of write.
//   write_bench --mode status-put|status-patch|configmap --resource GROUP/VERSION/PLURAL
//               --kind KIND --namespace NS --status-file F --apiserver-pid PID
//               [--objects 20] [--writes 20] [--threads 4] [--name PREFIX]
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <rapidjson/document.h>

#include "agent/json_writer.h"
#include "agent/redacted.h"
#include "operator/kube/client.h"

using namespace opscopilot;

namespace {

double cpuSeconds(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces) start past ')'.
  std::istringstream rest(text.substr(text.rfind(')') + 2));
  std::string field;
  double utime = 0, stime = 0;
  for (int i = 3; rest >> field; ++i) {
    if (i == 14) utime = std::stod(field);
    if (i == 15) {
      stime = std::stod(field);
      break;
    }
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string jsonString(const std::string& s) {
  rapidjson::Value v(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  return agent::jsonText(v);
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = "status-put", resource, kind, ns = "default", statusFile, prefix = "wb";
  int objects = 20, writes = 20, threads = 4, apiserverPid = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i], v = argv[i + 1];
    if (a == "--mode") mode = v;
    if (a == "--resource") resource = v;
    if (a == "--kind") kind = v;
    if (a == "--namespace") ns = v;
    if (a == "--status-file") statusFile = v;
    if (a == "--objects") objects = std::stoi(v);
    if (a == "--writes") writes = std::stoi(v);
    if (a == "--threads") threads = std::stoi(v);
    if (a == "--apiserver-pid") apiserverPid = std::stoi(v);
    if (a == "--name") prefix = v;
  }
  std::ifstream sf(statusFile);
  const std::string status((std::istreambuf_iterator<char>(sf)), std::istreambuf_iterator<char>());
  rapidjson::Document statusDoc;
  if (statusDoc.Parse(status.c_str()).HasParseError() || !statusDoc.IsObject()) {
    std::cerr << "write_bench: --status-file must hold a JSON object\n";
    return 2;
  }
  auto cfg = kube::loadDefaultConfig("", "");
  if (!cfg.ok()) {
    std::cerr << cfg.error().message << "\n";
    return 1;
  }
  auto client = kube::Client::create(*cfg);
  if (!client.ok()) return 1;

  const bool configMap = mode == "configmap";
  kube::ResourceRef ref{"", "v1", "configmaps", true};
  std::string apiVersion = "v1";
  if (!configMap) {
    auto s1 = resource.find('/'), s2 = resource.rfind('/');
    ref = kube::ResourceRef{resource.substr(0, s1), resource.substr(s1 + 1, s2 - s1 - 1), resource.substr(s2 + 1), true};
    apiVersion = ref.group + "/" + ref.version;
  }
  // The body of write n to object name: the status with one field changed.
  auto statusWith = [&](int n) {
    rapidjson::Document d;
    d.CopyFrom(statusDoc, d.GetAllocator());
    const std::string msg = "write " + std::to_string(n);
    if (d.HasMember("message")) {
      d["message"].SetString(msg.c_str(), d.GetAllocator());
    } else {
      d.AddMember("message", rapidjson::Value(msg.c_str(), d.GetAllocator()), d.GetAllocator());
    }
    return agent::jsonText(d);
  };
  auto objectBody = [&](const std::string& name, int n, const std::string& rv) {
    std::string meta = R"({"name":")" + name + "\"" + (rv.empty() ? "" : R"(,"resourceVersion":")" + rv + "\"") + "}";
    if (configMap) {
      return R"({"apiVersion":"v1","kind":"ConfigMap","metadata":)" + meta + R"(,"data":{"status":)" +
             jsonString(statusWith(n)) + "}}";
    }
    return R"({"apiVersion":")" + apiVersion + R"(","kind":")" + kind + R"(","metadata":)" + meta +
           R"(,"spec":{"question":"Why is checkout failing?","target":{"kind":"Deployment","name":"checkout"}},"status":)" +
           statusWith(n) + "}";
  };

  std::vector<std::string> names;
  std::vector<std::string> versions;
  for (int i = 0; i < objects; ++i) {
    names.push_back(prefix + "-" + std::to_string(i));
    auto c = (*client)->create(ref, ns, agent::redactJsonBody(objectBody(names.back(), 0, "")));
    if (!c.ok()) {
      std::cerr << "create: " << c.error().toString() << "\n";
      return 1;
    }
    versions.emplace_back((*c)->resourceVersion());
  }
  std::atomic<int> next{0}, failures{0};
  std::atomic<long long> bytes{0};
  const double cpuBefore = apiserverPid ? cpuSeconds(apiserverPid) : 0;
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      // Each object belongs to one thread, so its resourceVersion is never stale.
      for (int o; (o = next++) < objects;) {
        std::string rv = versions[static_cast<std::size_t>(o)];
        for (int n = 1; n <= writes; ++n) {
          kube::Result<kube::ObjectPtr> r = kube::Error{};
          if (mode == "status-patch") {
            const std::string body = R"({"status":)" + statusWith(n) + "}";
            bytes += static_cast<long long>(body.size());
            r = (*client)->patch(ref, ns, names[static_cast<std::size_t>(o)], kube::PatchType::Merge,
                                 agent::redactJsonBody(body), {}, "status");
          } else {
            const std::string body = objectBody(names[static_cast<std::size_t>(o)], n, rv);
            bytes += static_cast<long long>(body.size());
            r = configMap ? (*client)->update(ref, ns, names[static_cast<std::size_t>(o)], agent::redactJsonBody(body))
                          : (*client)->updateStatus(ref, ns, names[static_cast<std::size_t>(o)],
                                                    agent::redactJsonBody(body));
          }
          if (!r.ok()) {
            ++failures;
            std::cerr << "write: " << r.error().toString() << "\n";
            continue;
          }
          rv = std::string((*r)->resourceVersion());
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double cpu = apiserverPid ? cpuSeconds(apiserverPid) - cpuBefore : 0;
  const int total = objects * writes - failures.load();
  std::printf("%-34s %6d writes %7.1f KB each  apiserver CPU %6.2f ms/write  wall %6.2f ms/write  (%d failed)\n",
              (mode + " " + (configMap ? std::string("configmaps") : ref.resource)).c_str(), total,
              total ? static_cast<double>(bytes.load()) / total / 1024.0 : 0.0, total ? cpu * 1000.0 / total : 0.0,
              total ? wall * 1000.0 * threads / total : 0.0, failures.load());
  for (const auto& name : names) (void)(*client)->remove(ref, ns, name);
  return failures.load() ? 1 : 0;
}
