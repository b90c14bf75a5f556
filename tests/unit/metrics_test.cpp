// query_metrics and the metrics analyzer: confining PromQL to a namespace
// (the rewrite, and the check against Prometheus's own parse, whose answers
// here were captured from Prometheus 3 (module v0.316.0)), the tool over a
// scripted Prometheus and API server (I/O only), and the analyzer through the
// production sink over what the real kubelet wrote (tests/fixtures/analyzers/real).
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "analysis_harness.h"
#include "fake_transport.h"
#include "operator/controller/operator_config.h"
#include "operator/kube/client.h"
#include "tools/builtin_tools.h"
#include "tools/metrics_source.h"
#include "tools/promql_scope.h"

using namespace opscopilot;
using namespace opscopilot::analyzer_test;
using ::testing::HasSubstr;

namespace {

std::string scoped(std::string_view q) {
  auto s = tools::scopeQuery(q, "namespace", "shop");
  EXPECT_EQ(s.error, "") << q;
  return s.query;
}

}  // namespace

TEST(PromqlScope, EverySeriesSelectorGetsTheNamespaceMatcherFirst) {
  EXPECT_EQ(scoped("up"), R"(up{namespace="shop"})");
  EXPECT_EQ(scoped(R"(rate(http_requests_total{code=~"5.."}[5m]))"),
            R"(rate(http_requests_total{namespace="shop",code=~"5.."}[5m]))");
  EXPECT_EQ(scoped(R"({__name__="x", job="a"})"), R"({namespace="shop",__name__="x", job="a"})");
  EXPECT_EQ(scoped("x {}"), R"(x {namespace="shop"})");
  EXPECT_EQ(scoped("max_over_time(x[30m:1m]) offset 5m"), R"(max_over_time(x{namespace="shop"}[30m:1m]) offset 5m)");
  EXPECT_EQ(scoped("x > bool 1e-3"), R"(x{namespace="shop"} > bool 1e-3)");
  EXPECT_EQ(scoped("namespace:cpu:rate5m"), R"(namespace:cpu:rate5m{namespace="shop"})");
  // A namespace the query names itself is ANDed with the run's: nothing.
  EXPECT_EQ(scoped(R"(x{namespace="other"})"), R"(x{namespace="shop",namespace="other"})");
}

TEST(PromqlScope, GroupingLabelsStringsCommentsAndNumbersAreLeftAlone) {
  EXPECT_EQ(scoped("sum by (pod, container) (x) / on(pod) group_left(node) y"),
            R"(sum by (pod, container) (x{namespace="shop"}) / on(pod) group_left(node) y{namespace="shop"})");
  EXPECT_EQ(scoped("sum without (instance) (rate(x[1m]))"), R"(sum without (instance) (rate(x{namespace="shop"}[1m])))");
  EXPECT_EQ(scoped("sum(x) by (job)"), R"(sum(x{namespace="shop"}) by (job))");
  EXPECT_EQ(scoped(R"x(label_replace(up, "dst", "{$1}", "src", "(.*)"))x"),
            R"x(label_replace(up{namespace="shop"}, "dst", "{$1}", "src", "(.*)"))x");
  EXPECT_EQ(scoped("x # {y}\n+ z"), "x{namespace=\"shop\"} # {y}\n+ z{namespace=\"shop\"}");
  EXPECT_EQ(scoped("topk(3, x) and 1 + 2"), R"(topk(3, x{namespace="shop"}) and 1 + 2)");
  EXPECT_EQ(scoped("1 + 2"), "1 + 2");
}

TEST(PromqlScope, QueriesThatCannotBeConfinedAreRefused) {
  EXPECT_THAT(tools::scopeQuery("info(up)", "namespace", "shop").error, HasSubstr("info()"));
  EXPECT_THAT(tools::scopeQuery(R"(x{a="b)", "namespace", "shop").error, HasSubstr("unterminated string"));
  EXPECT_THAT(tools::scopeQuery("rate(x[5m)", "namespace", "shop").error, HasSubstr("unclosed"));
  EXPECT_NE(tools::scopeQuery("x", "namespace", "sh\"op").error, "");
}

TEST(PromqlScope, PrometheusParseShowsWhetherEverySelectorIsConfined) {
  // /api/v1/parse_query's data for
  //   sum by (pod) (rate(x{namespace="shop"}[5m])) / on(pod) y
  // and for the same with y{namespace="shop"}.
  rapidjson::Document missing, confined;
  missing.Parse(
      R"({"bool":false,"lhs":{"expr":{"args":[{"anchored":false,"matchers":[{"name":"namespace","type":"=","value":"shop"},{"name":"__name__","type":"=","value":"x"}],"name":"x","offset":0,"offsetExpr":null,"range":300000,"rangeExpr":null,"smoothed":false,"startOrEnd":null,"timestamp":null,"type":"matrixSelector"}],"func":{"argTypes":["matrix"],"name":"rate","returnType":"vector","variadic":0},"type":"call"},"grouping":["pod"],"op":"sum","param":null,"type":"aggregation","without":false},"matching":{"card":"one-to-one","fillValues":{"lhs":null,"rhs":null},"include":[],"labels":["pod"],"on":true},"op":"/","rhs":{"anchored":false,"matchers":[{"name":"__name__","type":"=","value":"y"}],"name":"y","offset":0,"offsetExpr":null,"smoothed":false,"startOrEnd":null,"timestamp":null,"type":"vectorSelector"},"type":"binaryExpr"})");
  confined.Parse(
      R"({"bool":false,"lhs":{"expr":{"args":[{"anchored":false,"matchers":[{"name":"namespace","type":"=","value":"shop"},{"name":"__name__","type":"=","value":"x"}],"name":"x","offset":0,"offsetExpr":null,"range":300000,"rangeExpr":null,"smoothed":false,"startOrEnd":null,"timestamp":null,"type":"matrixSelector"}],"func":{"argTypes":["matrix"],"name":"rate","returnType":"vector","variadic":0},"type":"call"},"grouping":["pod"],"op":"sum","param":null,"type":"aggregation","without":false},"matching":{"card":"one-to-one","fillValues":{"lhs":null,"rhs":null},"include":[],"labels":["pod"],"on":true},"op":"/","rhs":{"anchored":false,"matchers":[{"name":"namespace","type":"=","value":"shop"},{"name":"__name__","type":"=","value":"y"}],"name":"y","offset":0,"offsetExpr":null,"smoothed":false,"startOrEnd":null,"timestamp":null,"type":"vectorSelector"},"type":"binaryExpr"})");
  ASSERT_FALSE(missing.HasParseError());
  EXPECT_EQ(tools::unscopedSelector(missing, "namespace", "shop").value_or(""), R"(y is not confined to namespace="shop")");
  EXPECT_EQ(tools::unscopedSelector(confined, "namespace", "shop"), std::nullopt);
  // A regex or negative matcher on the label does not confine.
  rapidjson::Document regex;
  regex.Parse(R"({"type":"vectorSelector","name":"y","matchers":[{"name":"namespace","type":"=~","value":"shop"}]})");
  EXPECT_NE(tools::unscopedSelector(regex, "namespace", "shop"), std::nullopt);
}

namespace {

// A scripted Prometheus and API server (for the access reviews), recording
// what they are sent.
struct MetricsRig {
  std::shared_ptr<test::FakeTransport> api = std::make_shared<test::FakeTransport>();
  std::shared_ptr<test::FakeTransport> prom = std::make_shared<test::FakeTransport>();
  std::shared_ptr<kube::Client> client;
  tools::ToolSettings settings;
  agent::ToolRegistry registry;
  bool readerMayReadMetrics = true;
  bool requesterMay = true;
  std::string parseAnswer = R"({"status":"success","data":{"type":"vectorSelector","name":"up","matchers":[{"name":"namespace","type":"=","value":"shop"}]}})";
  std::string queryAnswer = R"({"status":"success","data":{"resultType":"vector","result":[]}})";
  int queryStatus = 200;

  MetricsRig() {
    api->onRoundTrip = [this](const net::HttpRequest& r) {
      const bool reader = r.body.find("opscopilot-reader") != std::string::npos;
      const bool allowed = reader ? readerMayReadMetrics : requesterMay;
      return net::Result<net::HttpResponse>(net::HttpResponse{
          201, {}, std::string(R"({"kind":"SubjectAccessReview","status":{"allowed":)") + (allowed ? "true" : "false") + "}}"});
    };
    prom->onRoundTrip = [this](const net::HttpRequest& r) {
      if (r.target.ends_with("/api/v1/parse_query")) return net::Result<net::HttpResponse>(net::HttpResponse{200, {}, parseAnswer});
      return net::Result<net::HttpResponse>(net::HttpResponse{queryStatus, {}, queryAnswer});
    };
    kube::ClientConfig cfg;
    cfg.server = "https://fake.invalid:6443";
    client = std::make_shared<kube::Client>(cfg, api);
    auto sources = std::make_shared<tools::MetricsSources>();
    tools::PrometheusEndpoint ep;
    ep.url = "http://prometheus.monitoring:9090/prom";
    ep.basePath = "/prom";
    ep.authorization = "Bearer s3cr3t-token";
    ep.transport = prom;
    sources->setClusterDefault(ep);
    settings.metrics = sources;
    settings.access = std::make_shared<tools::AccessReviewer>(client);
    tools::registerBuiltinTools(registry, client, settings);
  }

  agent::ToolOutput run(const std::string& args, std::optional<agent::Requester> requester = std::nullopt) {
    rapidjson::Document d;
    d.Parse(args.c_str());
    agent::ToolContext ctx{"shop", std::chrono::steady_clock::now() + std::chrono::seconds(10), requester};
    return registry.find("query_metrics")->run(ctx, d);
  }
  std::vector<net::HttpRequest> promRequests() { return prom->requests(); }
};

std::string formValue(const std::string& body, const std::string& key) {
  auto at = body.find(key + "=");
  if (at == std::string::npos) return "";
  auto end = body.find('&', at);
  std::string v = body.substr(at + key.size() + 1, end == std::string::npos ? std::string::npos : end - at - key.size() - 1);
  std::string out;
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (v[i] == '%' && i + 2 < v.size()) {
      out += static_cast<char>(std::stoi(v.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += v[i] == '+' ? ' ' : v[i];
    }
  }
  return out;
}

}  // namespace

TEST(QueryMetrics, SendsTheConfinedQueryOnlyAfterPrometheusParsedItConfined) {
  MetricsRig rig;
  rig.queryAnswer = R"({"status":"success","data":{"resultType":"vector","result":[
    {"metric":{"pod":"web-1"},"value":[1796294067.9,"0.25"]},
    {"metric":{"pod":"web-2"},"value":[1796294067.9,"0.96"]}]}})";
  auto out = rig.run(R"({"query":"up"})");
  ASSERT_TRUE(out.ok) << out.summary;
  auto reqs = rig.promRequests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].target, "/prom/api/v1/parse_query");
  EXPECT_EQ(formValue(reqs[0].body, "query"), R"(up{namespace="shop"})");
  EXPECT_EQ(reqs[1].target, "/prom/api/v1/query");
  EXPECT_EQ(formValue(reqs[1].body, "query"), R"(up{namespace="shop"})");
  EXPECT_GT(std::stod(formValue(reqs[1].body, "time")), 1.7e9);  // a whole timestamp, not 1.796e+09
  EXPECT_EQ(test::headerOf(reqs[1], "Authorization"), "Bearer s3cr3t-token");
  // The largest series first, each cited.
  EXPECT_THAT(out.summary, HasSubstr(R"(2 series for up{namespace="shop"})"));
  ASSERT_EQ(out.evidence.size(), 2u);
  EXPECT_EQ(out.evidence[0].ref, R"(Metric {pod="web-2"})");
  EXPECT_THAT(out.evidence[0].text, HasSubstr("now: 0.96"));
  EXPECT_EQ((*out.data)["series"][0]["labels"]["pod"], "web-2");
  EXPECT_EQ((*out.data)["series"][0]["value"].GetDouble(), 0.96);
  for (const auto& e : out.evidence) EXPECT_THAT(e.text, ::testing::Not(HasSubstr("s3cr3t")));
}

TEST(QueryMetrics, ASelectorPrometheusSeesUnconfinedIsNeverQueried) {
  MetricsRig rig;
  rig.parseAnswer = R"({"status":"success","data":{"type":"vectorSelector","name":"up","matchers":[{"name":"__name__","type":"=","value":"up"}]}})";
  auto out = rig.run(R"({"query":"up"})");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.errorReason, "InvalidArgs");
  EXPECT_THAT(out.summary, HasSubstr(R"(up is not confined to namespace="shop")"));
  ASSERT_EQ(rig.promRequests().size(), 1u);  // the parse only
}

TEST(QueryMetrics, RangeQueriesAreSummarisedPerSeries) {
  MetricsRig rig;
  rig.queryAnswer = R"({"status":"success","data":{"resultType":"matrix","result":[
    {"metric":{"__name__":"m","pod":"web-1"},"values":[[1,"1"],[2,"5"],[3,"NaN"],[4,"3"]]}]}})";
  auto out = rig.run(R"({"query":"m","minutes":30})");
  ASSERT_TRUE(out.ok) << out.summary;
  auto reqs = rig.promRequests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].target, "/prom/api/v1/query_range");
  EXPECT_EQ(formValue(reqs[1].body, "step"), "8");  // 30 min in at most 240 points
  const auto& s = (*out.data)["series"][0];
  EXPECT_EQ(s["points"].GetInt(), 3);
  EXPECT_EQ(s["min"].GetDouble(), 1);
  EXPECT_EQ(s["max"].GetDouble(), 5);
  EXPECT_EQ(s["last"].GetDouble(), 3);
  EXPECT_EQ(out.evidence[0].ref, R"(Metric m{pod="web-1"})");
  EXPECT_THAT(out.evidence[0].text, HasSubstr("over the last 30 min (3 points): last 3, min 1, max 5, mean 3"));
}

TEST(QueryMetrics, PrometheusRefusalsAndOutagesAreTheStepsErrorNotTheRuns) {
  MetricsRig rig;
  rig.queryStatus = 400;
  rig.queryAnswer = R"({"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected end of input"})";
  auto out = rig.run(R"({"query":"up"})");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.errorReason, "InvalidArgs");
  EXPECT_THAT(out.summary, HasSubstr("Prometheus refused the query: invalid parameter"));

  rig.prom->onRoundTrip = [](const net::HttpRequest&) {
    return net::Result<net::HttpResponse>(kube::Error{0, "ConnectionError", "connection refused"});
  };
  out = rig.run(R"({"query":"up"})");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.errorReason, "Error");
  EXPECT_THAT(out.summary, HasSubstr("Prometheus at http://prometheus.monitoring:9090/prom did not answer"));
}

TEST(QueryMetrics, ReaderAndRequesterMustBothMayReadPodMetrics) {
  MetricsRig rig;
  rig.readerMayReadMetrics = false;
  auto out = rig.run(R"({"query":"up"})");
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(out.errorReason, "Forbidden");
  EXPECT_THAT(out.summary, HasSubstr("the reader identity system:serviceaccount:shop:opscopilot-reader may not list "
                                     "pods.metrics.k8s.io in namespace shop"));
  EXPECT_TRUE(rig.promRequests().empty());
  // The review is the reader's, as the API server sees an impersonated
  // service account.
  auto sar = rig.api->requests().at(0);
  EXPECT_THAT(sar.body, HasSubstr(R"("system:serviceaccounts:shop")"));
  EXPECT_THAT(sar.body, HasSubstr(R"("group":"metrics.k8s.io")"));

  MetricsRig asked;
  asked.requesterMay = false;
  agent::Requester alice;
  alice.username = "alice";
  out = asked.run(R"({"query":"up"})", alice);
  EXPECT_FALSE(out.ok);
  EXPECT_TRUE(out.refusedForRequester);
  EXPECT_THAT(out.summary, HasSubstr("alice, who asked for this run, may not list pods"));
  EXPECT_TRUE(asked.promRequests().empty());
}

TEST(QueryMetrics, NotOfferedWhereNoPrometheusIsConfigured) {
  auto cfg = controller::parseOperatorConfig(R"(
metrics:
  namespaces:
    payments: {url: "http://prometheus.payments:9090"}
)", "test");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_TRUE(cfg->hasMetrics("payments"));
  EXPECT_FALSE(cfg->hasMetrics("shop"));
  auto bad = controller::parseOperatorConfig("metrics:\n  prometheus: {url: \"http://p:9090\", scopeLabel: \"\"}\n", "test");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("scopeLabel must not be empty"));
  bad = controller::parseOperatorConfig("metrics:\n  prometheus: {url: \"http://user:pw@p:9090\"}\n", "test");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("without credentials"));
  bad = controller::parseOperatorConfig("metrics:\n  prometheus: {url: \"http://p:9090\", token: x}\n", "test");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.error().message, HasSubstr("metrics.prometheus.token"));
}

// ---- The analyzer, through the production sink, over the real kubelet's pods.

TEST(MetricsAnalyzer, AnOomKilledPodGetsAskedHowCloseMemoryCameAndTheAnswerJoinsItsFinding) {
  TestSink sink;
  auto analyzers = tools::builtinAnalyzers();
  auto pods = stepFromFixture("list_pods", "real/pods_oom.json", {{"E1", "Pod/oom"}});
  feed(analyzers, *pods, sink);
  ASSERT_TRUE(sink.suggested("query_metrics", "container_memory_working_set_bytes")) << "no memory query planned";
  const auto* oom = [&]() -> const agent::Finding* {
    for (const auto& f : sink.findings()) {
      if (contains(f.title, "OOMKilled")) return &f;
    }
    return nullptr;
  }();
  ASSERT_NE(oom, nullptr);
  const std::string pod = oom->subject.substr(4, oom->subject.find('/', 4) - 4);
  std::string q;
  for (const auto& c : sink.state().plan) {
    if (c.tool == "query_metrics") q = c.argsJson;
  }
  EXPECT_THAT(q, HasSubstr("pod=~\\\"" + pod + "\\\""));
  auto metrics = stepWithJson("query_metrics",
                              R"x({"query":"max by (pod) (max_over_time(container_memory_working_set_bytes{container=\"\"}[30m])) / max by (pod) (container_spec_memory_limit_bytes{container=\"\"} > 0)",
                                  "resultType":"vector","series":[{"labels":{"pod":")x" + pod + R"("},"value":0.9}]})",
                              {{"E9", "Metric {pod=\"" + pod + "\"}"}});
  feed(analyzers, *metrics, sink);
  const auto* enriched = sink.bySubject(oom->subject);
  ASSERT_NE(enriched, nullptr);
  EXPECT_THAT(enriched->title, HasSubstr("memory was seen at 90% of the limit in the last 30 min (cAdvisor): it climbs until killed"));
  EXPECT_THAT(enriched->evidence, ::testing::Contains("E9"));
}

TEST(MetricsAnalyzer, AThrottledPodIsAFindingAndALightlyThrottledOneIsNot) {
  TestSink sink;
  auto analyzers = tools::builtinAnalyzers();
  const std::string q = R"x(sum by (pod) (rate(container_cpu_cfs_throttled_periods_total{container=\"\"}[5m])) / sum by (pod) (rate(container_cpu_cfs_periods_total{container=\"\"}[5m])))x";
  auto metrics = stepWithJson("query_metrics",
                              R"({"query":")" + q + R"(","resultType":"vector","series":[
                                   {"labels":{"pod":"thumbs-1"},"value":0.998},{"labels":{"pod":"thumbs-2"},"value":0.1}]})",
                              {{"E4", "Metric {pod=\"thumbs-1\"}"}, {"E5", "Metric {pod=\"thumbs-2\"}"}});
  feed(analyzers, *metrics, sink);
  const auto* f = sink.bySubject("Pod/thumbs-1");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, agent::Severity::Medium);
  EXPECT_THAT(f->title, HasSubstr("CPU-throttled in 100% of scheduling periods"));
  EXPECT_THAT(f->evidence, ::testing::ElementsAre("E4"));
  EXPECT_THAT(f->remediation, HasSubstr("resources.limits.cpu"));
  EXPECT_EQ(sink.bySubject("Pod/thumbs-2"), nullptr);
}

TEST(MetricsAnalyzer, AServicesPodsAreAskedForTheirShareOf5xxAndAHighShareIsAFinding) {
  TestSink sink;
  auto analyzers = tools::builtinAnalyzers();
  auto service = stepWithJson("get_service",
                              R"({"service":{"metadata":{"name":"storefront"}},"endpoints":null,"endpointSlices":[],
                                  "pods":[{"metadata":{"name":"storefront-1"}},{"metadata":{"name":"storefront-2"}}]})",
                              {{"E1", "Service/storefront"}});
  feed(analyzers, *service, sink);
  ASSERT_TRUE(sink.suggested("query_metrics", "http_requests_total")) << "no error-rate query planned";
  std::string q;
  for (const auto& c : sink.state().plan) {
    if (c.tool == "query_metrics") q = c.argsJson;
  }
  EXPECT_THAT(q, HasSubstr(R"(pod=~\"storefront-1|storefront-2\")"));
  EXPECT_THAT(q, HasSubstr(R"(code=~\"5..\")"));
  auto metrics = stepWithJson("query_metrics",
                              R"x({"query":"sum by (pod) (rate(http_requests_total{code=~\"5..\"}[5m])) / sum by (pod) (rate(http_requests_total[5m]) > 0)",
                                  "resultType":"vector","series":[{"labels":{"pod":"storefront-1"},"value":0.3},
                                                                  {"labels":{"pod":"storefront-2"},"value":0.01}]})x",
                              {{"E5", "Metric {pod=\"storefront-1\"}"}, {"E6", "Metric {pod=\"storefront-2\"}"}});
  feed(analyzers, *metrics, sink);
  const auto* f = sink.bySubject("Pod/storefront-1");
  ASSERT_NE(f, nullptr);
  EXPECT_EQ(f->severity, agent::Severity::Medium);
  EXPECT_THAT(f->title, HasSubstr("answers 30% of its HTTP requests with 5xx"));
  EXPECT_THAT(f->evidence, ::testing::ElementsAre("E5"));
  EXPECT_EQ(sink.bySubject("Pod/storefront-2"), nullptr);
}
