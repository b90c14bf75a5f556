// WebTimeline: a read-only web view of the runs, served by the operator on a
// port of its own (operator config `web.address`; off by default). The page
// lists the runs and shows one as a timeline: its steps, evidence, findings,
// cost, approvals and answer, updated live over Server-Sent Events as the
// run's status changes. It serves GET only: nothing on it writes anything.
//
//   GET /                       the page (operator/web: index.html, app.js, style.css)
//   GET /api/runs               the runs in the cache, newest first (JSON)
//   GET /api/runs/NS/NAME       one run: spec, status, its ApprovalRequests (JSON)
//   GET /api/events             Server-Sent Events: "run" with {namespace, name, phase, ...}
//                               whenever a run changes; a comment every 15 s
//
// Every body leaves through the redactor (statuses were redacted when
// written; this is the sink's own guard). Whoever reaches the port reads
// every run the operator watches: keep it behind a ClusterIP Service and
// kubectl port-forward, or an authenticating proxy.
//
// Thread safety: runChanged() may be called from any thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "operator/kube/object.h"
#include "operator/kube/result.h"

namespace opscopilot::controller {

class WebTimeline {
 public:
  struct Source {
    std::function<std::vector<kube::ObjectPtr>()> runs;                                          // the cache
    std::function<kube::Result<kube::ObjectPtr>(const std::string& ns, const std::string& name)> run;  // the whole run
    std::function<std::vector<kube::ObjectPtr>(const std::string& ns, const std::string& name)> approvals;
  };
  // Listens on "host:port" (port 0 picks one). Fails when it cannot.
  static kube::Result<std::unique_ptr<WebTimeline>> start(const std::string& address, Source source);
  virtual ~WebTimeline() = default;
  virtual int port() const = 0;
  // A run was added, changed or deleted: tells every page that listens.
  virtual void runChanged(const kube::Object& run, bool deleted) = 0;
};

// The JSON bodies (for tests): the list, and one run with its approvals.
std::string runsJson(const std::vector<kube::ObjectPtr>& runs);
std::string runJson(const kube::Object& run, const std::vector<kube::ObjectPtr>& approvals);

}  // namespace opscopilot::controller
