// Requester: who asked for a run, as the API server saw them when the
// DiagnosticRun was created (spec.requester, stamped or checked at admission;
// see docs/DESIGN.md, "Whose rights a run uses"). Every tool read of the run
// is allowed only if both the namespace's reader identity and this requester
// may make it.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace opscopilot::agent {

struct Requester {
  std::string username;  // request.userInfo.username, e.g. "alice" or "system:serviceaccount:argocd:argocd-application-controller"
  std::string uid;       // request.userInfo.uid, when the authenticator gives one
  std::vector<std::string> groups;
  std::map<std::string, std::vector<std::string>> extra;

  bool operator==(const Requester&) const = default;
};

}  // namespace opscopilot::agent
