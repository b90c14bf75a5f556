// RBAC and impersonation, enforced by the real API server.
#include <gtest/gtest.h>

#include "cluster_env.h"

using namespace opscopilot;
using namespace opscopilot::kube;
using namespace opscopilot::test;

namespace {

const ResourceRef kClusterRoles{"rbac.authorization.k8s.io", "v1", "clusterroles", false};
const ResourceRef kClusterRoleBindings{"rbac.authorization.k8s.io", "v1", "clusterrolebindings", false};
const ResourceRef kRoles{"rbac.authorization.k8s.io", "v1", "roles", true};
const ResourceRef kRoleBindings{"rbac.authorization.k8s.io", "v1", "rolebindings", true};

class AuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    admin = clientFor("admin");
    alice = clientFor("alice");
    bob = clientFor("bob");
    ASSERT_TRUE(admin && alice && bob);
    ns = createNamespace("auth");
    other = createNamespace("auth-other");
    suffix = ns;
    // bob may read config maps in ns only.
    ASSERT_TRUE(admin->create(kRoles, ns, agent::redactJsonBody(R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"Role",
      "metadata":{"name":"reader"},"rules":[{"apiGroups":[""],"resources":["configmaps","pods"],"verbs":["get","list","watch"]}]})")).ok());
    ASSERT_TRUE(admin->create(kRoleBindings, ns, agent::redactJsonBody(R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"RoleBinding",
      "metadata":{"name":"bob-reader"},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"Role","name":"reader"},
      "subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"bob"}]})")).ok());
    // alice may impersonate bob, and nobody else.
    ASSERT_TRUE(admin->create(kClusterRoles, "", agent::redactJsonBody(R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRole",
      "metadata":{"name":"impersonate-bob-)" + suffix + R"("},"rules":[{"apiGroups":[""],"resources":["users"],"verbs":["impersonate"],"resourceNames":["bob"]}]})")).ok());
    ASSERT_TRUE(admin->create(kClusterRoleBindings, "", agent::redactJsonBody(R"({"apiVersion":"rbac.authorization.k8s.io/v1","kind":"ClusterRoleBinding",
      "metadata":{"name":"alice-impersonates-bob-)" + suffix + R"("},"roleRef":{"apiGroup":"rbac.authorization.k8s.io","kind":"ClusterRole","name":"impersonate-bob-)" + suffix + R"("},
      "subjects":[{"kind":"User","apiGroup":"rbac.authorization.k8s.io","name":"alice"}]})")).ok());
  }
  void TearDown() override {
    (void)admin->remove(kClusterRoleBindings, "", "alice-impersonates-bob-" + suffix);
    (void)admin->remove(kClusterRoles, "", "impersonate-bob-" + suffix);
    deleteNamespace(ns);
    deleteNamespace(other);
  }
  RequestOptions as(const std::string& user) {
    RequestOptions o;
    o.impersonate = Impersonation{user, {}};
    return o;
  }
  std::shared_ptr<Client> admin, alice, bob;
  std::string ns, other, suffix;
};

}  // namespace

TEST_F(AuthTest, UnprivilegedUserGetsForbidden) {
  auto r = alice->listPage(resources::kPods, "kube-system");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().httpCode, 403);
  EXPECT_TRUE(r.error().isForbidden());
  EXPECT_NE(r.error().message.find("\"alice\""), std::string::npos) << r.error().message;

  auto s = alice->get(resources::kSecrets, ns, "anything");
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(s.error().isForbidden());
}

TEST_F(AuthTest, GrantedRoleAllowsReadingInItsNamespaceOnly) {
  ASSERT_TRUE(waitFor([&] { return bob->listPage(resources::kConfigMaps, ns).ok(); }));
  auto elsewhere = bob->listPage(resources::kConfigMaps, other);
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_TRUE(elsewhere.error().isForbidden());
  auto write = bob->create(resources::kConfigMaps, ns, agent::redactJsonBody(R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"nope"}})"));
  ASSERT_FALSE(write.ok());
  EXPECT_TRUE(write.error().isForbidden());
}

TEST_F(AuthTest, ImpersonationWorksWhenGranted) {
  ASSERT_TRUE(waitFor([&] { return alice->listPage(resources::kConfigMaps, ns, {}, as("bob")).ok(); }));
  // As bob, alice has bob's rights and no more.
  auto elsewhere = alice->listPage(resources::kConfigMaps, other, {}, as("bob"));
  ASSERT_FALSE(elsewhere.ok());
  EXPECT_TRUE(elsewhere.error().isForbidden());
  EXPECT_NE(elsewhere.error().message.find("\"bob\""), std::string::npos) << elsewhere.error().message;
  // The admin impersonating bob is scoped the same way.
  auto adminAsBob = admin->listPage(resources::kSecrets, ns, {}, as("bob"));
  ASSERT_FALSE(adminAsBob.ok());
  EXPECT_TRUE(adminAsBob.error().isForbidden());
}

TEST_F(AuthTest, ImpersonationIsRefusedWhenNotGranted) {
  auto asCarol = alice->listPage(resources::kConfigMaps, ns, {}, as("carol"));
  ASSERT_FALSE(asCarol.ok());
  EXPECT_TRUE(asCarol.error().isForbidden());
  EXPECT_NE(asCarol.error().message.find("impersonate"), std::string::npos) << asCarol.error().message;

  auto bobAsAlice = bob->listPage(resources::kConfigMaps, ns, {}, as("alice"));
  ASSERT_FALSE(bobAsAlice.ok());
  EXPECT_TRUE(bobAsAlice.error().isForbidden());

  RequestOptions withGroup = as("bob");
  withGroup.impersonate->groups = {"system:masters"};
  auto escalate = alice->listPage(resources::kSecrets, ns, {}, withGroup);
  ASSERT_FALSE(escalate.ok()) << "impersonating a group needs its own grant";
  EXPECT_TRUE(escalate.error().isForbidden());
}
