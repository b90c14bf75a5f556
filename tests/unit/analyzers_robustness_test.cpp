// Every built-in analyzer on data it does not expect: missing fields, wrong
// types, nulls. None may crash, and none may cite evidence the step lacks.
#include <gtest/gtest.h>

#include <set>

#include "analysis_harness.h"
#include "tools/builtin_tools.h"

using namespace opscopilot;
using namespace opscopilot::analyzer_test;

namespace {

const char* const kTools[] = {"get_workload", "list_pods",  "get_events", "get_pod_logs", "get_service", "get_storage",
                              "get_config_refs", "get_quotas", "get_hpa", "get_ingress", "get_nodes",  "read_configmap_data",
                              "search_logs", "search_runbooks", "recall_past_runs",                              "unknown_tool"};

const char* const kGarbage[] = {
    "{}",
    "[]",
    "null",
    "42",
    "\"text\"",
    R"({"items":5,"replicaSets":"x","jobs":{},"service":[],"pods":7,"text":3,"pod":false})",
    R"({"items":[1,"x",null,[],{}],"resourceQuotas":[null,{}],"configMaps":[{"name":5,"exists":"no"}],"secrets":[{}]})",
    R"({"items":[{"kind":"Pod","metadata":{"name":"p","labels":"x","ownerReferences":[5,{"kind":"ReplicaSet"}]},
        "spec":{"containers":"x","initContainers":[null,{"name":7}],"volumes":[{"persistentVolumeClaim":5}]},
        "status":{"phase":7,"conditions":[{"type":"PodScheduled","status":"False","message":5},
                  {"type":"PodScheduled","status":"False","reason":"Unschedulable","message":"0/99999999999 nodes are available: 99999999999 Insufficient cpu, , ,{{,}"}],
                  "containerStatuses":[null,5,{"name":"c","state":{"waiting":{"reason":"CrashLoopBackOff"}},
                    "lastState":{"terminated":"x"},"restartCount":"6"},
                    {"name":"d","state":{"waiting":{"reason":"CreateContainerConfigError","message":"couldn't find key "}}},
                    {"name":"e","state":{"waiting":{"reason":"ErrImagePull","message":7}}},
                    {"name":"f","state":{"terminated":{"exitCode":1e300}},"restartCount":-1},
                    {"name":"g","state":{"running":{}},"ready":false,"lastState":{"terminated":{"exitCode":-9}},"restartCount":1e20}],
                  "initContainerStatuses":{}}}]})",
    R"({"items":[{"kind":"Deployment","metadata":{"name":"d"},"spec":{"replicas":"3","selector":{"matchLabels":[1],
        "matchExpressions":[{"key":"a","operator":"In"},{"operator":"Exists"},5]}},
        "status":{"conditions":[{"type":"ReplicaFailure","status":"True","message":"exceeded quota: , requested: , used: , limited: "},
                                {"type":"Progressing","status":"False","reason":"ProgressDeadlineExceeded"}]}},
        {"kind":"Job","metadata":{"name":"j"},"status":{"conditions":[{"type":"Failed","status":"True"}],"failed":"x"}},
        {"kind":"CronJob","metadata":{"name":"c"},"spec":{"suspend":"yes"}}],"replicaSets":[null,{"status":5}],"jobs":[5,{}]})",
    R"({"items":[{"involvedObject":{"kind":"Pod","name":"p"},"reason":"FailedScheduling","message":5,"count":"many"},
        {"involvedObject":{"kind":"Pod","name":"p","fieldPath":"spec.containers{"},"reason":"Unhealthy","message":"probe failed: "},
        {"involvedObject":{"kind":"ReplicaSet","name":"r"},"reason":"FailedCreate","message":"exceeded quota: q"},
        {"involvedObject":{"kind":"Pod","name":"p"},"reason":"Failed","message":"Failed to pull image \""},
        {"involvedObject":{"kind":"Pod","name":"p"},"reason":"BackOff","message":"Back-off restarting failed container "},
        {"involvedObject":{"kind":"Pod","name":"p"},"reason":"FailedMount","message":"volume \""},
        {"involvedObject":{"kind":"Job","name":"j"},"reason":"BackoffLimitExceeded","type":"Warning","series":{"count":"x"}},
        {"involvedObject":{"kind":"X","name":"y"},"reason":"Weird","type":"Warning","message":null}]})",
    R"({"pod":"p","container":"c","previous":"yes","text":"\n\n{\"level\":5}\n{bad json\nmsg=\"unterminated\nlevel=error msg=\\\"\n\tat x\nERROR\n"})",
    R"({"service":{"metadata":{"name":"s"},"spec":{"selector":{"app":5},"ports":[{"targetPort":{}},5]}},"endpoints":5,
        "endpointSlices":[{"endpoints":[{"conditions":5},null]}],"pods":[{"metadata":{"labels":{"app":"x"}}},3]})",
    R"({"service":{"metadata":{"name":"s"},"spec":{"selector":{"app":"a"},"ports":[{"port":80,"targetPort":"http"}]}},
        "endpoints":{"subsets":[{"notReadyAddresses":[{}]}]},"pods":[{"metadata":{"name":"p","labels":{"app":"a"}},
        "spec":{"containers":[{"ports":[{"containerPort":"x"},{"name":5}]}]},"status":{"conditions":[{"type":"Ready","status":"True"}]}}]})",
    R"({"items":[{"metadata":{"name":"c"},"spec":{"storageClassName":5,"accessModes":"RWO","resources":{"requests":{"storage":"lots"}}},
        "status":{"phase":"Pending"}},{"metadata":{"name":"d"},"spec":{"storageClassName":""},"status":{"phase":"Pending"}}],
        "persistentVolumes":[5,{"spec":{"capacity":{"storage":"1Zi"}}}],"storageClasses":[{"metadata":{}}],"forbidden":"all"})",
    R"({"resourceQuotas":[{"metadata":{"name":"q"},"status":{"hard":{"pods":"0","cpu":"x","memory":5},"used":{"pods":"0"}}}]})",
    R"({"items":[{"metadata":{"name":"h"},"spec":{"scaleTargetRef":5,"maxReplicas":"x"},"status":{"conditions":[
        {"type":"ScalingActive","status":"False"},{"type":"AbleToScale","status":"False","message":5}]}}]})",
    R"({"items":[{"metadata":{"name":"i"},"spec":{"defaultBackend":{"service":{"name":"s","port":{}}},"rules":[5,{"http":{"paths":[{}]}}]},
        "status":{}}],"services":[{"name":"s","exists":true,"ports":[null,"http",80,{"port":{}}]},{"name":5}]})",
    R"({"items":[{"metadata":{"name":"n"},"spec":{"taints":[5,{"effect":"NoSchedule"}],"unschedulable":"yes"},
        "status":{"conditions":[{"type":"Ready","status":"Unknown"}],"allocatable":[]}}],"forbidden":"no"})",
};

TEST(AnalyzerRobustness, GarbageDataNeverCrashesAndNeverInventsEvidence) {
  auto analyzers = tools::builtinAnalyzers();
  ASSERT_FALSE(analyzers.empty());
  for (const char* tool : kTools) {
    for (const char* json : kGarbage) {
      TestSink sink;
      // Findings from other analyzers that enrichers would look for.
      sink.seed("pod-status", "Pod/p/c", "Container c in pod p cannot be scheduled: ConfigMap x not found", agent::Severity::High);
      sink.seed("service", "Service/s", "Service s has no endpoints: selector app=a matches no pods", agent::Severity::High);
      auto step = stepWithJson(tool, json, {{"E1", "Pod/p"}}, R"({"pod":"p","kind":"Deployment","name":"d"})");
      feed(analyzers, *step, sink);
      for (const auto& f : sink.findings()) {
        for (const auto& id : f.evidence) EXPECT_EQ(id, "E1") << tool << " " << json << " " << f.title;
        EXPECT_FALSE(f.title.empty());
      }
      for (const auto& call : sink.suggestions) {
        rapidjson::Document args;
        args.Parse(call.argsJson.c_str());
        EXPECT_TRUE(!args.HasParseError() && args.IsObject()) << call.argsJson;
      }
    }
  }
}

TEST(AnalyzerRobustness, NullDataAndArgsAreIgnored) {
  auto analyzers = tools::builtinAnalyzers();
  for (const char* tool : kTools) {
    TestSink sink;
    agent::StepView view;
    view.tool = tool;
    for (auto& a : analyzers) a->analyze(view, sink);
    EXPECT_TRUE(sink.findings().empty()) << tool;
  }
}

TEST(BuiltinAnalyzers, HaveDistinctNamesAndCoverEveryReadTool) {
  auto analyzers = tools::builtinAnalyzers();
  std::set<std::string> names;
  for (const auto& a : analyzers) EXPECT_TRUE(names.insert(std::string(a->name())).second) << a->name();
  EXPECT_EQ(analyzers.size(), 16u);
}

}  // namespace
