// query_metrics: a PromQL instant or range query against the Prometheus the
// operator config names for the run's namespace, confined to that namespace
// (every series selector gets namespace="<ns>", checked against Prometheus's
// own parse of the query before it is sent), and only when the reader
// identity and the run's requester may read the namespace's pod metrics
// (`list pods.metrics.k8s.io`, what `kubectl top pods` needs). The answer is
// summarised per series (the value; or first, last, min, max and mean over
// the range), at most 20 series, the largest first.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include <rapidjson/document.h>

#include "operator/kube/resource.h"
#include "tools/kube_tool.h"
#include "tools/metrics_source.h"
#include "tools/promql_scope.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

const ApiKind kPodMetrics{"PodMetrics", {"metrics.k8s.io", "v1beta1", "pods", true}};
constexpr std::size_t kMaxSeries = 20;
constexpr std::int64_t kMaxMinutes = 1440;
constexpr std::int64_t kMaxPoints = 240;
constexpr std::size_t kMaxLabelText = 240;

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

double parseValue(const rapidjson::Value& pair) {
  if (!pair.IsArray() || pair.Size() != 2 || !pair[1].IsString()) return std::nan("");
  return std::strtod(pair[1].GetString(), nullptr);
}

std::string form(std::initializer_list<std::pair<std::string_view, std::string>> fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    if (!out.empty()) out += '&';
    out += std::string(k) + "=" + kube::urlEncode(v);
  }
  return out;
}

struct Answer {
  rapidjson::Document doc;
  std::string error;   // set when there is no usable answer
  std::string reason;  // InvalidArgs (Prometheus refused the query), Timeout, Error
};

// POSTs a form to Prometheus and returns its JSON answer's "data".
Answer ask(const PrometheusEndpoint& ep, std::string_view path, std::string body,
           std::chrono::steady_clock::time_point deadline) {
  Answer ans;
  net::HttpRequest req;
  req.method = "POST";
  req.target = ep.basePath + std::string(path);
  req.headers = {{"Content-Type", "application/x-www-form-urlencoded"},
                 {"Accept", "application/json"}};
  if (!ep.authorization.empty()) req.headers.emplace_back("Authorization", ep.authorization);
  req.body = std::move(body);
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
  if (deadline != std::chrono::steady_clock::time_point{} && left.count() <= 0) {
    return {{}, "the tool's deadline passed before the query", "Timeout"};
  }
  req.timeout = deadline == std::chrono::steady_clock::time_point{} ? std::chrono::milliseconds(10000) : left;
  req.deadline = deadline == std::chrono::steady_clock::time_point{} ? std::chrono::steady_clock::time_point::max() : deadline;
  auto resp = ep.transport->roundTrip(req);
  if (!resp.ok()) {
    ans.error = "Prometheus at " + ep.url + " did not answer: " + resp.error().toString();
    ans.reason = resp.error().isTimeout() ? "Timeout" : "Error";
    return ans;
  }
  ans.doc.Parse(resp->body.c_str(), resp->body.size());
  const bool json = !ans.doc.HasParseError() && ans.doc.IsObject();
  if (json && ans.doc.HasMember("status") && ans.doc["status"] == "success" && ans.doc.HasMember("data")) return ans;
  if (json && ans.doc.HasMember("error") && ans.doc["error"].IsString()) {
    ans.error = "Prometheus refused the query: " + std::string(ans.doc["error"].GetString());
    ans.reason = resp->status == 400 || resp->status == 422 ? "InvalidArgs" : "Error";
    return ans;
  }
  ans.error = "Prometheus at " + ep.url + " answered HTTP " + std::to_string(resp->status) +
              (resp->status == 401 || resp->status == 403 ? " (its credentials were refused)" : " without a query result");
  ans.reason = resp->status == 401 || resp->status == 403 ? "Forbidden" : "Error";
  return ans;
}

agent::ToolOutput failure(std::string reason, std::string message, std::shared_ptr<rapidjson::Document> data) {
  agent::ToolOutput out;
  out.ok = false;
  out.errorReason = std::move(reason);
  out.summary = message;
  out.evidence.push_back({"Metric query", std::move(message)});
  out.data = std::move(data);
  return out;
}

// metric{a="b",...} without __name__, cut to kMaxLabelText.
std::string seriesName(const rapidjson::Value& metric) {
  std::string name, labels;
  if (metric.IsObject()) {
    for (auto it = metric.MemberBegin(); it != metric.MemberEnd(); ++it) {
      if (!it->value.IsString()) continue;
      const std::string k = it->name.GetString(), v = it->value.GetString();
      if (k == "__name__") {
        name = v;
        continue;
      }
      if (!labels.empty()) labels += ',';
      labels += k + "=\"" + v + "\"";
    }
  }
  std::string out = name + "{" + labels + "}";
  if (out.size() > kMaxLabelText) out = out.substr(0, kMaxLabelText - 4) + "...}";
  return out;
}

class QueryMetricsTool : public KubeTool {
 public:
  QueryMetricsTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings, specFor(settings)) {}

 private:
  static agent::ToolSpec specFor(const ToolSettings& settings) {
    auto spec = makeSpec("query_metrics",
                         "Runs a PromQL query against the namespace's Prometheus (confined to the namespace): an "
                         "instant query, or over the last `minutes` a range query summarised per series (first, "
                         "last, min, max, mean). E.g. container_memory_working_set_bytes{pod=~\"web-.*\"}.",
                         R"({"type":"object","properties":{
"query":{"type":"string","minLength":1,"maxLength":2000},
"minutes":{"type":"integer","minimum":0,"maximum":1440},
"stepSeconds":{"type":"integer","minimum":1,"maximum":3600}},
"required":["query"],"additionalProperties":false})",
                         settings);
    spec.readsCluster = false;
    return spec;
  }

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) override {
    const std::string query = stringArg(args, "query").value_or("");
    if (query.empty()) return invalidArgs("\"query\" must be a PromQL expression");
    const auto minutes = std::clamp(intArg(args, "minutes").value_or(0), std::int64_t{0}, kMaxMinutes);

    auto data = newData();
    auto& a = data->GetAllocator();
    setMember(*data, "query", jsonString(query, a));
    const PrometheusEndpoint* ep = settings().metrics ? settings().metrics->forNamespace(call.ns()) : nullptr;
    if (!ep || !ep->transport) {
      return failure("Error", "no Prometheus is configured for namespace " + call.ns() + " (operator config metrics)", data);
    }
    setMember(*data, "source", jsonString(ep->url, a));
    if (!settings().access) return failure("Forbidden", "no access reviewer: metrics are not read unchecked", data);
    if (auto refused = call.mayRead("list", kPodMetrics, *settings().access)) {
      return failure(errorReasonFor(*refused), refused->message, data);
    }

    std::string sent = query;
    if (!ep->scopeLabel.empty()) {
      auto scoped = scopeQuery(query, ep->scopeLabel, call.ns());
      if (!scoped.error.empty()) return failure("InvalidArgs", "the query cannot be confined to namespace " + call.ns() + ": " + scoped.error, data);
      auto parsed = ask(*ep, "/api/v1/parse_query", form({{"query", scoped.query}}), call.deadline());
      if (!parsed.error.empty()) return failure(parsed.reason, parsed.error, data);
      if (auto bad = unscopedSelector(parsed.doc["data"], ep->scopeLabel, call.ns())) {
        return failure("InvalidArgs", "the query cannot be confined to namespace " + call.ns() + ": " + *bad, data);
      }
      sent = scoped.query;
    }
    setMember(*data, "sent", jsonString(sent, a));

    const double now = static_cast<double>(std::time(nullptr));
    Answer ans;
    if (minutes == 0) {
      char at[32];
      std::snprintf(at, sizeof at, "%.3f", now);
      ans = ask(*ep, "/api/v1/query", form({{"query", sent}, {"time", at}}), call.deadline());
    } else {
      const std::int64_t span = minutes * 60;
      const std::int64_t step = std::max(intArg(args, "stepSeconds").value_or(1), (span + kMaxPoints - 1) / kMaxPoints);
      char start[32], end[32];
      std::snprintf(start, sizeof start, "%.3f", now - static_cast<double>(span));
      std::snprintf(end, sizeof end, "%.3f", now);
      ans = ask(*ep, "/api/v1/query_range",
                form({{"query", sent}, {"start", start}, {"end", end}, {"step", std::to_string(step)}}), call.deadline());
      setMember(*data, "minutes", rapidjson::Value(static_cast<int64_t>(minutes)));
      setMember(*data, "stepSeconds", rapidjson::Value(static_cast<int64_t>(step)));
    }
    if (!ans.error.empty()) return failure(ans.reason, ans.error, data);
    return summarise(ans.doc["data"], minutes, std::move(data));
  }

 private:
  struct Series {
    std::string name;
    const rapidjson::Value* metric = nullptr;
    double value = 0, first = 0, last = 0, min = 0, max = 0, mean = 0;
    std::size_t points = 0;
    double rank = 0;
  };

  static agent::ToolOutput summarise(const rapidjson::Value& result, std::int64_t minutes, std::shared_ptr<rapidjson::Document> data) {
    auto& a = data->GetAllocator();
    agent::ToolOutput out;
    const std::string type = result.HasMember("resultType") && result["resultType"].IsString() ? result["resultType"].GetString() : "";
    setMember(*data, "resultType", jsonString(type, a));
    const rapidjson::Value* res = result.HasMember("result") ? &result["result"] : nullptr;
    rapidjson::Value series(rapidjson::kArrayType);
    std::vector<Series> all;
    if (res && (type == "scalar" || type == "string")) {
      Series s;
      s.name = type;
      s.value = type == "scalar" ? parseValue(*res) : 0;
      s.points = 1;
      all.push_back(s);
    } else if (res && res->IsArray()) {
      for (const auto& r : res->GetArray()) {
        if (!r.IsObject()) continue;
        Series s;
        s.metric = r.HasMember("metric") ? &r["metric"] : nullptr;
        s.name = s.metric ? seriesName(*s.metric) : "{}";
        if (r.HasMember("value")) {
          s.value = s.rank = parseValue(r["value"]);
          s.points = 1;
        } else if (r.HasMember("values") && r["values"].IsArray()) {
          double sum = 0;
          for (const auto& p : r["values"].GetArray()) {
            const double v = parseValue(p);
            if (std::isnan(v)) continue;
            if (s.points == 0) s.first = s.min = s.max = v;
            s.last = v;
            s.min = std::min(s.min, v);
            s.max = std::max(s.max, v);
            sum += v;
            ++s.points;
          }
          if (s.points == 0) continue;
          s.mean = sum / static_cast<double>(s.points);
          s.rank = s.max;
        }
        all.push_back(std::move(s));
      }
    }
    std::stable_sort(all.begin(), all.end(), [](const Series& x, const Series& y) {
      if (std::isnan(x.rank) != std::isnan(y.rank)) return std::isnan(y.rank);
      return x.rank > y.rank;
    });
    setMember(*data, "seriesTotal", rapidjson::Value(static_cast<uint64_t>(all.size())));
    const bool range = minutes > 0 && type == "matrix";
    const std::string query = (*data)["query"].GetString();
    for (std::size_t i = 0; i < all.size() && i < kMaxSeries; ++i) {
      const auto& s = all[i];
      rapidjson::Value item(rapidjson::kObjectType);
      rapidjson::Value labels(rapidjson::kObjectType);
      if (s.metric && s.metric->IsObject()) labels.CopyFrom(*s.metric, a);
      item.AddMember("labels", labels, a);
      std::string text;
      if (range) {
        item.AddMember("points", rapidjson::Value(static_cast<uint64_t>(s.points)), a);
        for (auto [k, v] : {std::pair<const char*, double>{"first", s.first}, {"last", s.last}, {"min", s.min},
                            {"max", s.max}, {"mean", s.mean}}) {
          if (std::isfinite(v)) item.AddMember(rapidjson::StringRef(k), rapidjson::Value(v), a);
        }
        text = "over the last " + std::to_string(minutes) + " min (" + std::to_string(s.points) + " points): last " +
               number(s.last) + ", min " + number(s.min) + ", max " + number(s.max) + ", mean " + number(s.mean) +
               ", first " + number(s.first);
      } else {
        if (std::isfinite(s.value)) item.AddMember("value", rapidjson::Value(s.value), a);
        text = "now: " + number(s.value);
      }
      series.PushBack(item, a);
      if (out.evidence.size() < kMaxEvidence) {
        out.evidence.push_back({"Metric " + s.name, s.name + " " + text + "; query: " + query.substr(0, 300)});
      }
    }
    setMember(*data, "series", std::move(series));
    const std::string& q = (*data)["sent"].GetString();
    out.summary = std::to_string(all.size()) + " series" + (all.size() > kMaxSeries ? " (the largest 20 kept)" : "") +
                  " for " + q.substr(0, 200) + (range ? " over the last " + std::to_string(minutes) + " min" : "");
    if (out.evidence.empty()) out.evidence.push_back({"Metric query", "no series matched " + q.substr(0, 400)});
    out.data = std::move(data);
    return out;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeQueryMetricsTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<QueryMetricsTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
