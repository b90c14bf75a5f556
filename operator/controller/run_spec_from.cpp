#include "operator/controller/run_spec_from.h"

#include <rapidjson/document.h>

#include <algorithm>

#include "tools/selector.h"

namespace opscopilot::controller {

namespace {

std::string limitText(const agent::Limits& l) {
  return std::to_string(l.maxSteps) + " steps, " + std::to_string(l.timeout.count()) + "s";
}

}  // namespace

kube::Result<agent::RunSpec> runSpecFrom(const kube::Object& run, const OperatorConfig& config) {
  auto invalid = [](std::string m) { return kube::Error{0, "InvalidSpec", std::move(m)}; };
  const auto* spec = run.at({"spec"});
  if (!spec || !spec->IsObject()) return invalid("spec is missing");
  agent::RunSpec rs;
  rs.ns = std::string(run.ns());
  rs.question = std::string(kube::stringMember(*spec, "question"));
  if (rs.question.empty()) return invalid("spec.question is required");
  if (const auto* t = kube::member(*spec, "target"); t && t->IsObject()) {
    rs.targetKind = std::string(kube::stringMember(*t, "kind"));
    rs.targetName = std::string(kube::stringMember(*t, "name"));
    if (const auto* sel = kube::member(*t, "selector"); sel && sel->IsObject()) {
      rs.targetSelector = tools::selectorToString(*sel);
    }
    if (!rs.targetKind.empty() && rs.targetName.empty() && rs.targetSelector.empty()) {
      return invalid("spec.target needs a name or a selector");
    }
  }
  rs.model = std::string(kube::stringMember(*spec, "model"));
  if (rs.model.empty()) rs.model = config.defaultModel;
  if (!config.models.count(rs.model)) {
    return invalid("spec.model \"" + rs.model + "\" is not a model profile of this operator (configured: " +
                   [&] {
                     std::string names;
                     for (const auto& [n, p] : config.models) names += (names.empty() ? "" : ", ") + n;
                     return names;
                   }() +
                   ")");
  }
  rs.limits = config.defaultLimits;
  if (const auto* l = kube::member(*spec, "limits"); l && l->IsObject()) {
    if (const auto* v = kube::member(*l, "maxSteps"); v && v->IsInt()) rs.limits.maxSteps = v->GetInt();
    if (const auto* v = kube::member(*l, "timeoutSeconds"); v && v->IsInt()) {
      rs.limits.timeout = std::chrono::seconds(v->GetInt());
    }
    if (const auto* v = kube::member(*l, "maxTokens"); v && v->IsInt64()) rs.limits.maxTokens = v->GetInt64();
    if (const auto* v = kube::member(*l, "maxCostUSD"); v && v->IsString()) {
      auto micro = agent::parseMicroUSD(v->GetString());
      if (!micro) return invalid(std::string("spec.limits.maxCostUSD \"") + v->GetString() + "\" is not a decimal amount");
      rs.limits.maxCostMicroUSD = *micro;
    }
  }
  const auto& m = config.maxLimits;
  if (rs.limits.maxSteps > m.maxSteps || rs.limits.timeout > m.timeout || rs.limits.maxTokens > m.maxTokens ||
      rs.limits.maxCostMicroUSD > m.maxCostMicroUSD) {
    return invalid("spec.limits exceed this operator's maximum (" + limitText(m) + ")");
  }
  if (rs.limits.maxSteps < 1) return invalid("spec.limits.maxSteps must be at least 1");
  if (const auto* c = kube::member(*spec, "critic"); c && c->IsBool()) rs.critic = c->GetBool();
  rs.previousRun = std::string(kube::stringMember(*spec, "previousRun"));
  if (const auto* tools = kube::member(*spec, "tools"); tools && tools->IsArray()) {
    for (const auto& t : tools->GetArray()) {
      if (t.IsString()) rs.allowedTools.emplace_back(t.GetString());
    }
  }
  rs.runName = std::string(run.name());
  rs.runUID = std::string(run.uid());
  rs.generation = run.generation();
  if (const auto* actions = kube::member(*spec, "actions"); actions && actions->IsArray()) {
    for (rapidjson::SizeType i = 0; i < actions->Size(); ++i) {
      const auto& a = (*actions)[i];
      if (!a.IsObject()) continue;
      const std::string where = "spec.actions[" + std::to_string(i) + "]";
      const std::string type(kube::stringMember(a, "type"));
      agent::RunAction ra;
      ra.tool = type == "CreateTicket" ? "create_ticket" : "notify";
      ra.destination = std::string(kube::stringMember(a, "destination"));
      ra.always = kube::stringMember(a, "when") == "Always";
      const std::string wanted = type == "CreateTicket" ? "ticket" : "notify";
      std::string offered;
      for (const auto& [name, d] : config.actionDestinations) {
        if (d.action == wanted && d.allows(rs.ns)) offered += (offered.empty() ? "" : ", ") + name;
      }
      auto it = config.actionDestinations.find(ra.destination);
      if (it == config.actionDestinations.end() || it->second.action != wanted || !it->second.allows(rs.ns)) {
        return invalid(where + ".destination \"" + ra.destination + "\" is not a " + wanted +
                       " destination this operator offers namespace " + rs.ns +
                       (offered.empty() ? " (it offers none)" : " (offered: " + offered + ")"));
      }
      rs.actions.push_back(std::move(ra));
    }
  }
  rs.disabledTools = config.disabledTools;
  // The action tools only for what spec.actions names: a model can send
  // nowhere a person did not ask for.
  for (const char* tool : {"notify", "create_ticket"}) {
    if (std::none_of(rs.actions.begin(), rs.actions.end(), [&](const agent::RunAction& a) { return a.tool == tool; })) {
      rs.disabledTools.emplace_back(tool);
    }
  }
  // No Prometheus for the namespace: the tool is not offered (nor planned).
  if (!config.hasMetrics(rs.ns)) rs.disabledTools.push_back("query_metrics");
  return rs;
}

}  // namespace opscopilot::controller
