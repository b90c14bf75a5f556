// The parsers of kubelet, scheduler and controller messages, and the small
// helpers the analyzers share.
#include <gtest/gtest.h>

#include "analysis_harness.h"
#include "tools/analyzers/k8s_messages.h"
#include "tools/analyzers/support.h"

using namespace opscopilot;
using namespace opscopilot::tools::analysis;
using opscopilot::analyzer_test::contains;

namespace {

TEST(AnalyzerMessages, SchedulerMessageSplitsReasonsAndIgnoresPreemption) {
  auto d = parseSchedulingMessage(
      "0/5 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu, "
      "2 node(s) didn't match Pod's node affinity/selector. preemption: 0/5 nodes are available: 5 Preemption is not helpful.");
  EXPECT_EQ(d.totalNodes, 5);
  ASSERT_EQ(d.reasons.size(), 3u);
  EXPECT_EQ(d.reasons[0].cause, SchedulingCause::UntoleratedTaint);
  EXPECT_EQ(d.reasons[0].detail, "dedicated=gpu");
  EXPECT_EQ(d.reasons[1].cause, SchedulingCause::InsufficientResource);
  EXPECT_EQ(d.reasons[1].detail, "cpu");
  EXPECT_EQ(d.reasons[1].nodes, 2);
  EXPECT_EQ(d.reasons[2].cause, SchedulingCause::NodeSelectorMismatch);
  EXPECT_EQ(d.summary, "untolerated taint dedicated=gpu (1 node), insufficient cpu (2 nodes), "
                       "nodeSelector/affinity matches no node (2 nodes)");
  PodSchedulingFacts facts;
  facts.ownerTarget = "deployment/ml";
  facts.nodeSelector = "accelerator=a100";
  std::string fix = schedulingRemediation(d, facts);
  EXPECT_TRUE(contains(fix, "tolerations: [{key: dedicated, operator: Exists}]")) << fix;
  EXPECT_TRUE(contains(fix, "nodeSelector accelerator=a100")) << fix;
}

TEST(AnalyzerMessages, OlderTaintWordingAndOtherSchedulerCauses) {
  auto d = parseSchedulingMessage("0/3 nodes are available: 3 node(s) had taint {maintenance: true}, that the pod didn't tolerate.");
  ASSERT_EQ(d.reasons.size(), 1u);
  EXPECT_EQ(d.reasons[0].cause, SchedulingCause::UntoleratedTaint);
  EXPECT_EQ(parseSchedulingMessage("0/2 nodes are available: 2 node(s) were unschedulable.").reasons[0].cause,
            SchedulingCause::NodeUnschedulable);
  EXPECT_EQ(parseSchedulingMessage("0/3 nodes are available: persistentvolumeclaim \"data\" not found.").reasons[0].detail, "data");
  EXPECT_EQ(parseSchedulingMessage("no nodes available to schedule pods").reasons[0].cause, SchedulingCause::NoNodes);
  EXPECT_EQ(parseSchedulingMessage("something new").reasons[0].cause, SchedulingCause::Other);
  EXPECT_EQ(parseSchedulingMessage("").reasons.size(), 1u);
}

TEST(AnalyzerMessages, ImagePullErrorsAreClassifiedByCause) {
  EXPECT_EQ(classifyPull("ErrImagePull", "rpc error: code = NotFound desc = failed to pull and unpack image \"x:1\": "
                                         "failed to resolve reference \"x:1\": x:1: not found"),
            PullCause::NotFound);
  EXPECT_EQ(classifyPull("ErrImagePull", "failed to resolve reference: unexpected status: 401 Unauthorized"),
            PullCause::Unauthorized);
  EXPECT_EQ(classifyPull("ErrImagePull", "pull access denied, repository does not exist or may require authorization: "
                                         "server message: insufficient_scope: authorization failed"),
            PullCause::AccessDeniedOrMissing);
  EXPECT_EQ(classifyPull("ErrImagePull", "failed to do request: Head \"https://reg.internal/v2/a/manifests/1\": dial tcp: "
                                         "lookup reg.internal on 10.96.0.10:53: no such host"),
            PullCause::Unreachable);
  EXPECT_EQ(classifyPull("ErrImagePull", "429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit"),
            PullCause::RateLimited);
  EXPECT_EQ(classifyPull("InvalidImageName", "Failed to apply default image tag \"Nginx\": invalid reference format"),
            PullCause::InvalidName);
  EXPECT_EQ(classifyPull("ImagePullBackOff", "Back-off pulling image \"x:1\""), PullCause::Unknown);
  EXPECT_EQ(registryOf("nginx:1.27"), "docker.io");
  EXPECT_EQ(registryOf("bitnami/redis:7"), "docker.io");
  EXPECT_EQ(registryOf("localhost:5000/app:1"), "localhost:5000");
  EXPECT_EQ(registryOf("ghcr.io/x/y:9.9"), "ghcr.io");
  EXPECT_EQ(imageInMessage("Back-off pulling image \"ghcr.io/x/y:9.9\""), "ghcr.io/x/y:9.9");
}

TEST(AnalyzerMessages, ConfigRefErrorsNameKindObjectAndKey) {
  auto cm = parseConfigRefError("configmap \"app-config\" not found");
  ASSERT_TRUE(cm);
  EXPECT_EQ(configRefPhrase(*cm), "ConfigMap app-config not found");
  auto secret = parseConfigRefError("secret \"db\" not found");
  ASSERT_TRUE(secret);
  EXPECT_EQ(configRefPhrase(*secret), "Secret db not found");
  auto key = parseConfigRefError("couldn't find key DB_URL in Secret shop/db");
  ASSERT_TRUE(key);
  EXPECT_EQ(configRefPhrase(*key), "key DB_URL not found in Secret db");
  auto cmKey = parseConfigRefError("Error: couldn't find key log-level in ConfigMap shop/orders-config");
  ASSERT_TRUE(cmKey);
  EXPECT_EQ(configRefPhrase(*cmKey), "key log-level not found in ConfigMap orders-config");
  auto mount = parseConfigRefError("MountVolume.SetUp failed for volume \"tls\" : secret \"web-tls\" not found");
  ASSERT_TRUE(mount);
  EXPECT_EQ(mount->name, "web-tls");
  EXPECT_FALSE(parseConfigRefError("failed to create containerd task"));
  EXPECT_FALSE(parseConfigRefError("couldn't find key "));
}

TEST(AnalyzerMessages, QuotaMessageFindsTheBlockingResource) {
  auto q = parseExceededQuota(
      "pods \"web-1\" is forbidden: exceeded quota: compute, requested: limits.memory=2Gi,pods=1, "
      "used: limits.memory=9Gi,pods=3, limited: limits.memory=10Gi,pods=10");
  ASSERT_TRUE(q);
  EXPECT_EQ(q->quota, "compute");
  ASSERT_EQ(q->blocking.size(), 1u);
  EXPECT_EQ(q->blocking[0].resource, "limits.memory");
  auto f = describeCreateFailure("Error creating: pods \"x\" is forbidden: error looking up service account shop/deployer: "
                                 "serviceaccount \"deployer\" not found", "shop");
  EXPECT_EQ(f.summary, "ServiceAccount deployer not found");
  EXPECT_TRUE(contains(f.remediation, "kubectl create serviceaccount deployer -n shop"));
  auto psa = describeCreateFailure("Error creating: pods \"x\" is forbidden: violates PodSecurity \"restricted:latest\": "
                                   "allowPrivilegeEscalation != false", "shop");
  EXPECT_TRUE(contains(psa.summary, "violates PodSecurity \"restricted:latest\"")) << psa.summary;
}

TEST(AnalyzerMessages, SelectorsQuantitiesAndOwners) {
  rapidjson::Document sel;
  sel.Parse(R"({"matchLabels":{"app":"web","tier":"fe"},"matchExpressions":[
      {"key":"env","operator":"In","values":["prod","staging"]},{"key":"legacy","operator":"DoesNotExist"},
      {"key":"canary","operator":"Exists"},{"key":"zone","operator":"NotIn","values":["b"]}]})");
  EXPECT_EQ(selectorString(&sel), "app=web,tier=fe,!legacy,canary,env in (prod,staging),zone notin (b)");
  EXPECT_EQ(selectorString(nullptr), "");
  EXPECT_DOUBLE_EQ(*parseQuantity("500m"), 0.5);
  EXPECT_DOUBLE_EQ(*parseQuantity("2Gi"), 2147483648.0);
  EXPECT_DOUBLE_EQ(*parseQuantity("1e3"), 1000.0);
  EXPECT_DOUBLE_EQ(*parseQuantity("10"), 10.0);
  EXPECT_FALSE(parseQuantity("lots"));
  EXPECT_FALSE(parseQuantity(""));
  rapidjson::Document pod;
  pod.Parse(R"({"metadata":{"labels":{"pod-template-hash":"7d9f8b6c5"},
      "ownerReferences":[{"kind":"ReplicaSet","name":"checkout-7d9f8b6c5","controller":true}]}})");
  auto owner = podOwner(&pod);
  EXPECT_EQ(owner.kind, "Deployment");
  EXPECT_EQ(owner.name, "checkout");
  EXPECT_EQ(kubectlTarget(owner), "deployment/checkout");
  EXPECT_EQ(shorten("héllo wörld", 2), "h…");
  EXPECT_EQ(CallArgs().str("pod", "a\"b").flag("previous", true).strings("names", {"x"}).json(),
            R"({"pod":"a\"b","previous":true,"names":["x"]})");
}

}  // namespace
