#include "operator/controller/operator_config.h"

#include "tools/builtin_tools.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>

#include "operator/kube/config.h"
#include "operator/net/http_transport.h"

namespace opscopilot::controller {

namespace {

kube::Error invalid(const std::string& source, const std::string& message) {
  return kube::Error{0, "InvalidConfig", source + ": " + message};
}

// Reads limits from a node; returns "" or an error naming the field.
// A namespace name: a DNS label (1..63 of [a-z0-9-], alphanumeric at both ends).
bool validLabel(const std::string& s) {
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (s.empty() || s.size() > 63 || !alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-'; });
}

std::string readLimits(const YAML::Node& n, const std::string& path, agent::Limits& out) {
  if (!n) return {};
  if (!n.IsMap()) return path + " must be a mapping";
  try {
    if (n["maxSteps"]) out.maxSteps = n["maxSteps"].as<int>();
    if (n["timeoutSeconds"]) out.timeout = std::chrono::seconds(n["timeoutSeconds"].as<int>());
    if (n["maxTokens"]) out.maxTokens = n["maxTokens"].as<std::int64_t>();
    if (n["maxCostUSD"]) {
      auto text = n["maxCostUSD"].as<std::string>();
      auto micro = agent::parseMicroUSD(text);
      if (!micro) return path + ".maxCostUSD must be a decimal amount like \"0.50\", not \"" + text + "\"";
      out.maxCostMicroUSD = *micro;
    }
  } catch (const YAML::Exception& e) {
    return path + " has a value of the wrong type: " + e.what();
  }
  if (out.maxSteps < 1) return path + ".maxSteps must be at least 1";
  if (out.timeout.count() < 1) return path + ".timeoutSeconds must be at least 1";
  if (out.maxTokens < 0) return path + ".maxTokens must not be negative";
  return {};
}

}  // namespace

std::string unknownKey(const YAML::Node& node, const std::string& where, std::initializer_list<const char*> known);

std::string tracesEndpoint(const std::string& url, bool signalSpecific, std::string& out) {
  auto parsed = net::parseUrl(url);
  if (!parsed || url.find('@') != std::string::npos || url.find('?') != std::string::npos) {
    return "must be an http:// or https:// URL without credentials or query (an OTLP/HTTP endpoint, e.g. "
           "\"http://otel-collector.monitoring:4318\"), not \"" + url + "\"";
  }
  out = url;
  if (!signalSpecific) {
    // A base endpoint: OTLP/HTTP sends traces to its /v1/traces.
    while (!out.empty() && out.back() == '/') out.pop_back();
    out += "/v1/traces";
  }
  return "";
}

namespace {

std::string readPrometheus(const YAML::Node& n, const std::string& path, PrometheusConfig& out) {
  if (!n.IsMap()) return path + " must be a mapping with at least url";
  if (auto u = unknownKey(n, path, {"url", "bearerTokenSecret", "caFile", "insecureSkipVerify", "scopeLabel"}); !u.empty()) {
    return "unknown field \"" + u + "\"";
  }
  if (auto u = unknownKey(n["bearerTokenSecret"], path + ".bearerTokenSecret", {"namespace", "name", "key"}); !u.empty()) {
    return "unknown field \"" + u + "\"";
  }
  out.url = n["url"] ? n["url"].as<std::string>() : "";
  auto url = net::parseUrl(out.url);
  if (!url || out.url.find('@') != std::string::npos || out.url.find('?') != std::string::npos) {
    return path + ".url must be an http:// or https:// URL without credentials or query (e.g. "
                  "\"http://prometheus.monitoring:9090\"), not \"" + out.url + "\"";
  }
  if (auto sec = n["bearerTokenSecret"]) {
    out.tokenSecretNamespace = sec["namespace"] ? sec["namespace"].as<std::string>() : "";
    out.tokenSecretName = sec["name"] ? sec["name"].as<std::string>() : "";
    if (sec["key"]) out.tokenSecretKey = sec["key"].as<std::string>();
    if (!validLabel(out.tokenSecretNamespace) || out.tokenSecretName.empty() || out.tokenSecretKey.empty()) {
      return path + ".bearerTokenSecret needs namespace, name (and key, default \"token\")";
    }
  }
  if (n["caFile"]) out.caFile = n["caFile"].as<std::string>();
  if (n["insecureSkipVerify"]) out.insecureSkipVerify = n["insecureSkipVerify"].as<bool>();
  if (n["scopeLabel"]) out.scopeLabel = n["scopeLabel"].as<std::string>();
  const bool labelOk = std::all_of(out.scopeLabel.begin(), out.scopeLabel.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  }) && (out.scopeLabel.empty() || !std::isdigit(static_cast<unsigned char>(out.scopeLabel[0])));
  if (!labelOk) return path + ".scopeLabel must be a Prometheus label name (default \"namespace\")";
  return {};
}

std::string readSecretRef(const YAML::Node& n, const std::string& path, const std::string& defaultKey, SecretKeyRef& out) {
  if (!n) return {};
  if (auto u = unknownKey(n, path, {"namespace", "name", "key"}); !u.empty()) return "unknown field \"" + u + "\"";
  out.ns = n["namespace"] ? n["namespace"].as<std::string>() : "";
  out.name = n["name"] ? n["name"].as<std::string>() : "";
  out.key = n["key"] ? n["key"].as<std::string>() : defaultKey;
  if (!validLabel(out.ns) || out.name.empty() || out.key.empty()) {
    return path + " needs namespace, name (and key, default \"" + defaultKey + "\")";
  }
  return {};
}

std::string readDestination(const YAML::Node& n, const std::string& path, ActionDestinationConfig& out) {
  if (!n.IsMap()) return path + " must be a mapping with name, action, type and url (or urlSecret)";
  if (auto u = unknownKey(n, path, {"name", "action", "type", "url", "urlSecret", "tokenSecret", "repository",
                                    "namespaces", "caFile", "insecureSkipVerify"});
      !u.empty()) {
    return "unknown field \"" + u + "\"";
  }
  auto text = [&](const char* k) { return n[k] ? n[k].as<std::string>() : std::string(); };
  out.name = text("name");
  if (!validLabel(out.name)) return path + ".name must be a DNS label (lower case letters, digits and '-'), not \"" + out.name + "\"";
  out.action = text("action");
  out.type = text("type");
  if (out.action == "notify") {
    if (out.type != "slack" && out.type != "webhook") return path + ".type must be slack or webhook for action notify";
  } else if (out.action == "ticket") {
    if (out.type != "github" && out.type != "webhook") return path + ".type must be github or webhook for action ticket";
  } else {
    return path + ".action must be notify or ticket";
  }
  out.url = text("url");
  if (auto err = readSecretRef(n["urlSecret"], path + ".urlSecret", "url", out.urlSecret); !err.empty()) return err;
  if (auto err = readSecretRef(n["tokenSecret"], path + ".tokenSecret", "token", out.tokenSecret); !err.empty()) return err;
  if (out.url.empty() == out.urlSecret.empty()) return path + " needs url or urlSecret (one of them)";
  if (!out.url.empty()) {
    auto url = net::parseUrl(out.url);
    if (!url || out.url.find('@') != std::string::npos) {
      return path + ".url must be an http:// or https:// URL without credentials (put a secret URL in urlSecret), not \"" +
             out.url + "\"";
    }
  }
  out.repository = text("repository");
  const auto slash = out.repository.find('/');
  if (out.type == "github" && (slash == std::string::npos || slash == 0 || slash + 1 == out.repository.size() ||
                               out.repository.find('/', slash + 1) != std::string::npos)) {
    return path + ".repository must be \"owner/repo\" for type github";
  }
  if (out.type != "github" && !out.repository.empty()) return path + ".repository is only for type github";
  if (auto ns = n["namespaces"]) {
    if (!ns.IsSequence()) return path + ".namespaces must be a list of namespace names";
    for (const auto& x : ns) {
      auto name = x.as<std::string>();
      if (!validLabel(name)) return path + ".namespaces: \"" + name + "\" is not a namespace name";
      out.namespaces.push_back(name);
    }
  }
  out.caFile = text("caFile");
  if (n["insecureSkipVerify"]) out.insecureSkipVerify = n["insecureSkipVerify"].as<bool>();
  return {};
}

}  // namespace

// The first key of a mapping that is not one of known, prefixed with where
// ("models.openai.pricee"); "" when every key is known. A misspelt nested key
// is refused like a misspelt top-level one, never silently ignored.
std::string unknownKey(const YAML::Node& node, const std::string& where, std::initializer_list<const char*> known) {
  if (!node || !node.IsMap()) return "";
  for (const auto& kv : node) {
    auto key = kv.first.as<std::string>();
    if (std::find_if(known.begin(), known.end(), [&](const char* k) { return key == k; }) == known.end()) {
      return where + "." + key;
    }
  }
  return "";
}

// node[key] when node is a mapping that has it, else an undefined node
// (never creating the key, never throwing on a missing parent).
YAML::Node child(const YAML::Node& node, const char* key) {
  if (!node || !node.IsMap() || !node[key]) return YAML::Node(YAML::NodeType::Undefined);
  return node[key];
}

kube::Result<OperatorConfig> parseOperatorConfig(const std::string& text, const std::string& source) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return invalid(source, std::string("not valid YAML: ") + e.what());
  }
  OperatorConfig cfg;
  if (root.IsNull()) return cfg;
  if (!root.IsMap()) return invalid(source, "must be a YAML mapping");
  static const std::vector<std::string> known = {"workers", "defaultModel", "models", "limits", "tools",
                                                 "watchNamespace", "health", "leaderElection", "requester",
                                                 "concurrency", "statusWriteIntervalMilliseconds",
                                                 "statusProgressWritesPerSecond", "metrics", "actions",
                                                 "eventTriggers", "tracing", "web"};
  std::vector<std::string> seen;
  for (const auto& kv : root) {
    // A key that is itself a mapping or a list ("? [a]: 1") is no field name.
    if (!kv.first.IsScalar()) return invalid(source, "a field name must be a plain string");
    auto key = kv.first.Scalar();
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return invalid(source, "unknown field \"" + key + "\"");
    }
    // yaml-cpp keeps the first of two equal keys: the second would be
    // ignored without a word.
    if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
      return invalid(source, "the field \"" + key + "\" is given twice");
    }
    seen.push_back(key);
  }
  try {
    std::vector<std::string> unknown = {
        unknownKey(child(root, "limits"), "limits", {"default", "max"}),
        unknownKey(child(child(root, "limits"), "default"), "limits.default",
                   {"maxSteps", "timeoutSeconds", "maxTokens", "maxCostUSD"}),
        unknownKey(child(child(root, "limits"), "max"), "limits.max", {"maxSteps", "timeoutSeconds", "maxTokens", "maxCostUSD"}),
        unknownKey(child(root, "tools"), "tools", {"readerUser", "maxExcerptBytes", "logTailLines", "disabled", "runbookNamespace"}),
        unknownKey(child(root, "health"), "health", {"address"}),
        unknownKey(child(root, "web"), "web", {"address"}),
        unknownKey(child(root, "concurrency"), "concurrency", {"maxNodes", "maxNodesPerNamespace"}),
        unknownKey(child(root, "leaderElection"), "leaderElection", {"enabled", "namespace", "name"}),
        unknownKey(child(root, "requester"), "requester", {"policyBinding", "whenUnverified"}),
        unknownKey(child(root, "metrics"), "metrics", {"prometheus", "namespaces"}),
        unknownKey(child(root, "actions"), "actions", {"destinations"}),
        unknownKey(child(root, "eventTriggers"), "eventTriggers", {"maxRunsPerNamespacePerHour"}),
    };
    if (auto models = child(root, "models"); models && models.IsMap()) {
      for (const auto& kv : models) {
        const std::string where = "models." + kv.first.as<std::string>();
        unknown.push_back(unknownKey(kv.second, where,
                                     {"provider", "baseURL", "model", "apiVersion", "apiKeyEnv", "apiKeySecret", "stream", "temperature",
                                      "timeoutSeconds", "maxAttempts", "requestsPerMinute", "tokensPerMinute",
                                      "breakerFailures", "breakerCooldownSeconds", "maxToolResultTokens",
                                      "maxPromptTokens", "price", "maxConcurrentCalls"}));
        unknown.push_back(unknownKey(child(kv.second, "apiKeySecret"), where + ".apiKeySecret", {"namespace", "name", "key"}));
        unknown.push_back(unknownKey(child(kv.second, "price"), where + ".price", {"inputPerMTok", "outputPerMTok"}));
      }
    }
    for (const auto& u : unknown) {
      if (!u.empty()) return invalid(source, "unknown field \"" + u + "\"");
    }
    if (auto t = child(child(root, "eventTriggers"), "maxRunsPerNamespacePerHour")) {
      cfg.triggersPerNamespacePerHour = t.as<int>();
      if (cfg.triggersPerNamespacePerHour < 0 || cfg.triggersPerNamespacePerHour > 10000) {
        return invalid(source, "eventTriggers.maxRunsPerNamespacePerHour must be between 0 (none) and 10000");
      }
    }
    if (auto d = child(child(root, "actions"), "destinations")) {
      if (!d.IsSequence()) return invalid(source, "actions.destinations must be a list");
      for (std::size_t i = 0; i < d.size(); ++i) {
        ActionDestinationConfig dc;
        if (auto err = readDestination(d[i], "actions.destinations[" + std::to_string(i) + "]", dc); !err.empty()) {
          return invalid(source, err);
        }
        if (cfg.actionDestinations.count(dc.name)) {
          return invalid(source, "actions.destinations: the name \"" + dc.name + "\" is used twice");
        }
        cfg.actionDestinations[dc.name] = dc;
      }
    }
    if (auto t = child(root, "tracing")) {
      if (!t.IsMap()) return invalid(source, "tracing must be a mapping with at least endpoint");
      if (auto u = unknownKey(t, "tracing", {"endpoint", "serviceName", "caFile", "insecureSkipVerify"}); !u.empty()) {
        return invalid(source, "unknown field \"" + u + "\"");
      }
      TracingConfig tc;
      const std::string endpoint = t["endpoint"] ? t["endpoint"].as<std::string>() : "";
      auto err = tracesEndpoint(endpoint, false, tc.endpoint);
      if (!err.empty()) return invalid(source, "tracing.endpoint " + err);
      if (t["serviceName"]) tc.serviceName = t["serviceName"].as<std::string>();
      if (tc.serviceName.empty()) return invalid(source, "tracing.serviceName must not be empty");
      if (t["caFile"]) tc.caFile = t["caFile"].as<std::string>();
      if (t["insecureSkipVerify"]) tc.insecureSkipVerify = t["insecureSkipVerify"].as<bool>();
      cfg.tracing = tc;
    }
    if (auto m = child(root, "metrics")) {
      if (!m.IsMap()) return invalid(source, "metrics must be a mapping");
      if (auto p = child(m, "prometheus")) {
        PrometheusConfig pc;
        if (auto err = readPrometheus(p, "metrics.prometheus", pc); !err.empty()) return invalid(source, err);
        if (pc.scopeLabel.empty()) {
          return invalid(source, "metrics.prometheus.scopeLabel must not be empty: the cluster's Prometheus holds every "
                                 "namespace's series, and a run may only read its own namespace's");
        }
        cfg.clusterPrometheus = pc;
      }
      if (auto ns = child(m, "namespaces")) {
        if (!ns.IsMap()) return invalid(source, "metrics.namespaces must map namespace names to a Prometheus");
        for (const auto& kv : ns) {
          const auto name = kv.first.as<std::string>();
          if (!validLabel(name)) return invalid(source, "metrics.namespaces: \"" + name + "\" is not a namespace name");
          PrometheusConfig pc;
          if (auto err = readPrometheus(kv.second, "metrics.namespaces." + name, pc); !err.empty()) return invalid(source, err);
          cfg.namespacePrometheus[name] = pc;
        }
      }
    }
    if (root["workers"]) cfg.workers = root["workers"].as<int>();
    if (cfg.workers < 1 || cfg.workers > 64) return invalid(source, "workers must be between 1 and 64");
    if (auto c = root["concurrency"]) {
      if (c["maxNodes"]) cfg.maxNodes = c["maxNodes"].as<int>();
      if (c["maxNodesPerNamespace"]) cfg.maxNodesPerNamespace = c["maxNodesPerNamespace"].as<int>();
      if (cfg.maxNodes < 1 || cfg.maxNodes > 1024) return invalid(source, "concurrency.maxNodes must be between 1 and 1024");
      if (cfg.maxNodesPerNamespace < 1 || cfg.maxNodesPerNamespace > cfg.maxNodes) {
        return invalid(source, "concurrency.maxNodesPerNamespace must be between 1 and concurrency.maxNodes");
      }
    }
    if (auto i = root["statusWriteIntervalMilliseconds"]) {
      const int ms = i.as<int>();
      if (ms < 0 || ms > 10000) return invalid(source, "statusWriteIntervalMilliseconds must be between 0 and 10000");
      cfg.statusWriteInterval = std::chrono::milliseconds(ms);
    }
    if (auto r = root["statusProgressWritesPerSecond"]) {
      cfg.statusProgressWritesPerSecond = r.as<double>();
      if (cfg.statusProgressWritesPerSecond < 0 || cfg.statusProgressWritesPerSecond > 10000) {
        return invalid(source, "statusProgressWritesPerSecond must be between 0 (no limit) and 10000");
      }
    }
    if (auto models = root["models"]) {
      if (!models.IsMap()) return invalid(source, "models must be a mapping of profile name to settings");
      for (const auto& kv : models) {
        ModelProfile p;
        p.name = kv.first.as<std::string>();
        if (kv.second["provider"] && kv.second["provider"].as<std::string>() == "builtin") p.maxConcurrentCalls = 0;
        const auto& m = kv.second;
        const std::string where = "models." + p.name;
        p.provider = m["provider"] ? m["provider"].as<std::string>() : "";
        if (p.provider != "builtin" && p.provider != "openai" && p.provider != "azure-openai" &&
            p.provider != "anthropic") {
          return invalid(source, where + ".provider must be builtin, openai, azure-openai or anthropic");
        }
        auto text = [&](const char* k) { return m[k] ? m[k].as<std::string>() : std::string(); };
        p.baseURL = text("baseURL");
        p.model = text("model");
        p.apiVersion = text("apiVersion");
        p.apiKeyEnv = text("apiKeyEnv");
        if (auto sec = m["apiKeySecret"]) {
          p.apiKeySecretNamespace = sec["namespace"] ? sec["namespace"].as<std::string>() : "";
          p.apiKeySecretName = sec["name"] ? sec["name"].as<std::string>() : "";
          p.apiKeySecretKey = sec["key"] ? sec["key"].as<std::string>() : "apiKey";
          if (p.apiKeySecretNamespace.empty() || p.apiKeySecretName.empty()) {
            return invalid(source, where + ".apiKeySecret needs namespace and name");
          }
        }
        if (m["stream"]) p.stream = m["stream"].as<bool>();
        if (m["temperature"]) {
          p.temperature = m["temperature"].as<double>();
          if (!(*p.temperature >= 0 && *p.temperature <= 2)) return invalid(source, where + ".temperature must be between 0 and 2");
        }
        if (m["timeoutSeconds"]) p.timeoutSeconds = m["timeoutSeconds"].as<int>();
        if (m["maxAttempts"]) p.maxAttempts = m["maxAttempts"].as<int>();
        if (m["requestsPerMinute"]) p.requestsPerMinute = m["requestsPerMinute"].as<int>();
        if (m["tokensPerMinute"]) p.tokensPerMinute = m["tokensPerMinute"].as<int>();
        if (m["breakerFailures"]) p.breakerFailures = m["breakerFailures"].as<int>();
        if (m["breakerCooldownSeconds"]) p.breakerCooldownSeconds = m["breakerCooldownSeconds"].as<int>();
        if (m["maxToolResultTokens"]) p.maxToolResultTokens = m["maxToolResultTokens"].as<int>();
        if (m["maxPromptTokens"]) p.maxPromptTokens = m["maxPromptTokens"].as<int>();
        if (m["maxConcurrentCalls"]) p.maxConcurrentCalls = m["maxConcurrentCalls"].as<int>();
        if (p.maxConcurrentCalls < 0) return invalid(source, where + ".maxConcurrentCalls must be 0 (no limit) or more");
        if (auto price = m["price"]) {
          for (auto [key, out] : {std::pair{"inputPerMTok", &p.inputMicroUSDPerMTok}, {"outputPerMTok", &p.outputMicroUSDPerMTok}}) {
            if (!price[key]) continue;
            auto micro = agent::parseMicroUSD(price[key].as<std::string>());
            if (!micro) return invalid(source, where + ".price." + key + " must be a decimal USD amount like \"2.50\"");
            *out = *micro;
          }
        }
        if (p.provider != "builtin") {
          if (p.baseURL.rfind("http://", 0) != 0 && p.baseURL.rfind("https://", 0) != 0) {
            return invalid(source, where + ".baseURL must be an http:// or https:// URL");
          }
          if (p.model.empty()) return invalid(source, where + ".model is required");
          if (p.timeoutSeconds < 1 || p.maxAttempts < 1 || p.breakerFailures < 1) {
            return invalid(source, where + ": timeoutSeconds, maxAttempts and breakerFailures must be at least 1");
          }
        }
        cfg.models[p.name] = p;
      }
    }
    if (root["defaultModel"]) cfg.defaultModel = root["defaultModel"].as<std::string>();
    if (!cfg.models.count(cfg.defaultModel)) {
      return invalid(source, "defaultModel \"" + cfg.defaultModel + "\" is not a profile under models");
    }
    if (auto limits = root["limits"]) {
      if (auto err = readLimits(limits["default"], "limits.default", cfg.defaultLimits); !err.empty()) {
        return invalid(source, err);
      }
      if (auto err = readLimits(limits["max"], "limits.max", cfg.maxLimits); !err.empty()) return invalid(source, err);
    }
    const auto& d = cfg.defaultLimits;
    const auto& m = cfg.maxLimits;
    if (d.maxSteps > m.maxSteps || d.timeout > m.timeout || d.maxTokens > m.maxTokens ||
        d.maxCostMicroUSD > m.maxCostMicroUSD) {
      return invalid(source, "limits.default must not exceed limits.max");
    }
    if (auto tools = root["tools"]) {
      if (tools["readerUser"]) cfg.readerUser = tools["readerUser"].as<std::string>();
      if (tools["maxExcerptBytes"]) cfg.maxExcerptBytes = tools["maxExcerptBytes"].as<std::size_t>();
      if (tools["logTailLines"]) cfg.logTailLines = tools["logTailLines"].as<std::int64_t>();
      if (tools["disabled"]) cfg.disabledTools = tools["disabled"].as<std::vector<std::string>>();
      if (tools["runbookNamespace"]) cfg.runbookNamespace = tools["runbookNamespace"].as<std::string>();
      if (!cfg.runbookNamespace.empty() && !validLabel(cfg.runbookNamespace)) {
        return invalid(source, "tools.runbookNamespace must be a namespace name (or \"\" for none), not \"" +
                                   cfg.runbookNamespace + "\"");
      }
      // Runs never plan or run a disabled tool (RunSpec::toolAllowed); a name
      // that is no tool is a mistake to report, not a silent no-op.
      const auto names = tools::builtinToolNames();
      for (const auto& t : cfg.disabledTools) {
        if (std::find(names.begin(), names.end(), t) == names.end()) {
          std::string list;
          for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
          return invalid(source, "tools.disabled: \"" + t + "\" is not a tool (tools: " + list + ")");
        }
      }
      if (cfg.readerUser.find("{namespace}") == std::string::npos) {
        // One identity for every namespace would let a run in one namespace
        // read another's: the reader must be per namespace.
        return invalid(source, "tools.readerUser must contain {namespace} (e.g. "
                               "\"system:serviceaccount:{namespace}:opscopilot-reader\")");
      }
      if (cfg.maxExcerptBytes < 256 || cfg.maxExcerptBytes > 65536) {
        return invalid(source, "tools.maxExcerptBytes must be between 256 and 65536");
      }
    }
    if (root["watchNamespace"]) cfg.watchNamespace = root["watchNamespace"].as<std::string>();
    if (auto web = root["web"]) {
      if (web["address"]) cfg.webAddress = web["address"].as<std::string>();
      if (!cfg.webAddress.empty() && cfg.webAddress.rfind(':') == std::string::npos) {
        return invalid(source, "web.address must be host:port (e.g. \"0.0.0.0:8082\"), not \"" + cfg.webAddress + "\"");
      }
    }
    if (auto h = root["health"]) {
      if (h["address"]) cfg.healthAddress = h["address"].as<std::string>();
    }
    if (auto rq = root["requester"]) {
      if (rq["policyBinding"]) cfg.requesterPolicyBinding = rq["policyBinding"].as<std::string>();
      if (cfg.requesterPolicyBinding.empty()) {
        return invalid(source, "requester.policyBinding must name the ValidatingAdmissionPolicyBinding that checks "
                               "spec.requester (e.g. \"opscopilot-diagnosticrun-requester\")");
      }
      if (rq["whenUnverified"]) {
        const auto mode = rq["whenUnverified"].as<std::string>();
        if (mode == "Refuse") {
          cfg.whenRequesterUnverified = OperatorConfig::WhenUnverified::Refuse;
        } else if (mode == "ReaderOnly") {
          cfg.whenRequesterUnverified = OperatorConfig::WhenUnverified::ReaderOnly;
        } else {
          return invalid(source, "requester.whenUnverified must be Refuse or ReaderOnly, not \"" + mode + "\"");
        }
      }
    }
    if (auto le = root["leaderElection"]) {
      if (le["enabled"]) cfg.leaderElection = le["enabled"].as<bool>();
      if (le["namespace"]) cfg.leaseNamespace = le["namespace"].as<std::string>();
      if (le["name"]) cfg.leaseName = le["name"].as<std::string>();
    }
  } catch (const YAML::Exception& e) {
    return invalid(source, std::string("a field has the wrong type: ") + e.what());
  }
  return cfg;
}

kube::Result<OperatorConfig> loadOperatorConfig(const std::string& path) {
  auto text = kube::readFile(path);
  if (!text.ok()) return invalid(path, "cannot be read");
  return parseOperatorConfig(*text, path);
}

}  // namespace opscopilot::controller
