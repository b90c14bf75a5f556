#include <gtest/gtest.h>

#include "operator/controller/operator_config.h"
#include "operator/controller/run_reconciler.h"

using namespace opscopilot;
using namespace opscopilot::controller;

TEST(OperatorConfig, ShippedConfigIsValid) {
  auto c = loadOperatorConfig(std::string(OPSCOPILOT_SOURCE_DIR) + "/config/operator.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->workers, 4);
  EXPECT_EQ(c->defaultLimits.maxSteps, 8);
  EXPECT_EQ(c->defaultLimits.maxCostMicroUSD, 500000);
}

TEST(OperatorConfig, BadValuesAreRefusedWithTheField) {
  auto err = [](const std::string& yaml) {
    auto c = parseOperatorConfig(yaml, "operator.yaml");
    return c.ok() ? std::string("accepted") : c.error().message;
  };
  EXPECT_NE(err("workers: 0").find("workers must be between 1 and 64"), std::string::npos);
  EXPECT_NE(err("wrokers: 2").find("unknown field \"wrokers\""), std::string::npos);
  EXPECT_NE(err("defaultModel: gpt").find("defaultModel \"gpt\" is not a profile"), std::string::npos);
  EXPECT_NE(err("limits: {default: {maxCostUSD: lots}}").find("limits.default.maxCostUSD"), std::string::npos);
  EXPECT_NE(err("limits: {default: {maxSteps: 99}}").find("must not exceed limits.max"), std::string::npos);
  EXPECT_NE(err("models: {x: {provider: magic}}").find("provider must be"), std::string::npos);
  EXPECT_NE(err("workers: [1").find("not valid YAML"), std::string::npos);
  EXPECT_NE(err("workers: 2\nworkers: 3").find("the field \"workers\" is given twice"), std::string::npos);
  EXPECT_EQ(err(""), "accepted");
}

TEST(OperatorConfig, MisspeltNestedKeysAreRefusedWithTheirPath) {
  auto err = [](const std::string& yaml) {
    auto c = parseOperatorConfig(yaml, "operator.yaml");
    return c.ok() ? std::string("accepted") : c.error().message;
  };
  EXPECT_NE(err("limits: {default: {maxStep: 3}}").find("unknown field \"limits.default.maxStep\""), std::string::npos);
  EXPECT_NE(err("tools: {readerUsr: x}").find("unknown field \"tools.readerUsr\""), std::string::npos);
  EXPECT_NE(err("health: {adress: ':8081'}").find("unknown field \"health.adress\""), std::string::npos);
  EXPECT_NE(err("leaderElection: {enable: true}").find("unknown field \"leaderElection.enable\""), std::string::npos);
  EXPECT_NE(err("models: {m: {provider: openai, baseURL: 'http://x', model: y, pricee: {}}}")
                .find("unknown field \"models.m.pricee\""),
            std::string::npos);
  EXPECT_NE(err("models: {m: {provider: openai, baseURL: 'http://x', model: y, price: {inputPerMtok: '1'}}}")
                .find("unknown field \"models.m.price.inputPerMtok\""),
            std::string::npos);
  EXPECT_NE(err("models: {m: {provider: openai, baseURL: 'http://x', model: y, apiKeySecret: {nam: k}}}")
                .find("unknown field \"models.m.apiKeySecret.nam\""),
            std::string::npos);
  EXPECT_EQ(err("limits: {default: {maxSteps: 3}}\ntools: {disabled: []}"), "accepted");
}

TEST(OperatorConfig, ReaderUserMustBePerNamespace) {
  auto c = parseOperatorConfig("tools: {readerUser: 'system:serviceaccount:ops:reader'}", "operator.yaml");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("tools.readerUser must contain {namespace}"), std::string::npos);
}

TEST(OperatorConfig, DisabledToolsMustExistAndAreNeverAllowed) {
  auto bad = parseOperatorConfig("tools: {disabled: [read_secrets]}", "operator.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("tools.disabled: \"read_secrets\" is not a tool"), std::string::npos);
  auto c = parseOperatorConfig("tools: {disabled: [read_configmap_data, get_pod_logs]}", "operator.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  agent::RunSpec spec;
  spec.disabledTools = c->disabledTools;
  EXPECT_FALSE(spec.toolAllowed("get_pod_logs"));
  EXPECT_FALSE(spec.toolAllowed("read_configmap_data"));
  EXPECT_TRUE(spec.toolAllowed("list_pods"));
  spec.allowedTools = {"get_pod_logs", "list_pods"};  // a run cannot allow what the operator disabled
  EXPECT_FALSE(spec.toolAllowed("get_pod_logs"));
}

TEST(RunSpecFrom, AppliesDefaultsCapsAndSelectors) {
  OperatorConfig cfg;
  auto run = kube::Object::parse(R"({"metadata":{"name":"r","namespace":"shop","generation":1},
    "spec":{"question":"why?","target":{"kind":"Pod","selector":{"matchLabels":{"app":"web"},
    "matchExpressions":[{"key":"tier","operator":"In","values":["a","b"]}]}},"limits":{"maxSteps":3},"tools":["list_pods"]}})");
  ASSERT_TRUE(run.ok());
  auto spec = runSpecFrom(**run, cfg);
  ASSERT_TRUE(spec.ok()) << spec.error().message;
  EXPECT_EQ(spec->ns, "shop");
  EXPECT_EQ(spec->targetSelector, "app=web,tier in (a,b)");
  EXPECT_EQ(spec->limits.maxSteps, 3);
  EXPECT_EQ(spec->limits.timeout, std::chrono::seconds(300));
  EXPECT_EQ(spec->model, "builtin");
  EXPECT_TRUE(spec->toolAllowed("list_pods"));
  EXPECT_FALSE(spec->toolAllowed("get_pod_logs"));

  auto unknownModel = kube::Object::parse(R"({"metadata":{"name":"r","namespace":"s"},"spec":{"question":"q","model":"gpt-9"}})");
  auto bad = runSpecFrom(**unknownModel, cfg);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().reason, "InvalidSpec");
  EXPECT_NE(bad.error().message.find("gpt-9"), std::string::npos);

  auto tooMuch = kube::Object::parse(R"({"metadata":{"name":"r","namespace":"s"},"spec":{"question":"q","limits":{"maxSteps":51}}})");
  EXPECT_FALSE(runSpecFrom(**tooMuch, cfg).ok());
}

TEST(SlimForCache, FinishedRunsKeepWhatReconcilingNeedsAndNoMore) {
  auto run = kube::Object::parse(R"({"apiVersion":"opscopilot.io/v1alpha1","kind":"DiagnosticRun",
    "metadata":{"name":"r","namespace":"s","generation":2,"managedFields":[{"manager":"x"}]},
    "spec":{"question":"q","ttlSecondsAfterFinished":60},
    "status":{"phase":"Succeeded","reason":"Completed","observedGeneration":2,"stepCount":8,
      "completionTime":"2026-11-21T10:00:00Z","steps":[{"id":1}],"evidence":[{"id":"E1"}],
      "findings":[{"id":"F1"}],"answer":"long","usage":{"toolCalls":5}}})");
  ASSERT_TRUE(run.ok());
  auto slim = slimForCache(*run);
  EXPECT_EQ(slim->at({"metadata", "managedFields"}), nullptr);
  EXPECT_EQ(slim->at({"status", "steps"}), nullptr);
  EXPECT_EQ(slim->at({"status", "evidence"}), nullptr);
  EXPECT_EQ(slim->at({"status", "answer"}), nullptr);
  EXPECT_EQ(slim->stringAt({"status", "phase"}), "Succeeded");
  EXPECT_EQ(slim->intAt({"status", "observedGeneration"}), 2);
  EXPECT_EQ(slim->intAt({"status", "stepCount"}), 8);
  EXPECT_EQ(slim->intAt({"spec", "ttlSecondsAfterFinished"}), 60);
  EXPECT_EQ(slim->stringAt({"status", "completionTime"}), "2026-11-21T10:00:00Z");

  auto running = kube::Object::parse(R"({"metadata":{"name":"r"},"status":{"phase":"Running","steps":[{"id":1}]}})");
  ASSERT_TRUE(running.ok());
  EXPECT_EQ(slimForCache(*running).get(), running->get()) << "a run in progress is cached whole";
}

// Found by tests/fuzz/operator_config: a top-level key that is a mapping
// threw out of parseOperatorConfig instead of being refused.
TEST(OperatorConfig, AKeyThatIsNotAPlainStringIsRefusedNotThrown) {
  for (const char* yaml : {"? [workers]\n: 2\n", "? {a: 1}\n: x\n", "workers: 2\n? - a\n: b\n"}) {
    auto c = parseOperatorConfig(yaml, "operator.yaml");
    ASSERT_FALSE(c.ok()) << yaml;
    EXPECT_NE(c.error().message.find("a field name must be a plain string"), std::string::npos) << c.error().message;
  }
}

TEST(OperatorConfig, ConcurrencyAndTheStatusIntervalAreReadAndChecked) {
  auto c = parseOperatorConfig(
      "concurrency: {maxNodes: 128, maxNodesPerNamespace: 16}\nstatusWriteIntervalMilliseconds: 100\n"
      "models: {gpt: {provider: openai, baseURL: 'http://127.0.0.1:1/v1', model: m, maxConcurrentCalls: 64},\n"
      "         slow: {provider: openai, baseURL: 'http://127.0.0.1:1/v1', model: m}}",
      "operator.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->maxNodes, 128);
  EXPECT_EQ(c->maxNodesPerNamespace, 16);
  EXPECT_EQ(c->statusWriteInterval, std::chrono::milliseconds(100));
  EXPECT_EQ(c->models.at("gpt").maxConcurrentCalls, 64);
  EXPECT_EQ(c->models.at("slow").maxConcurrentCalls, 16) << "a model profile has a limit unless told otherwise";
  EXPECT_EQ(c->models.at("builtin").maxConcurrentCalls, 0) << "builtin waits on nothing but the API server";

  auto err = [](const std::string& yaml) {
    auto r = parseOperatorConfig(yaml, "operator.yaml");
    return r.ok() ? std::string("accepted") : r.error().message;
  };
  EXPECT_NE(err("concurrency: {maxNodes: 0}").find("concurrency.maxNodes must be between 1 and 1024"), std::string::npos);
  EXPECT_NE(err("concurrency: {maxNodes: 8, maxNodesPerNamespace: 9}").find("maxNodesPerNamespace"), std::string::npos);
  EXPECT_NE(err("concurrency: {maxNode: 8}").find("unknown field \"concurrency.maxNode\""), std::string::npos);
  EXPECT_NE(err("statusWriteIntervalMilliseconds: -1").find("statusWriteIntervalMilliseconds"), std::string::npos);
  EXPECT_NE(err("statusProgressWritesPerSecond: -1").find("statusProgressWritesPerSecond must be between"), std::string::npos);
  EXPECT_EQ(parseOperatorConfig("statusProgressWritesPerSecond: 2.5", "x")->statusProgressWritesPerSecond, 2.5);
  EXPECT_NE(err("models: {gpt: {provider: openai, baseURL: 'http://x/v1', model: m, maxConcurrentCalls: -2}}")
                .find("models.gpt.maxConcurrentCalls"),
            std::string::npos);
}

TEST(OperatorConfig, TheSharedRunbookNamespaceIsANamespaceName) {
  auto c = parseOperatorConfig("tools:\n  runbookNamespace: opscopilot-system\n", "t");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->runbookNamespace, "opscopilot-system");
  c = parseOperatorConfig("tools:\n  runbookNamespace: Ops_Runbooks\n", "t");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.error().message.find("tools.runbookNamespace must be a namespace name"), std::string::npos);
}

TEST(OperatorConfig, ActionDestinationsAreReadAndEveryMistakeIsNamed) {
  auto c = parseOperatorConfig(R"(actions:
  destinations:
  - {name: oncall, action: notify, type: slack, urlSecret: {namespace: ops, name: slack}}
  - {name: shop-issues, action: ticket, type: github, url: "https://api.github.com", repository: shop/app,
     tokenSecret: {namespace: ops, name: gh}, namespaces: [shop]}
)", "operator.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  ASSERT_EQ(c->actionDestinations.size(), 2u);
  const auto& slack = c->actionDestinations.at("oncall");
  EXPECT_EQ(slack.tool(), "notify");
  EXPECT_EQ(slack.urlSecret.key, "url");
  EXPECT_TRUE(slack.allows("anywhere"));
  const auto& gh = c->actionDestinations.at("shop-issues");
  EXPECT_EQ(gh.tool(), "create_ticket");
  EXPECT_EQ(gh.tokenSecret.key, "token");
  EXPECT_TRUE(gh.allows("shop"));
  EXPECT_FALSE(gh.allows("payments"));

  auto err = [](const std::string& d) {
    auto r = parseOperatorConfig("actions:\n  destinations:\n  - " + d + "\n", "operator.yaml");
    return r.ok() ? std::string("accepted") : r.error().message;
  };
  EXPECT_NE(err("{name: x, action: email, type: slack, url: \"http://h\"}").find("action must be notify or ticket"), std::string::npos);
  EXPECT_NE(err("{name: x, action: notify, type: github, url: \"http://h\"}").find("type must be slack or webhook"), std::string::npos);
  EXPECT_NE(err("{name: x, action: ticket, type: github, url: \"http://h\"}").find("repository must be \"owner/repo\""),
            std::string::npos);
  EXPECT_NE(err("{name: x, action: notify, type: slack}").find("needs url or urlSecret"), std::string::npos);
  EXPECT_NE(err("{name: x, action: notify, type: webhook, url: \"https://u:p@h/x\"}").find("without credentials"),
            std::string::npos);
  EXPECT_NE(err("{name: X_Y, action: notify, type: webhook, url: \"http://h\"}").find("name must be a DNS label"), std::string::npos);
  EXPECT_NE(err("{name: x, action: notify, type: webhook, url: \"http://h\", tokenSecret: {name: t}}").find("tokenSecret needs"),
            std::string::npos);
  EXPECT_NE(err("{name: x, action: notify, type: webhook, url: \"http://h\", channel: ops}").find("actions.destinations[0].channel"),
            std::string::npos);
  auto twice = parseOperatorConfig(R"(actions:
  destinations:
  - {name: x, action: notify, type: webhook, url: "http://h"}
  - {name: x, action: ticket, type: webhook, url: "http://h"}
)", "operator.yaml");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.error().message.find("the name \"x\" is used twice"), std::string::npos);
}

TEST(RunSpecFrom, ActionsNameDestinationsTheOperatorOffersTheNamespaceAndNothingElse) {
  auto cfg = parseOperatorConfig(R"(actions:
  destinations:
  - {name: oncall, action: notify, type: slack, url: "http://h/x"}
  - {name: shop-issues, action: ticket, type: webhook, url: "http://h/t", namespaces: [shop]}
)", "operator.yaml");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  auto spec = [&](const std::string& ns, const std::string& actions) {
    auto run = kube::Object::parse(R"({"metadata":{"name":"r","namespace":")" + ns +
                                   R"(","uid":"u1","generation":2},"spec":{"question":"q","actions":)" + actions + "}}");
    return runSpecFrom(**run, *cfg);
  };
  auto ok = spec("shop", R"([{"type":"Notify","destination":"oncall"},{"type":"CreateTicket","destination":"shop-issues","when":"Always"}])");
  ASSERT_TRUE(ok.ok()) << ok.error().message;
  ASSERT_EQ(ok->actions.size(), 2u);
  EXPECT_EQ(ok->actions[0].tool, "notify");
  EXPECT_FALSE(ok->actions[0].always);
  EXPECT_EQ(ok->actions[1].tool, "create_ticket");
  EXPECT_TRUE(ok->actions[1].always);
  EXPECT_EQ(ok->runUID, "u1");
  EXPECT_EQ(ok->generation, 2);
  EXPECT_TRUE(ok->toolAllowed("notify"));

  auto onlyNotify = spec("shop", R"([{"type":"Notify","destination":"oncall"}])");
  ASSERT_TRUE(onlyNotify.ok());
  EXPECT_FALSE(onlyNotify->toolAllowed("create_ticket")) << "no ticket asked for: a model cannot file one";
  auto none = spec("shop", "[]");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->toolAllowed("notify"));

  auto otherNs = spec("payments", R"([{"type":"CreateTicket","destination":"shop-issues"}])");
  ASSERT_FALSE(otherNs.ok());
  EXPECT_EQ(otherNs.error().reason, "InvalidSpec");
  EXPECT_NE(otherNs.error().message.find("spec.actions[0].destination \"shop-issues\" is not a ticket destination this "
                                         "operator offers namespace payments (it offers none)"),
            std::string::npos)
      << otherNs.error().message;
  auto wrongKind = spec("shop", R"([{"type":"Notify","destination":"shop-issues"}])");
  ASSERT_FALSE(wrongKind.ok());
  EXPECT_NE(wrongKind.error().message.find("(offered: oncall)"), std::string::npos) << wrongKind.error().message;
}

TEST(OperatorConfig, EventTriggersAreCappedPerNamespace) {
  auto c = parseOperatorConfig("eventTriggers: {maxRunsPerNamespacePerHour: 3}", "operator.yaml");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->triggersPerNamespacePerHour, 3);
  EXPECT_EQ(parseOperatorConfig("", "operator.yaml")->triggersPerNamespacePerHour, 12);
  auto bad = parseOperatorConfig("eventTriggers: {maxRunsPerNamespacePerHour: -1}", "operator.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("eventTriggers.maxRunsPerNamespacePerHour must be between 0 (none) and 10000"),
            std::string::npos);
  auto typo = parseOperatorConfig("eventTriggers: {maxRunsPerHour: 3}", "operator.yaml");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().message.find("eventTriggers.maxRunsPerHour"), std::string::npos);
}
