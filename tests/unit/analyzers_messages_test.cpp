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

TEST(AnalyzerMessages, UntoleratedTaintParsesWithAndWithoutTheTaintsName) {
  // Kubernetes 1.35 no longer names the taint.
  auto unnamed = parseSchedulingMessage(
      "0/3 nodes are available: 1 node(s) had untolerated taint(s). preemption: 0/3 nodes are available: "
      "3 Preemption is not helpful for scheduling.");
  EXPECT_EQ(unnamed.totalNodes, 3);
  ASSERT_EQ(unnamed.reasons.size(), 1u);
  EXPECT_EQ(unnamed.reasons[0].cause, SchedulingCause::UntoleratedTaint);
  EXPECT_EQ(unnamed.reasons[0].detail, "");
  EXPECT_EQ(unnamed.summary, "untolerated taints the scheduler does not name (1 node)");
  PodSchedulingFacts facts;
  facts.ownerTarget = "deployment/web";
  std::string fix = schedulingRemediation(unnamed, facts);
  EXPECT_EQ(fix, "The scheduler does not name the taint: list the nodes' taints with "
                 "`kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints`; if the pod belongs on those "
                 "nodes add a toleration for it to the pod template of deployment/web, otherwise make room on untainted nodes.");
  // Older schedulers name it; both forms with other reasons and the
  // dynamic-resource-allocation sentence before "preemption:".
  auto named = parseSchedulingMessage(
      "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory. "
      "preemption: 0/3 nodes are available: 1 Preemption is not helpful for scheduling, 2 No preemption victims found for incoming pod.");
  EXPECT_EQ(named.summary, "untolerated taint node-role.kubernetes.io/control-plane (1 node), insufficient memory (2 nodes)");
  auto dra = parseSchedulingMessage(
      "0/6 nodes are available: 3 node(s) didn't match pod affinity rules, 3 node(s) had untolerated taint(s). no new claims to "
      "deallocate, preemption: 0/6 nodes are available: 6 Preemption is not helpful for scheduling.");
  ASSERT_EQ(dra.reasons.size(), 2u) << dra.summary;
  EXPECT_EQ(dra.reasons[0].cause, SchedulingCause::PodAffinity);
  EXPECT_EQ(dra.reasons[1].cause, SchedulingCause::UntoleratedTaint);
  EXPECT_EQ(dra.summary, "pod affinity unsatisfied (3 nodes), untolerated taints the scheduler does not name (3 nodes)");
}

TEST(AnalyzerMessages, UnnamedTaintAdviceIsReplacedByTheNodesTaints) {
  std::string fix = "Nodes are cordoned: `kubectl uncordon <node>` once maintenance is over. " + unnamedTaintAdvice("the pod spec");
  std::string named = nameUnnamedTaints(fix, {{"gpu-1", "dedicated", "gpu", "NoSchedule"}, {"edge-1", "edge", "", "NoExecute"}});
  EXPECT_EQ(named, "Nodes are cordoned: `kubectl uncordon <node>` once maintenance is over. The nodes are tainted: gpu-1 with "
                   "dedicated=gpu:NoSchedule, edge-1 with edge:NoExecute. If the pod belongs on those nodes add `tolerations: "
                   "[{key: dedicated, operator: Equal, value: gpu, effect: NoSchedule}, {key: edge, operator: Exists, effect: "
                   "NoExecute}]` to the pod spec, otherwise make room on untainted nodes.");
  EXPECT_EQ(nameUnnamedTaints(fix, {}), fix) << "no nodes read: the advice stays";
  EXPECT_EQ(nameUnnamedTaints("Add nodes.", {{"gpu-1", "dedicated", "gpu", "NoSchedule"}}), "Add nodes.");
  std::string cp = nameUnnamedTaints(unnamedTaintAdvice("the pod spec"),
                                     {{"control-plane", "node-role.kubernetes.io/control-plane", "", "NoSchedule"}});
  EXPECT_TRUE(contains(cp, "Only control-plane nodes carry taints: add worker nodes")) << cp;
  EXPECT_FALSE(contains(cp, "tolerations:")) << cp;
}

TEST(AnalyzerMessages, ImageReferencesParseRegistryRepositoryTagAndDigest) {
  struct Case {
    const char* image;
    const char* registry;
    const char* repository;
    const char* tag;
    const char* digest;
    const char* written;
  };
  const Case cases[] = {
      {"nginx", "docker.io", "library/nginx", "", "", "nginx"},
      {"nginx:1.27", "docker.io", "library/nginx", "1.27", "", "nginx"},
      {"bitnami/redis:7.2", "docker.io", "bitnami/redis", "7.2", "", "bitnami/redis"},
      {"docker.io/library/nginx:1.27", "docker.io", "library/nginx", "1.27", "", "docker.io/library/nginx"},
      {"index.docker.io/nginx", "docker.io", "library/nginx", "", "", "index.docker.io/nginx"},
      {"ghcr.io/example/payments:9.9.9-does-not-exist", "ghcr.io", "example/payments", "9.9.9-does-not-exist", "",
       "ghcr.io/example/payments"},
      {"quay.io/prometheus/node-exporter:v1.8.2", "quay.io", "prometheus/node-exporter", "v1.8.2", "", "quay.io/prometheus/node-exporter"},
      {"localhost:5000/app", "localhost:5000", "app", "", "", "localhost:5000/app"},
      {"localhost/app:dev", "localhost", "app", "dev", "", "localhost/app"},
      {"127.0.0.1:1/shop/web:2", "127.0.0.1:1", "shop/web", "2", "", "127.0.0.1:1/shop/web"},
      {"[::1]:5000/app:1", "[::1]:5000", "app", "1", "", "[::1]:5000/app"},
      {"registry.example.com:8443/team/api@sha256:3b1f5c8e2d7a4f6b9c0e1d2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c",
       "registry.example.com:8443", "team/api", "", "sha256:3b1f5c8e2d7a4f6b9c0e1d2a3b4c5d6e7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c",
       "registry.example.com:8443/team/api"},
      {"ghcr.io/example/web:2.1.0@sha256:9f8e7d6c5b4a", "ghcr.io", "example/web", "2.1.0", "sha256:9f8e7d6c5b4a", "ghcr.io/example/web"},
  };
  for (const auto& c : cases) {
    auto ref = parseImageRef(c.image);
    EXPECT_TRUE(ref.valid) << c.image;
    EXPECT_EQ(ref.registry, c.registry) << c.image;
    EXPECT_EQ(ref.repository, c.repository) << c.image;
    EXPECT_EQ(ref.tag, c.tag) << c.image;
    EXPECT_EQ(ref.digest, c.digest) << c.image;
    EXPECT_EQ(ref.written, c.written) << c.image;
    EXPECT_EQ(registryOf(c.image), c.registry) << c.image;
  }
  EXPECT_EQ(parseImageRef("ghcr.io/example/payments:1").fullName(), "ghcr.io/example/payments");
  EXPECT_EQ(parseImageRef("nginx").fullName(), "docker.io/library/nginx");
  for (const char* bad : {"", "  ", "Nginx", "ghcr.io/Example/web", "web:", "ghcr.io/", "a b", "web@sha256", "web@:x"}) {
    EXPECT_FALSE(parseImageRef(bad).valid) << bad;
    EXPECT_EQ(registryOf(bad), "") << bad;
  }
  EXPECT_EQ(imageInPullTitle("Container a in pod p cannot pull image ghcr.io/x/y:1: the image or tag does not exist (ErrImagePull)"),
            "ghcr.io/x/y:1");
  EXPECT_EQ(imageInPullTitle("Container a in pod p cannot pull image localhost:5000/y (ImagePullBackOff)"), "localhost:5000/y");
  EXPECT_EQ(imageInPullTitle("Container a in pod p cannot pull its image (ImagePullBackOff)"), "");
}

TEST(AnalyzerMessages, PullRemediationNamesTheRegistryOfTheImageOrSaysItIsUnknown) {
  PullFacts local;
  local.image = "localhost:5000/shop/web:2.0";
  local.ns = "shop";
  local.container = "web";
  local.ownerTarget = "deployment/web";
  std::string fix = pullRemediation(PullCause::NotFound, local);
  EXPECT_TRUE(contains(fix, "Image localhost:5000/shop/web:2.0 does not exist in localhost:5000")) << fix;
  EXPECT_TRUE(contains(fix, "`crane ls localhost:5000/shop/web`")) << fix;
  EXPECT_TRUE(contains(fix, "`kubectl set image deployment/web web=localhost:5000/shop/web:<existing-tag> -n shop`")) << fix;
  PullFacts loopback = local;
  loopback.image = "127.0.0.1:1/app:1";
  fix = pullRemediation(PullCause::Unreachable, loopback);
  EXPECT_TRUE(contains(fix, "The node cannot reach 127.0.0.1:1")) << fix;
  PullFacts hub = local;
  hub.image = "nginx:1.99";
  fix = pullRemediation(PullCause::NotFound, hub);
  EXPECT_TRUE(contains(fix, "does not exist in docker.io")) << fix;
  EXPECT_TRUE(contains(fix, "`crane ls docker.io/library/nginx`")) << fix;
  EXPECT_TRUE(contains(fix, "web=nginx:<existing-tag>")) << fix;
  PullFacts unknown;
  unknown.ns = "shop";
  unknown.pod = "web-1";
  unknown.container = "web";
  for (auto cause : {PullCause::NotFound, PullCause::Unauthorized, PullCause::AccessDeniedOrMissing, PullCause::Unreachable,
                     PullCause::RateLimited, PullCause::InvalidName, PullCause::NeverPull, PullCause::Unknown}) {
    fix = pullRemediation(cause, unknown);
    EXPECT_TRUE(analyzer_test::templateHoles(fix).empty()) << fix;
    EXPECT_FALSE(contains(fix, "docker.io")) << fix;
  }
  EXPECT_TRUE(contains(pullRemediation(PullCause::NotFound, unknown),
                       "`kubectl get pod web-1 -n shop -o jsonpath='{.spec.containers[*].image}'` shows it"));
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
  EXPECT_EQ(classifyPull("ErrImagePull", "initializing source docker://ghcr.io/x/y:9: reading manifest 9 in ghcr.io/x/y: "
                                         "manifest unknown"),
            PullCause::NotFound);
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
