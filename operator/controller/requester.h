// Who asked for a run, and whether to believe it.
//
// spec.requester is written at admission: a MutatingAdmissionPolicy stamps
// request.userInfo into it where the cluster serves one, and a
// ValidatingAdmissionPolicy refuses a run whose requester is not the user
// creating it (username equal, groups a subset, uid and extra absent or
// equal). The CRD keeps it immutable. The controller believes the field only
// while that validating policy is in force: its binding denies, covers every
// run, and existed before the run was created (a run created earlier, or
// while the policy was missing, may carry any name).
#pragma once

#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "agent/requester.h"
#include "operator/kube/client.h"

namespace opscopilot::controller {

// spec.requester as a Requester; nullopt when absent or without a username.
std::optional<agent::Requester> requesterFrom(const kube::Object& run);

// "alice (groups: dev, system:authenticated)".
std::string describeRequester(const agent::Requester& r);

// Whether admission vouches for spec.requester. Reads the binding and its
// policy (as the operator, which needs `get` on both) at most once per ttl.
// Thread-safe.
class RequesterPolicy {
 public:
  // How long after the binding's creation a run must be created to count as
  // checked by it: the API server takes a moment to load a new policy.
  static constexpr std::chrono::seconds kPropagation{2};

  RequesterPolicy(std::shared_ptr<kube::Client> client, std::string bindingName,
                  std::chrono::milliseconds ttl = std::chrono::seconds(5));

  struct Verdict {
    bool trusted = false;
    std::string why;  // when not trusted: one sentence
    // The policy could not be read (an API error other than NotFound or
    // Forbidden): retry later rather than judge the run.
    bool transient = false;
  };
  // For a DiagnosticRun, or a DiagnosticSchedule (schedule: the policy must
  // match the creation of schedules too).
  Verdict check(const kube::Object& run, bool schedule = false);

 private:
  struct InForce {
    bool ok = false;
    bool transient = false;
    std::string why;  // when !ok
    std::chrono::system_clock::time_point since;  // the later creation of binding and policy
    bool schedules = false;  // the policy checks the creation of DiagnosticSchedules too
    std::string policyText;
  };
  InForce read();

  std::shared_ptr<kube::Client> client_;
  std::string binding_;
  std::chrono::milliseconds ttl_;
  std::mutex mu_;
  std::optional<InForce> cached_;
  std::chrono::steady_clock::time_point readAt_{};
};

}  // namespace opscopilot::controller
