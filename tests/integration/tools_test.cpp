// The built-in tools against the real control plane: the admin client makes
// the requests, impersonation of the namespace's reader scopes them, and the
// API server's RBAC (config/rbac) decides what the tools may see.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "cluster_env.h"
#include "operator/kube/object.h"
#include "tools/builtin_tools.h"

using namespace opscopilot;
using namespace opscopilot::test;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

const kube::ResourceRef kClusterLogs{"kwok.x-k8s.io", "v1alpha1", "clusterlogs", false};

std::string base64(const std::string& in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8 | (unsigned char)in[i + 2];
    for (int s = 18; s >= 0; s -= 6) out.push_back(kAlphabet[(v >> s) & 63]);
  }
  if (i + 1 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    unsigned v = (unsigned char)in[i] << 16 | (unsigned char)in[i + 1] << 8;
    out += {kAlphabet[(v >> 18) & 63], kAlphabet[(v >> 12) & 63], kAlphabet[(v >> 6) & 63], '='};
  }
  return out;
}

int kubectl(const std::string& args, std::string* out = nullptr) {
  return run("eval \"$(bash '" + repoRoot() + "/hack/cluster.sh' env)\" && kubectl " + args, out);
}

std::string everything(const agent::ToolOutput& out) {
  std::string s = out.summary + "\n" + (out.data ? kube::serializeJson(*out.data) : "");
  for (const auto& e : out.evidence) s += "\n" + e.ref + "\n" + e.text;
  return s;
}

class ToolsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    admin = clientFor("admin");
    ASSERT_TRUE(admin);
    ns = createNamespace("tools");
    bare = createNamespace("tools-norbac");
    std::string out;
    ASSERT_EQ(kubectl("apply -f '" + repoRoot() + "/config/rbac/reader-clusterrole.yaml'", &out), 0) << out;
    ASSERT_EQ(kubectl("apply -n " + ns + " -f '" + repoRoot() + "/config/rbac/namespace-reader.yaml'", &out), 0) << out;

    // Logs in the kubelet's CRI format, served by kwok for the pod's
    // container (current and previous instance).
    logDir = std::filesystem::temp_directory_path() / ("opscopilot-" + ns);
    std::filesystem::create_directories(logDir);
    std::ofstream(logDir / "current.log") << "2026-01-01T00:00:10.000000000Z stdout F checkout starting again\n";
    std::ofstream(logDir / "previous.log")
        << "2026-01-01T00:00:00.000000000Z stdout F checkout 2.3.0 starting\n"
           "2026-01-01T00:00:01.000000000Z stderr F level=fatal msg=\"DATABASE_URL is not set\" exit_code=1\n";
    auto logs = admin->create(kClusterLogs, "", agent::redactJsonBody(R"({"apiVersion":"kwok.x-k8s.io/v1alpha1","kind":"ClusterLogs",
      "metadata":{"name":")" + ns + R"("},"spec":{"selector":{"matchNamespaces":[")" + ns + R"("]},
      "logs":[{"containers":["checkout"],"logsFile":")" + (logDir / "current.log").string() +
                                                      R"(","previousLogsFile":")" + (logDir / "previous.log").string() + R"("}]}})"));
    ASSERT_TRUE(logs.ok()) << logs.error().toString();

    auto dep = admin->create(kube::resources::kDeployments, ns, agent::redactJsonBody(R"({"apiVersion":"apps/v1","kind":"Deployment",
      "metadata":{"name":"checkout","annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}"}},
      "spec":{"replicas":1,"selector":{"matchLabels":{"app":"checkout"}},
        "template":{"metadata":{"labels":{"app":"checkout","sim.opscopilot.io/state":"CrashLoopBackOff"},
            "annotations":{"sim.opscopilot.io/restart-count":"6"}},
          "spec":{"containers":[{"name":"checkout","image":"ghcr.io/example/checkout:2.3.0",
            "envFrom":[{"secretRef":{"name":"db"}}]}]}}}})"));
    ASSERT_TRUE(dep.ok()) << dep.error().toString();
    // The planted Secret goes in with kubectl: the operator's client redacts
    // every body it writes (agent/redacted.h), so it could only plant
    // "[REDACTED]".
    ASSERT_EQ(kubectl("create secret generic db -n " + ns + " --from-literal=password='" + secretValue() +
                          "' --from-literal=url='postgres://u:" + secretValue() + "@db:5432/shop'",
                      &out),
              0)
        << out;
  }

  static void TearDownTestSuite() {
    if (admin) (void)admin->remove(kClusterLogs, "", ns);
    deleteNamespace(ns);
    deleteNamespace(bare);
    std::error_code ec;
    std::filesystem::remove_all(logDir, ec);
  }

  static std::string secretValue() { return "S3cret-" + ns; }

  agent::ToolOutput runTool(const std::string& tool, const std::string& args, const std::string& inNs = ns) {
    if (!registry) {
      registry = std::make_unique<agent::ToolRegistry>();
      tools::registerBuiltinTools(*registry, admin, {});
    }
    auto* t = registry->find(tool);
    EXPECT_NE(t, nullptr) << tool;
    if (!t) return {};
    rapidjson::Document d;
    d.Parse(args.c_str());
    return t->run({inNs, std::chrono::steady_clock::now() + std::chrono::seconds(10)}, d);
  }

  // Runs the tool until pred holds (pods start, events arrive and RBAC
  // propagates asynchronously); returns the last output.
  agent::ToolOutput runUntil(const std::string& tool, const std::string& args,
                             const std::function<bool(const agent::ToolOutput&)>& pred) {
    agent::ToolOutput last;
    waitFor([&] { return pred(last = runTool(tool, args)); }, std::chrono::seconds(60));
    return last;
  }

  std::string crashingPod() {
    auto out = runUntil("list_pods", R"({"selector":"app=checkout"})", [](const agent::ToolOutput& o) {
      return o.ok && o.summary.find("CrashLoopBackOff") != std::string::npos;
    });
    EXPECT_THAT(out.summary, HasSubstr("CrashLoopBackOff")) << everything(out);
    if (!out.data || (*out.data)["items"].Empty()) return {};
    return (*out.data)["items"][0]["metadata"]["name"].GetString();
  }

  static inline std::shared_ptr<kube::Client> admin;
  static inline std::string ns, bare;
  static inline std::filesystem::path logDir;
  static inline std::unique_ptr<agent::ToolRegistry> registry;
};

}  // namespace

TEST_F(ToolsTest, GetWorkloadReadsTheDeploymentAndItsReplicaSet) {
  auto out = runUntil("get_workload", R"({"kind":"Deployment","name":"checkout"})", [](const agent::ToolOutput& o) {
    return o.ok && o.data && (*o.data)["replicaSets"].Size() == 1;
  });
  ASSERT_TRUE(out.ok) << everything(out);
  const auto& d = *out.data;
  ASSERT_EQ(d["items"].Size(), 1u);
  ASSERT_EQ(d["replicaSets"].Size(), 1u) << everything(out);
  ASSERT_GE(out.evidence.size(), 2u) << everything(out);
  EXPECT_STREQ(d["items"][0]["kind"].GetString(), "Deployment");
  EXPECT_FALSE(d["items"][0]["metadata"].HasMember("managedFields"));
  EXPECT_FALSE(d["items"][0]["metadata"].HasMember("annotations") &&
               d["items"][0]["metadata"]["annotations"].HasMember("kubectl.kubernetes.io/last-applied-configuration"));
  EXPECT_EQ(out.evidence[0].ref, "Deployment/checkout");
  EXPECT_THAT(out.evidence[0].text, HasSubstr("selector app=checkout"));
  EXPECT_THAT(out.evidence[0].text, HasSubstr("refers to secret db"));
  EXPECT_THAT(out.evidence[1].ref, ::testing::StartsWith("ReplicaSet/checkout-"));
}

TEST_F(ToolsTest, ListPodsShowsTheCrashLoopingPodFirst) {
  auto pod = crashingPod();
  ASSERT_FALSE(pod.empty());
  auto out = runTool("list_pods", R"({"selector":"app=checkout"})");
  ASSERT_TRUE(out.ok);
  EXPECT_EQ(out.evidence[0].ref, "Pod/" + pod);
  EXPECT_THAT(out.evidence[0].text, HasSubstr("waiting CrashLoopBackOff"));
  EXPECT_THAT(out.evidence[0].text, HasSubstr("last terminated exit 1 (Error)"));
  EXPECT_THAT(out.evidence[0].text, HasSubstr("restarts 6"));
  EXPECT_EQ(out.summary, "1 pod, 1 not ready: " + pod + " CrashLoopBackOff");
}

TEST_F(ToolsTest, GetEventsFindsTheBackOffWarning) {
  auto pod = crashingPod();
  ASSERT_FALSE(pod.empty());
  auto out = runUntil("get_events", R"({"kind":"Pod","name":")" + pod + R"(","warningsOnly":true})",
                      [](const agent::ToolOutput& o) { return o.ok && o.data && !(*o.data)["items"].Empty(); });
  ASSERT_TRUE(out.ok) << everything(out);
  EXPECT_EQ(out.evidence[0].ref, "Pod/" + pod);
  EXPECT_THAT(out.evidence[0].text, HasSubstr("Warning BackOff"));
  EXPECT_THAT(out.evidence[0].text, HasSubstr("Back-off restarting failed container"));
}

TEST_F(ToolsTest, GetPodLogsReadsThePreviousInstance) {
  auto pod = crashingPod();
  ASSERT_FALSE(pod.empty());
  auto out = runUntil("get_pod_logs", R"({"pod":")" + pod + R"(","previous":true})", [](const agent::ToolOutput& o) {
    return o.ok && o.evidence.size() == 1 && o.evidence[0].text.find("DATABASE_URL") != std::string::npos;
  });
  ASSERT_TRUE(out.ok) << everything(out);
  EXPECT_EQ(out.evidence[0].ref, "Pod/" + pod + " container checkout (previous)");
  EXPECT_EQ(out.evidence[0].text,
            "checkout 2.3.0 starting\nlevel=fatal msg=\"DATABASE_URL is not set\" exit_code=1\n");
  EXPECT_STREQ((*out.data)["container"].GetString(), "checkout");
  EXPECT_TRUE((*out.data)["previous"].GetBool());
  EXPECT_EQ((*out.data)["text"].GetString(), out.evidence[0].text);

  auto current = runTool("get_pod_logs", R"({"pod":")" + pod + R"(","tailLines":5})");
  ASSERT_TRUE(current.ok) << everything(current);
  EXPECT_EQ(current.evidence[0].text, "checkout starting again\n");
}

TEST_F(ToolsTest, GetConfigRefsListsSecretKeysButNeverValues) {
  auto out = runUntil("get_config_refs", R"({"secrets":["db"],"configMaps":["app-config"]})",
                      [](const agent::ToolOutput& o) { return o.ok; });
  ASSERT_TRUE(out.ok) << everything(out);
  auto all = everything(out);
  EXPECT_THAT(all, Not(HasSubstr(secretValue())));
  EXPECT_THAT(all, Not(HasSubstr(base64(secretValue()))));
  EXPECT_EQ(kube::serializeJson(*out.data),
            R"({"configMaps":[{"name":"app-config","exists":false,"keys":[]}],)"
            R"("secrets":[{"name":"db","exists":true,"keys":["password","url"]}]})");
  EXPECT_EQ(out.summary, "1 of 2 exist; missing: ConfigMap/app-config");
}

TEST_F(ToolsTest, NamespaceWithoutTheReaderBindingIsForbidden) {
  for (const auto& [tool, args] : std::vector<std::pair<std::string, std::string>>{
           {"list_pods", "{}"}, {"get_workload", R"({"kind":"Deployment","name":"checkout"})"}, {"get_events", "{}"}}) {
    auto out = runTool(tool, args, bare);
    EXPECT_FALSE(out.ok) << tool;
    EXPECT_EQ(out.errorReason, "Forbidden") << tool << ": " << everything(out);
    ASSERT_EQ(out.evidence.size(), 1u) << tool;
    EXPECT_THAT(out.evidence[0].text, ::testing::StartsWith("forbidden: the reader identity system:serviceaccount:" +
                                                            bare + ":opscopilot-reader cannot "));
    EXPECT_THAT(out.evidence[0].text, ::testing::EndsWith(" in namespace " + bare));
  }
  auto pods = runTool("list_pods", "{}", bare);
  EXPECT_EQ(pods.evidence[0].text, "forbidden: the reader identity system:serviceaccount:" + bare +
                                       ":opscopilot-reader cannot list pods in namespace " + bare);
}

TEST_F(ToolsTest, NodesAreForbiddenToTheNamespaceReader) {
  // The reader binding works (pods are readable) ...
  auto pods = runUntil("list_pods", "{}", [](const agent::ToolOutput& o) { return o.ok; });
  ASSERT_TRUE(pods.ok) << everything(pods);
  // ... but grants nothing cluster-scoped.
  auto out = runTool("get_nodes", "{}");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.errorReason, "Forbidden");
  EXPECT_EQ(kube::serializeJson(*out.data), R"({"forbidden":true})");
  EXPECT_EQ(out.evidence[0].text, "forbidden: the reader identity system:serviceaccount:" + ns +
                                      ":opscopilot-reader cannot list nodes (cluster-scoped)");
  auto storage = runTool("get_storage", "{}");
  EXPECT_TRUE(storage.ok) << everything(storage);
}

TEST_F(ToolsTest, ReaderCannotWrite) {
  // The ClusterRole has no write verb: the same identity the tools use is
  // refused a create.
  kube::RequestOptions as;
  as.impersonate = kube::Impersonation{"system:serviceaccount:" + ns + ":opscopilot-reader", {}};
  ASSERT_TRUE(waitFor([&] { return admin->listPage(kube::resources::kPods, ns, {}, as).ok(); }));
  auto r = admin->create(kube::resources::kConfigMaps, ns,
                         agent::redactJsonBody(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nope"}})"), as);
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(r.error().isForbidden());
}

TEST_F(ToolsTest, ReaderMayGetASecretByNameButNeverListOrWatchSecrets) {
  // get_config_refs reads a named Secret for its key names; nothing may read
  // every Secret of a namespace.
  kube::RequestOptions as;
  as.impersonate = kube::Impersonation{"system:serviceaccount:" + ns + ":opscopilot-reader", {}};
  ASSERT_TRUE(waitFor([&] { return admin->listPage(kube::resources::kPods, ns, {}, as).ok(); }));
  auto list = admin->listPage(kube::resources::kSecrets, ns, {}, as);
  ASSERT_FALSE(list.ok());
  EXPECT_TRUE(list.error().isForbidden());
}
