// No template holes: a value the cluster did not give (a taint the scheduler
// does not name, an image a message does not carry) must never leave an empty
// placeholder in a finding or an answer. The harness checks every finding of
// every analyzer test (TestSink); this file tests that check, the fill()
// helper every sentence with such values goes through, and sweeps all
// analyzers over every fixture with each of its string fields emptied.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <filesystem>
#include <map>
#include <set>

#include "analysis_harness.h"
#include "tools/builtin_tools.h"
#include "tools/analyzers/fill.h"
#include "tools/render.h"

using namespace opscopilot;
using namespace opscopilot::analyzer_test;

namespace {

TEST(TemplateHoles, EveryEmptyPlaceholderShapeIsCaught) {
  const char* const holed[] = {
      "Pod web-1 cannot be scheduled: untolerated taint  (1 node)",
      "add a toleration (`tolerations: [{key: , operator: Exists}]`)",
      "Image  does not exist in docker.io: check which tags exist",
      "check which tags exist (registry UI or `crane ls `), then point the workload at one",
      "Job db failed: failed 3 times:  (BackoffLimitExceeded)",
      "Node n is NotReady (: Kubelet stopped posting node status.)",
      "Job j failed: ran longer than activeDeadlineSeconds ",
      "exits with code 1 ()",
      "Service s has no endpoints: selector app= matches no pods",
      "`kubectl set resources deployment/ -c app`",
      "message \"\" from the kubelet",
      "it asks for PersistentVolume , which does not exist",
      "cannot mount volume : ConfigMap x not found",
      "Pod p cannot be scheduled: ",
      "readiness probe tcpSocket : fails",
  };
  for (const char* text : holed) EXPECT_FALSE(templateHoles(text).empty()) << "not caught: " << text;
}

TEST(TemplateHoles, WholeSentencesPassIncludingTheClustersOwnWords) {
  const char* const whole[] = {
      "Pod analytics-7b5d6c8f9-r3t5y cannot be scheduled: untolerated taint node-role.kubernetes.io/control-plane (1 node), "
      "insufficient memory (2 nodes); it requests memory 6Gi",
      "Nodes carry taint dedicated=gpu: if the pod belongs on them add a toleration in the pod template of deployment/ml "
      "(`tolerations: [{key: dedicated, operator: Exists}]`), otherwise make room on untainted nodes.",
      "Container checkout in pod checkout-7d9f8b6c5-x2x7q crash-loops: exits with code 1 (Error), 6 restarts: log says "
      "\"required  environment variable DATABASE_URL is not set\"",
      "readiness probe httpGet :9200/ready fails",
      "`kubectl patch cronjob nightly -n shop -p '{\"spec\":{\"suspend\":false}}'` if it should run.",
      "Read why it exits: `kubectl logs p -c app --previous -n shop`.",
      "(same in 2 more pods: a-1, a-2, …)",
  };
  for (const char* text : whole) {
    auto holes = templateHoles(text);
    EXPECT_TRUE(holes.empty()) << text << "\n  " << (holes.empty() ? "" : holes.front());
  }
}

TEST(Fill, UsesTheValueOrTheFallbackTheCallerChose) {
  EXPECT_EQ(tools::analysis::fill("untolerated ${taint} (1 node)", {{"taint", "taint dedicated=gpu", "taints the scheduler does not name"}}),
            "untolerated taint dedicated=gpu (1 node)");
  EXPECT_EQ(tools::analysis::fill("untolerated ${taint} (1 node)", {{"taint", "", "taints the scheduler does not name"}}),
            "untolerated taints the scheduler does not name (1 node)");
  EXPECT_EQ(tools::analysis::fill("`crane ls ${repo}`", {{"repo", "  ", "<repository>"}}), "`crane ls <repository>`")
      << "blanks are empty too";
  EXPECT_EQ(tools::analysis::fill("${a} and ${a}", {{"a", "x", "y"}}), "x and x");
  EXPECT_EQ(tools::analysis::fill("no placeholders {key: value}", {}), "no placeholders {key: value}");
  EXPECT_EQ(tools::analysis::fill("cut ${off", {}), "cut ${off");
}

TEST(Fill, AnEmptyFallbackOrAMissingSlotStaysVisible) {
  EXPECT_EQ(tools::analysis::fill("kubectl uncordon ${node}", {{"node", "", ""}}), "kubectl uncordon <node>");
  EXPECT_EQ(tools::analysis::fill("kubectl logs ${pod}", {}), "kubectl logs <pod>");
  EXPECT_EQ(tools::analysis::fill("${}", {}), "<value>");
}

TEST(TemplateHoles, AnswersForEveryWayARunEndsAreWhole) {
  auto analyzers = tools::builtinAnalyzers();
  TestSink sink;
  auto workload = stepFromFixture("get_workload", "deployment_rollout_stuck.json",
                                  {{"E1", "Deployment/web"}, {"E2", "ReplicaSet/web-7d9f5c6b8d"}, {"E3", "ReplicaSet/web-5c4b8f7d9"}},
                                  R"({"kind":"Deployment","name":"web"})");
  feed(analyzers, *workload, sink);
  auto pods = stepFromFixture("list_pods", "pods_rollout_stuck.json", {{"E4", "Pod/web-7d9f5c6b8d-xk2lp"}}, R"({"selector":"app=web"})");
  feed(analyzers, *pods, sink);
  agent::RunSpec spec;
  spec.ns = "shop";
  spec.targetKind = "Deployment";
  spec.targetName = "web";
  const std::pair<const char*, const char*> endings[] = {
      {"Completed", ""},
      {"StepLimitReached", "the step limit of 8 tool calls was reached"},
      {"TimedOut", "the time limit of 300s was reached"},
      {"BudgetExceeded", ""},
      {"TargetNotFound", "Deployment/web was not found in namespace shop"},
      {"Forbidden", ""},
  };
  for (const auto& [reason, message] : endings) {
    std::string answer = agent::composeAnswer(spec, sink.state(), reason, message);
    expectNoTemplateHoles(answer, std::string("the answer of a run ending ") + reason, false);
  }
  agent::RunState healthy;
  expectNoTemplateHoles(agent::composeAnswer(spec, healthy, "Completed", ""), "the answer of a run that read nothing", false);
}

// ---- The sweep.

std::string toJson(const rapidjson::Value& v) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  v.Accept(w);
  return std::string(buf.GetString(), buf.GetSize());
}

void collectStringKeys(const rapidjson::Value& v, std::set<std::string>& keys) {
  if (v.IsObject()) {
    for (const auto& m : v.GetObject()) {
      if (m.value.IsString()) keys.insert(m.name.GetString());
      collectStringKeys(m.value, keys);
    }
  } else if (v.IsArray()) {
    for (const auto& e : v.GetArray()) collectStringKeys(e, keys);
  }
}

// Sets every string member `key` to `blank` ("" or blanks).
void emptyKey(rapidjson::Value& v, const std::string& key, const char* blank) {
  if (v.IsObject()) {
    for (auto& m : v.GetObject()) {
      if (m.value.IsString() && key == m.name.GetString()) m.value.SetString(rapidjson::StringRef(blank));
      emptyKey(m.value, key, blank);
    }
  } else if (v.IsArray()) {
    for (auto& e : v.GetArray()) emptyKey(e, key, blank);
  }
}

std::string toolOf(const std::string& fixture) {
  static const std::map<std::string, std::string> kPrefixes = {
      {"pods_", "list_pods"},        {"events_", "get_events"},     {"logs_", "get_pod_logs"},
      {"deployment_", "get_workload"}, {"job_", "get_workload"},   {"cronjob_", "get_workload"},
      {"statefulset_", "get_workload"}, {"service_", "get_service"}, {"storage_", "get_storage"},
      {"config_refs_", "get_config_refs"}, {"quotas_", "get_quotas"}, {"hpa_", "get_hpa"},
      {"ingress_", "get_ingress"},   {"nodes_", "get_nodes"}};
  for (const auto& [prefix, tool] : kPrefixes) {
    if (fixture.starts_with(prefix)) return tool;
  }
  return {};
}

// The refs a tool would have given its evidence for this data (from the
// unchanged fixture, so the IDs stay put while fields are emptied).
std::vector<std::string> refsOf(const std::string& tool, const rapidjson::Value& data) {
  std::vector<std::string> refs;
  auto add = [&](const std::string& kind, const rapidjson::Value* list) {
    if (list == nullptr || !list->IsArray()) return;
    for (const auto& o : list->GetArray()) {
      if (auto n = tools::stringAt(o, {"metadata", "name"}); !n.empty()) refs.push_back(kind + "/" + std::string(n));
    }
  };
  auto member = [&](const char* key) { return data.IsObject() && data.HasMember(key) ? &data[key] : nullptr; };
  if (tool == "list_pods") add("Pod", member("items"));
  if (tool == "get_nodes") add("Node", member("items"));
  if (tool == "get_storage") add("PersistentVolumeClaim", member("items"));
  if (tool == "get_hpa") add("HorizontalPodAutoscaler", member("items"));
  if (tool == "get_ingress") add("Ingress", member("items"));
  if (tool == "get_quotas") add("ResourceQuota", member("resourceQuotas"));
  if (tool == "get_workload") {
    if (const auto* items = member("items"); items && items->IsArray()) {
      for (const auto& o : items->GetArray()) {
        refs.push_back(std::string(tools::stringAt(o, {"kind"})) + "/" + std::string(tools::stringAt(o, {"metadata", "name"})));
      }
    }
    add("ReplicaSet", member("replicaSets"));
    add("Job", member("jobs"));
  }
  if (tool == "get_service") {
    if (auto n = tools::stringAt(data, {"service", "metadata", "name"}); !n.empty()) refs.push_back("Service/" + std::string(n));
    add("Pod", member("pods"));
  }
  if (tool == "get_events" && member("items") && member("items")->IsArray()) {
    for (const auto& e : (*member("items")).GetArray()) {
      refs.push_back(std::string(tools::stringAt(e, {"involvedObject", "kind"})) + "/" +
                     std::string(tools::stringAt(e, {"involvedObject", "name"})));
    }
  }
  if (tool == "get_config_refs") {
    for (auto [key, kind] : {std::pair{"configMaps", "ConfigMap"}, std::pair{"secrets", "Secret"}}) {
      if (const auto* list = member(key); list && list->IsArray()) {
        for (const auto& r : list->GetArray()) refs.push_back(std::string(kind) + "/" + std::string(tools::stringAt(r, {"name"})));
      }
    }
  }
  if (tool == "get_pod_logs") {
    refs.push_back("Pod/" + std::string(tools::stringAt(data, {"pod"})) + " container " +
                   std::string(tools::stringAt(data, {"container"})) + " (previous)");
  }
  return refs;
}

struct SweepStep {
  std::string tool;
  std::string fixture;
};

// Runs every analyzer over the steps, with string member `key` set to
// `blank` in step `mutated`; returns the holes found.
std::vector<std::string> runChain(const std::vector<SweepStep>& chain, std::size_t mutated, const std::string& key,
                                  const char* blank) {
  auto analyzers = tools::builtinAnalyzers();
  std::vector<std::string> holes;
  {
    TestSink sink;
    sink.collectHolesInto(&holes);
    int next = 1;
    for (std::size_t i = 0; i < chain.size(); ++i) {
      rapidjson::Document doc;
      doc.Parse(readFixture(chain[i].fixture).c_str());
      std::vector<agent::StepView::Cited> evidence;
      for (const auto& ref : refsOf(chain[i].tool, doc)) evidence.push_back({"E" + std::to_string(next++), ref});
      if (i == mutated) emptyKey(doc, key, blank);
      auto step = stepWithJson(chain[i].tool, toJson(doc), evidence);
      feed(analyzers, *step, sink);
    }
  }
  return holes;
}

TEST(AnalyzerRobustness, EmptyingOrBlankingAnyStringFieldOfAnyFixtureLeavesNoTemplateHole) {
  std::vector<std::vector<SweepStep>> chains = {
      {{"list_pods", "pods_unschedulable.json"}, {"get_events", "events_failed_scheduling.json"},
       {"get_nodes", "nodes_taints_capacity.json"}},
      {{"list_pods", "pods_imagepullbackoff.json"}, {"get_events", "events_imagepull.json"}},
      {{"list_pods", "pods_crashloop.json"}, {"get_events", "events_crashloop.json"},
       {"get_pod_logs", "logs_checkout_previous.json"}},
      {{"list_pods", "pods_config_error.json"}, {"get_events", "events_config_error.json"},
       {"get_config_refs", "config_refs_missing.json"}},
      {{"get_events", "events_quota_failedcreate.json"}, {"get_quotas", "quotas_exhausted.json"}},
      {{"get_service", "service_selector_mismatch.json"}, {"list_pods", "pods_web_v2.json"}},
      {{"get_workload", "deployment_all_unavailable.json"}, {"list_pods", "pods_crashloop.json"}},
      {{"get_workload", "deployment_rollout_stuck.json"}, {"list_pods", "pods_rollout_stuck.json"}},
  };
  // What the real kubelet wrote (real/), pods then their events.
  for (const char* real : {"crash", "oom", "readiness", "liveness", "imagepull", "configmap", "secretkey", "nocommand"}) {
    chains.push_back({{"list_pods", std::string("real/pods_") + real + ".json"},
                      {"get_events", std::string("real/events_") + real + ".json"}});
  }
  const std::filesystem::path root = std::string(OPSCOPILOT_SOURCE_DIR) + "/tests/fixtures/analyzers";
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    if (!entry.is_regular_file()) continue;
    std::string name = entry.path().lexically_relative(root).string();
    std::string tool = toolOf(entry.path().filename().string());
    ASSERT_FALSE(tool.empty()) << "which tool reads fixture " << name << "?";
    chains.push_back({{tool, name}});
  }
  std::set<std::string> holes;
  int runs = 0;
  for (const auto& chain : chains) {
    for (std::size_t i = 0; i < chain.size(); ++i) {
      rapidjson::Document doc;
      doc.Parse(readFixture(chain[i].fixture).c_str());
      std::set<std::string> keys = {""};  // "": unchanged
      collectStringKeys(doc, keys);
      for (const auto& key : keys) {
        for (const char* blank : {"", "  "}) {
          if (key.empty() && *blank) continue;
          ++runs;
          for (const auto& h : runChain(chain, i, key, blank)) {
            holes.insert(h + "\n    [" + chain[i].fixture +
                         (key.empty() ? "" : std::string(" with ") + key + (*blank ? " blank" : " emptied")) + "]");
          }
        }
      }
    }
  }
  EXPECT_GT(runs, 1500);
  int shown = 0;
  for (const auto& h : holes) {
    if (++shown > 60) break;
    ADD_FAILURE() << h;
  }
  EXPECT_TRUE(holes.empty()) << holes.size() << " template holes";
}

}  // namespace
