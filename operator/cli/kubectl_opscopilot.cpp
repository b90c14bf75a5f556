// kubectl-opscopilot: the kubectl plugin. On PATH, kubectl runs it as
// `kubectl opscopilot ...`:
//
//   ask "QUESTION" [--target KIND/NAME] [--model PROFILE] [--name NAME] [--no-follow] [--timeout DURATION]
//       creates a DiagnosticRun and follows it with a watch: each step,
//       evidence item and finding as it lands, then the cited answer. Exits 0
//       when the run succeeded, 1 when it failed or the timeout passed.
//   get [NAME] [-A]        the runs as a table, or one run as a tree
//   describe NAME          one run in full: evidence excerpts, conditions, ApprovalRequests
//   approve NAME [--reason TEXT] / deny NAME [--reason TEXT]
//       decides an ApprovalRequest (NAME, or the one run NAME waits for),
//       with decidedBy the caller as the API server knows them (SelfSubjectReview)
//   logs NAME              the run's Events
//
// Everywhere: -n/--namespace, --kubeconfig, --context (and $KUBECONFIG), as kubectl.
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "agent/redacted.h"
#include "operator/cli/run_view.h"
#include "operator/controller/run_reconciler.h"
#include "operator/controller/schedule_reconciler.h"
#include "operator/kube/client.h"
#include "operator/kube/config.h"
#include "operator/kube/watch_decoder.h"

using namespace opscopilot;

namespace {

constexpr const char* kUsage = R"(Ask OpsCopilot, and follow its DiagnosticRuns.

Usage:
  kubectl opscopilot ask "QUESTION" [--target KIND/NAME] [--model PROFILE] [--name NAME] [--no-follow] [--timeout 10m]
  kubectl opscopilot get [NAME] [-A]
  kubectl opscopilot describe NAME
  kubectl opscopilot approve NAME [--reason TEXT]
  kubectl opscopilot deny NAME [--reason TEXT]
  kubectl opscopilot logs NAME

NAME for approve and deny is an ApprovalRequest, or a run waiting for one.
KIND is a kind or kubectl's short name: pod (po), deployment (deploy),
statefulset (sts), daemonset (ds), replicaset (rs), job, cronjob (cj),
service (svc), persistentvolumeclaim (pvc), ingress (ing),
horizontalpodautoscaler (hpa), node (no), namespace (ns).

Options for every command: -n, --namespace NS; --kubeconfig PATH; --context NAME.
)";

struct Args {
  std::string command;
  std::vector<std::string> positional;
  std::map<std::string, std::string> flags;  // --flag value
  bool allNamespaces = false, noFollow = false;
};

int usage(const std::string& problem = {}) {
  if (!problem.empty()) std::cerr << "error: " << problem << "\n\n";
  std::cerr << kUsage;
  return 2;
}

std::optional<Args> parse(int argc, char** argv, std::string& problem) {
  Args a;
  static const std::map<std::string, std::string> withValue{
      {"-n", "namespace"}, {"--namespace", "namespace"}, {"--kubeconfig", "kubeconfig"}, {"--context", "context"},
      {"--target", "target"}, {"--model", "model"}, {"--name", "name"}, {"--reason", "reason"}, {"--timeout", "timeout"}};
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "-A" || arg == "--all-namespaces") {
      a.allNamespaces = true;
      continue;
    }
    if (arg == "--no-follow") {
      a.noFollow = true;
      continue;
    }
    if (arg == "-h" || arg == "--help") {
      a.command = "help";
      return a;
    }
    std::string flag = arg, value;
    bool inline_ = false;
    if (auto eq = arg.find('='); arg.rfind("--", 0) == 0 && eq != std::string::npos) {
      flag = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      inline_ = true;
    }
    if (auto it = withValue.find(flag); it != withValue.end()) {
      if (!inline_) {
        if (i + 1 >= argc) {
          problem = flag + " needs a value";
          return std::nullopt;
        }
        value = argv[++i];
      }
      a.flags[it->second] = value;
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-') {
      problem = "unknown flag " + arg;
      return std::nullopt;
    }
    if (a.command.empty()) {
      a.command = arg;
    } else {
      a.positional.push_back(arg);
    }
  }
  return a;
}

std::string flag(const Args& a, const std::string& name) {
  auto it = a.flags.find(name);
  return it == a.flags.end() ? "" : it->second;
}

// "deploy/checkout" -> {Deployment, checkout}; kubectl's short names too.
std::optional<std::pair<std::string, std::string>> parseTarget(const std::string& text) {
  static const std::map<std::string, std::string> kinds{
      {"pod", "Pod"}, {"po", "Pod"}, {"pods", "Pod"},
      {"deployment", "Deployment"}, {"deploy", "Deployment"}, {"deployments", "Deployment"},
      {"statefulset", "StatefulSet"}, {"sts", "StatefulSet"}, {"statefulsets", "StatefulSet"},
      {"daemonset", "DaemonSet"}, {"ds", "DaemonSet"}, {"daemonsets", "DaemonSet"},
      {"replicaset", "ReplicaSet"}, {"rs", "ReplicaSet"}, {"replicasets", "ReplicaSet"},
      {"job", "Job"}, {"jobs", "Job"}, {"cronjob", "CronJob"}, {"cj", "CronJob"}, {"cronjobs", "CronJob"},
      {"service", "Service"}, {"svc", "Service"}, {"services", "Service"},
      {"persistentvolumeclaim", "PersistentVolumeClaim"}, {"pvc", "PersistentVolumeClaim"},
      {"persistentvolumeclaims", "PersistentVolumeClaim"},
      {"ingress", "Ingress"}, {"ing", "Ingress"}, {"ingresses", "Ingress"},
      {"horizontalpodautoscaler", "HorizontalPodAutoscaler"}, {"hpa", "HorizontalPodAutoscaler"},
      {"horizontalpodautoscalers", "HorizontalPodAutoscaler"},
      {"node", "Node"}, {"no", "Node"}, {"nodes", "Node"}, {"namespace", "Namespace"}, {"ns", "Namespace"}};
  auto slash = text.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == text.size()) return std::nullopt;
  std::string kind = text.substr(0, slash);
  for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (auto dot = kind.find('.'); dot != std::string::npos) kind = kind.substr(0, dot);  // deployments.apps
  auto it = kinds.find(kind);
  if (it == kinds.end()) return std::nullopt;
  return std::make_pair(it->second, text.substr(slash + 1));
}

// "90s", "10m", "1h" (kubectl's --timeout forms); nullopt when malformed.
std::optional<std::chrono::seconds> parseDuration(const std::string& text) {
  if (text.size() < 2) return std::nullopt;
  char unit = text.back();
  const std::string digits = text.substr(0, text.size() - 1);
  if (digits.find_first_not_of("0123456789") != std::string::npos) return std::nullopt;
  long n = std::stol(digits);
  switch (unit) {
    case 's': return std::chrono::seconds(n);
    case 'm': return std::chrono::seconds(n * 60);
    case 'h': return std::chrono::seconds(n * 3600);
  }
  return std::nullopt;
}

std::int64_t now() { return static_cast<std::int64_t>(std::time(nullptr)); }

std::string jsonString(const std::string& s) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
  return buf.GetString();
}

int fail(const std::string& what, const kube::Error& e) {
  std::cerr << "error: " << what << ": " << (e.message.empty() ? e.reason : e.message) << "\n";
  return 1;
}

struct Session {
  std::shared_ptr<kube::Client> client;
  std::string ns;
};

std::vector<kube::ObjectPtr> approvalsOf(Session& s, const kube::Object& run) {
  std::vector<kube::ObjectPtr> out;
  auto list = s.client->list(controller::kApprovalRequests, s.ns);
  if (!list.ok()) return out;
  for (const auto& a : list->items) {
    if (a->stringAt({"spec", "runRef", "name"}) == run.name()) out.push_back(a);
  }
  return out;
}

// Follows the run with a watch until it finishes or the deadline passes.
int follow(Session& s, const std::string& name, std::chrono::steady_clock::time_point deadline) {
  cli::RunFollower follower;
  kube::ListOptions lo;
  lo.fieldSelector = "metadata.name=" + name;
  std::string rv;
  bool relist = true;
  while (std::chrono::steady_clock::now() < deadline) {
    if (relist) {
      auto page = s.client->list(controller::kDiagnosticRuns, s.ns, lo);
      if (!page.ok()) return fail("reading the run", page.error());
      if (page->items.empty()) {
        std::cerr << "error: diagnosticrun " << name << " not found in " << s.ns << "\n";
        return 1;
      }
      std::cout << follower.update(*page->items.front()) << std::flush;
      if (follower.done()) return follower.succeeded() ? 0 : 1;
      rv = page->resourceVersion;
      relist = false;
    }
    kube::WatchOptions w;
    w.resourceVersion = rv;
    w.fieldSelector = lo.fieldSelector;
    const auto left = std::chrono::duration_cast<std::chrono::seconds>(deadline - std::chrono::steady_clock::now());
    w.timeoutSeconds = std::max<std::int64_t>(1, std::min<std::int64_t>(left.count(), 300));
    kube::WatchDecoder decoder;
    std::vector<kube::WatchEvent> events;
    bool deleted = false;
    net::Cancellation cancel;
    auto watched = s.client->watch(controller::kDiagnosticRuns, s.ns, w, [&](std::string_view data) {
      events.clear();
      if (!decoder.feed(data, events).ok()) {
        relist = true;
        return false;
      }
      for (const auto& e : events) {
        switch (e.type) {
          case kube::WatchEventType::Added:
          case kube::WatchEventType::Modified:
            rv = std::string(e.object->resourceVersion());
            std::cout << follower.update(*e.object) << std::flush;
            if (follower.done()) return false;
            break;
          case kube::WatchEventType::Bookmark:
            rv = std::string(e.object->resourceVersion());
            break;
          case kube::WatchEventType::Deleted:
            deleted = true;
            return false;
          case kube::WatchEventType::Error:
            relist = true;  // 410 Gone: the resourceVersion is too old
            return false;
        }
      }
      return true;
    }, cancel);
    if (follower.done()) return follower.succeeded() ? 0 : 1;
    if (deleted) {
      std::cerr << "error: diagnosticrun " << name << " was deleted\n";
      return 1;
    }
    if (!watched.ok()) relist = true;  // dropped: read it again, then watch from there
  }
  std::cerr << "error: timed out waiting for diagnosticrun " << name << " (kubectl opscopilot get " << name << " -n "
            << s.ns << " shows where it is)\n";
  return 1;
}

int ask(Session& s, const Args& a) {
  if (a.positional.size() != 1 || a.positional[0].empty()) return usage("ask takes one question, in quotes");
  std::string spec = "{\"question\":" + jsonString(a.positional[0]);
  if (auto t = flag(a, "target"); !t.empty()) {
    auto target = parseTarget(t);
    if (!target) return usage("--target " + t + ": expected KIND/NAME, e.g. deploy/checkout");
    spec += ",\"target\":{\"kind\":" + jsonString(target->first) + ",\"name\":" + jsonString(target->second) + "}";
  }
  if (auto m = flag(a, "model"); !m.empty()) spec += ",\"model\":" + jsonString(m);
  spec += "}";
  const std::string name = flag(a, "name");
  std::string meta = name.empty() ? "{\"generateName\":\"ask-\"}" : "{\"name\":" + jsonString(name) + "}";
  std::chrono::seconds timeout{600};
  if (auto t = flag(a, "timeout"); !t.empty()) {
    auto d = parseDuration(t);
    if (!d) return usage("--timeout " + t + ": expected a duration like 90s, 10m or 1h");
    timeout = *d;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string body = "{\"apiVersion\":\"opscopilot.io/v1alpha1\",\"kind\":\"DiagnosticRun\",\"metadata\":" + meta +
                           ",\"spec\":" + spec + "}";
  auto created = s.client->create(controller::kDiagnosticRuns, s.ns, agent::redactJsonBody(body));
  if (!created.ok()) return fail("creating the DiagnosticRun", created.error());
  const std::string runName((*created)->name());
  std::cout << "diagnosticrun.opscopilot.io/" << runName << " created in " << s.ns << "\n" << std::flush;
  if (a.noFollow) return 0;
  return follow(s, runName, deadline);
}

int get(Session& s, const Args& a, bool full) {
  if (a.positional.size() > 1) return usage("one NAME at most");
  if (a.positional.empty()) {
    if (full) return usage("describe takes a NAME");
    auto list = s.client->list(controller::kDiagnosticRuns, a.allNamespaces ? "" : s.ns);
    if (!list.ok()) return fail("listing DiagnosticRuns", list.error());
    std::cout << cli::runTable(list->items, a.allNamespaces, now());
    return 0;
  }
  auto run = s.client->get(controller::kDiagnosticRuns, s.ns, a.positional[0]);
  if (!run.ok()) return fail("diagnosticrun " + a.positional[0], run.error());
  std::cout << cli::runTree(**run, full ? approvalsOf(s, **run) : std::vector<kube::ObjectPtr>{}, full);
  return 0;
}

int decide(Session& s, const Args& a, const std::string& decision) {
  if (a.positional.size() != 1) return usage(decision == "Approved" ? "approve takes a NAME" : "deny takes a NAME");
  std::string name = a.positional[0];
  auto apr = s.client->get(controller::kApprovalRequests, s.ns, name);
  if (!apr.ok() && apr.error().httpCode == 404) {
    // A run's name: the request it waits for now.
    auto run = s.client->get(controller::kDiagnosticRuns, s.ns, name);
    if (!run.ok()) {
      std::cerr << "error: no ApprovalRequest or DiagnosticRun named " << name << " in " << s.ns << "\n";
      return 1;
    }
    name = cli::pendingApproval(**run);
    if (name.empty()) {
      std::cerr << "error: diagnosticrun " << a.positional[0] << " waits for no approval (" << (*run)->stringAt({"status", "phase"})
                << ")\n";
      return 1;
    }
    apr = s.client->get(controller::kApprovalRequests, s.ns, name);
  }
  if (!apr.ok()) return fail("approvalrequest " + name, apr.error());
  if (auto done = (*apr)->stringAt({"spec", "decision"}); !done.empty()) {
    std::cerr << "error: approvalrequest " << name << " was already decided: " << done << " by "
              << (*apr)->stringAt({"spec", "decidedBy"}) << "\n";
    return 1;
  }
  // decidedBy must be who the API server says is asking (admission checks it).
  auto me = controller::whoAmI(*s.client);
  if (!me.ok()) return fail("asking the API server who you are (SelfSubjectReview)", me.error());
  std::string patch = "{\"spec\":{\"decision\":" + jsonString(decision) + ",\"decidedBy\":" + jsonString(me->username);
  if (auto reason = flag(a, "reason"); !reason.empty()) patch += ",\"comment\":" + jsonString(reason);
  patch += "}}";
  auto patched = s.client->patch(controller::kApprovalRequests, s.ns, name, kube::PatchType::Merge, agent::redactJsonBody(patch));
  if (!patched.ok()) return fail("deciding approvalrequest " + name, patched.error());
  std::cout << "approvalrequest.opscopilot.io/" << name << " " << (decision == "Approved" ? "approved" : "denied") << " by "
            << me->username << ": " << (*apr)->stringAt({"spec", "action", "tool"}) << " for run "
            << (*apr)->stringAt({"spec", "runRef", "name"}) << "\n";
  return 0;
}

int logs(Session& s, const Args& a) {
  if (a.positional.size() != 1) return usage("logs takes a NAME");
  kube::ListOptions lo;
  lo.fieldSelector = "involvedObject.kind=DiagnosticRun,involvedObject.name=" + a.positional[0];
  auto events = s.client->list(kube::resources::kEvents, s.ns, lo);
  if (!events.ok()) return fail("listing the run's Events", events.error());
  std::cout << cli::eventTable(events->items, now());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string problem;
  auto args = parse(argc, argv, problem);
  if (!args) return usage(problem);
  if (args->command.empty() || args->command == "help") return usage();
  static const std::vector<std::string> commands{"ask", "get", "describe", "approve", "deny", "logs"};
  if (std::find(commands.begin(), commands.end(), args->command) == commands.end()) {
    return usage("unknown command \"" + args->command + "\"");
  }
  auto cfg = kube::loadDefaultConfig(flag(*args, "kubeconfig"), flag(*args, "context"));
  if (!cfg.ok()) {
    std::cerr << "error: " << cfg.error().message << "\n";
    return 1;
  }
  auto client = kube::Client::create(*cfg);
  if (!client.ok()) {
    std::cerr << "error: " << client.error().message << "\n";
    return 1;
  }
  Session s{*client, flag(*args, "namespace")};
  if (s.ns.empty()) s.ns = cfg->defaultNamespace.empty() ? "default" : cfg->defaultNamespace;
  const std::string& c = args->command;
  if (c == "ask") return ask(s, *args);
  if (c == "get") return get(s, *args, false);
  if (c == "describe") return get(s, *args, true);
  if (c == "approve") return decide(s, *args, "Approved");
  if (c == "deny") return decide(s, *args, "Denied");
  return logs(s, *args);
}
