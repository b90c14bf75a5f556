#include "operator/controller/requester.h"

#include <rapidjson/document.h>

#include "operator/controller/approval.h"

namespace opscopilot::controller {

namespace {

const kube::ResourceRef kPolicyBindings{"admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings", false};
const kube::ResourceRef kPolicies{"admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", false};

bool has(const std::vector<std::string>& list, std::string_view a, std::string_view b = {}) {
  for (const auto& s : list) {
    if (s == a || (!b.empty() && s == b)) return true;
  }
  return false;
}

// A label selector that selects everything: absent, or without terms.
bool selectsAll(const rapidjson::Value* sel) {
  if (!sel || !sel->IsObject()) return true;
  for (const char* k : {"matchLabels", "matchExpressions"}) {
    const auto* v = kube::member(*sel, k);
    if (v && ((v->IsObject() && v->MemberCount() > 0) || (v->IsArray() && !v->Empty()))) return false;
  }
  return true;
}

// Empty when `match` (a binding's matchResources or a policy's
// matchConstraints) narrows nothing beyond its resource rules; otherwise
// what narrows it.
std::string narrowing(const rapidjson::Value* match) {
  if (!match || !match->IsObject()) return {};
  if (!selectsAll(kube::member(*match, "namespaceSelector"))) return "a namespaceSelector";
  if (!selectsAll(kube::member(*match, "objectSelector"))) return "an objectSelector";
  if (const auto* ex = kube::member(*match, "excludeResourceRules"); ex && ex->IsArray() && !ex->Empty()) {
    return "excludeResourceRules";
  }
  return {};
}

bool coversCreation(const rapidjson::Value* rules, const char* resource) {
  if (!rules || !rules->IsArray()) return false;
  for (const auto& r : rules->GetArray()) {
    if (!r.IsObject()) continue;
    if (has(kube::stringValues(kube::member(r, "apiGroups")), "opscopilot.io", "*") &&
        has(kube::stringValues(kube::member(r, "resources")), resource, "*") &&
        has(kube::stringValues(kube::member(r, "operations")), "CREATE", "*")) {
      return true;
    }
  }
  return false;
}

}  // namespace

std::optional<agent::Requester> requesterFrom(const kube::Object& run) {
  const auto* r = run.at({"spec", "requester"});
  if (!r || !r->IsObject()) return std::nullopt;
  agent::Requester out;
  out.username = std::string(kube::stringMember(*r, "username"));
  if (out.username.empty()) return std::nullopt;
  out.uid = std::string(kube::stringMember(*r, "uid"));
  out.groups = kube::stringValues(kube::member(*r, "groups"));
  if (const auto* extra = kube::member(*r, "extra"); extra && extra->IsObject()) {
    for (const auto& m : extra->GetObject()) {
      out.extra[std::string(m.name.GetString(), m.name.GetStringLength())] = kube::stringValues(&m.value);
    }
  }
  return out;
}

std::string describeRequester(const agent::Requester& r) {
  std::string s = r.username;
  if (!r.groups.empty()) {
    s += " (groups: ";
    for (std::size_t i = 0; i < r.groups.size(); ++i) s += (i ? ", " : "") + r.groups[i];
    s += ")";
  }
  return s;
}

RequesterPolicy::RequesterPolicy(std::shared_ptr<kube::Client> client, std::string bindingName,
                                 std::chrono::milliseconds ttl)
    : client_(std::move(client)), binding_(std::move(bindingName)), ttl_(ttl) {}

RequesterPolicy::InForce RequesterPolicy::read() {
  InForce f;
  const std::string bindingText = "the ValidatingAdmissionPolicyBinding " + binding_;
  auto binding = client_->get(kPolicyBindings, "", binding_);
  if (!binding.ok()) {
    f.why = binding.error().isNotFound() ? bindingText + " that checks spec.requester is not installed"
                                         : "cannot read " + bindingText + ": " + binding.error().toString();
    f.transient = !binding.error().isNotFound() && !binding.error().isForbidden();
    return f;
  }
  const std::string policyName((*binding)->stringAt({"spec", "policyName"}));
  if (!has(kube::stringValues((*binding)->at({"spec", "validationActions"})), "Deny")) {
    f.why = bindingText + " does not deny (validationActions lacks Deny)";
    return f;
  }
  if ((*binding)->at({"spec", "paramRef"})) {
    f.why = bindingText + " has a paramRef; the requester policy takes no parameters";
    return f;
  }
  if (auto n = narrowing((*binding)->at({"spec", "matchResources"})); !n.empty()) {
    f.why = bindingText + " does not cover every run (it has " + n + ")";
    return f;
  }
  if (policyName.empty()) {
    f.why = bindingText + " names no policy";
    return f;
  }
  const std::string policyText = "the ValidatingAdmissionPolicy " + policyName;
  auto policy = client_->get(kPolicies, "", policyName);
  if (!policy.ok()) {
    f.why = policy.error().isNotFound() ? policyText + " (bound by " + binding_ + ") is not installed"
                                        : "cannot read " + policyText + ": " + policy.error().toString();
    f.transient = !policy.error().isNotFound() && !policy.error().isForbidden();
    return f;
  }
  if ((*policy)->stringAt({"spec", "failurePolicy"}) == "Ignore") {
    f.why = policyText + " has failurePolicy Ignore";
    return f;
  }
  const auto* rules = (*policy)->at({"spec", "matchConstraints", "resourceRules"});
  if (!coversCreation(rules, "diagnosticruns")) {
    f.why = policyText + " does not match the creation of diagnosticruns.opscopilot.io";
    return f;
  }
  f.schedules = coversCreation(rules, "diagnosticschedules");
  f.policyText = policyText;
  if (auto n = narrowing((*policy)->at({"spec", "matchConstraints"})); !n.empty()) {
    f.why = policyText + " does not cover every run (it has " + n + ")";
    return f;
  }
  auto b = parseRfc3339((*binding)->stringAt({"metadata", "creationTimestamp"}));
  auto p = parseRfc3339((*policy)->stringAt({"metadata", "creationTimestamp"}));
  if (!b || !p) {
    f.why = "cannot tell since when " + bindingText + " is in force";
    return f;
  }
  f.ok = true;
  f.since = std::max(*b, *p);
  return f;
}

RequesterPolicy::Verdict RequesterPolicy::check(const kube::Object& run, bool schedule) {
  InForce f;
  {
    std::lock_guard lock(mu_);
    const auto now = std::chrono::steady_clock::now();
    if (!cached_ || now - readAt_ >= ttl_) {
      f = read();
      if (f.transient) return {false, f.why, true};  // not cached: the next run asks again
      cached_ = f;
      readAt_ = now;
    }
    f = *cached_;
  }
  if (!f.ok) return {false, f.why, false};
  const std::string what = schedule ? "schedule" : "run";
  if (schedule && !f.schedules) {
    return {false, f.policyText + " does not match the creation of diagnosticschedules.opscopilot.io"};
  }
  if (!requesterFrom(run)) return {false, "the " + what + " has no spec.requester"};
  auto created = parseRfc3339(run.stringAt({"metadata", "creationTimestamp"}));
  if (!created || *created < f.since + kPropagation) {
    return {false, "the " + what + " was created before the ValidatingAdmissionPolicyBinding " + binding_ +
                       " that checks spec.requester was in force"};
  }
  return {true, {}};
}

}  // namespace opscopilot::controller
