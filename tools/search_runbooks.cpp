// search_runbooks: the sections of the team's runbooks that best fit a query
// (BM25, no model). Runbooks are ConfigMaps labelled
// opscopilot.io/runbook=true whose every data key holds markdown: those of the
// run's namespace, read as its reader (and for its requester), and those of
// the operator's shared runbook namespace, which are published to every run.
// The sections found become evidence R1, R2, ...
#include <algorithm>
#include <cmath>

#include "agent/redaction.h"
#include "tools/kube_tool.h"
#include "tools/render.h"
#include "tools/runbook_index.h"
#include "tools/tool_factories.h"
#include "tools/tool_json.h"

namespace opscopilot::tools {

namespace {

constexpr std::size_t kMaxRunbooks = 200;  // ConfigMaps per namespace
constexpr std::size_t kMaxDocumentBytes = 256 * 1024;
constexpr std::int64_t kDefaultLimit = 3;
constexpr std::int64_t kMaxLimit = 5;
constexpr std::size_t kMaxSteps = 8;
constexpr std::string_view kLabel = "opscopilot.io/runbook=true";

struct Section {
  std::string ns, configMap, key;
  RunbookSection section;
};

class SearchRunbooksTool : public KubeTool {
 public:
  SearchRunbooksTool(ClientPtr client, const ToolSettings& settings)
      : KubeTool(std::move(client), settings, specFor(settings)) {}

 protected:
  agent::ToolOutput read(ToolCall& call, const rapidjson::Value& args) override {
    auto query = stringArg(args, "query");
    if (!query || query->empty()) return invalidArgs("\"query\" must be the words to look for");
    const auto limit = std::clamp(intArg(args, "limit").value_or(kDefaultLimit), std::int64_t{1}, kMaxLimit);

    auto data = newData();
    auto& a = data->GetAllocator();
    setMember(*data, "query", jsonString(*query, a));
    setMember(*data, "results", rapidjson::Value(rapidjson::kArrayType));

    agent::ToolOutput out;
    std::vector<Section> sections;
    std::vector<std::string> notRead;
    std::size_t runbooks = 0;
    auto collect = [&](ToolCall& from) {
      auto listed = runbooksIn(from);
      if (!listed.ok()) {
        notRead.push_back(from.describeFailure(listed.error(), "list", kinds::kConfigMap));
        return;
      }
      for (const auto& cm : listed->items) {
        const auto* d = cm->at({"data"});
        if (!d || !d->IsObject()) continue;
        ++runbooks;
        for (const auto& m : d->GetObject()) {
          if (!m.value.IsString()) continue;
          std::string_view text(m.value.GetString(), m.value.GetStringLength());
          if (text.size() > kMaxDocumentBytes) text = text.substr(0, kMaxDocumentBytes);
          // Redacted before it is indexed or shown: a runbook may hold a
          // pasted credential.
          for (auto& s : splitRunbook(agent::redactSecrets(text).text)) {
            sections.push_back({from.ns(), std::string(cm->name()), m.name.GetString(), std::move(s)});
          }
        }
      }
    };
    out.apiRequests = inRunbookNamespaces(call, collect);
    const auto& shared = settings().runbookNamespace;
    setMember(*data, "runbooks", rapidjson::Value(static_cast<std::int64_t>(runbooks)));
    setMember(*data, "sections", rapidjson::Value(static_cast<std::int64_t>(sections.size())));

    // Headings count twice: a section titled for the problem is about it.
    std::vector<std::vector<std::string>> docs;
    docs.reserve(sections.size());
    for (const auto& s : sections) {
      auto terms = indexTerms(s.section.heading);
      auto heading = terms;
      terms.insert(terms.end(), heading.begin(), heading.end());
      auto body = indexTerms(s.section.text);
      terms.insert(terms.end(), body.begin(), body.end());
      docs.push_back(std::move(terms));
    }
    Bm25Index index(std::move(docs));
    auto hits = index.search(indexTerms(*query), static_cast<std::size_t>(limit));

    for (const auto& h : hits) {
      const auto& s = sections[h.doc];
      std::string ref = "Runbook " + (s.ns == call.ns() ? "" : s.ns + "/") + s.configMap +
                        (s.section.heading.empty() ? "" : ": " + s.section.heading);
      out.evidence.push_back({ref, s.section.text});
      rapidjson::Value item(rapidjson::kObjectType);
      item.AddMember("namespace", jsonString(s.ns, a), a);
      item.AddMember("configMap", jsonString(s.configMap, a), a);
      item.AddMember("key", jsonString(s.key, a), a);
      item.AddMember("heading", jsonString(s.section.heading, a), a);
      item.AddMember("ref", jsonString(ref, a), a);
      item.AddMember("score", std::round(h.score * 100) / 100, a);
      item.AddMember("text", jsonString(agent::truncateText(s.section.text, 4096, false).text, a), a);
      rapidjson::Value steps(rapidjson::kArrayType);
      for (std::size_t i = 0; i < s.section.steps.size() && i < kMaxSteps; ++i) {
        steps.PushBack(jsonString(s.section.steps[i], a), a);
      }
      item.AddMember("steps", steps, a);
      (*data)["results"].PushBack(item, a);
    }
    for (const auto& n : notRead) out.evidence.push_back({"ConfigMap/*", n});

    const std::string where = shared.empty() || shared == call.ns() ? "namespace " + call.ns()
                                                                      : "namespaces " + call.ns() + " and " + shared;
    if (runbooks == 0) {
      out.summary = "no runbooks in " + where + " (ConfigMaps labelled " + std::string(kLabel) + ")";
    } else if (hits.empty()) {
      out.summary = "no runbook section fits the query (" + std::to_string(sections.size()) + " sections of " +
                    std::to_string(runbooks) + " runbooks in " + where + ")";
    } else {
      std::vector<std::string> found;
      for (const auto& e : out.evidence) {
        if (e.ref.starts_with("Runbook ")) found.push_back(quoted(e.ref.substr(8)));
      }
      out.summary = std::to_string(hits.size()) + " of " + std::to_string(sections.size()) +
                    " runbook sections fit: " + join(found, ", ");
    }
    if (!notRead.empty()) out.summary += "; " + std::to_string(notRead.size()) + " namespace(s) not readable";
    out.data = std::move(data);
    return out;
  }

 private:
  // The runbook lists a call reads (the run's namespace, the shared one),
  // read before the call and kept for it.
  int warm(ToolCall& call) override {
    return inRunbookNamespaces(call, [](ToolCall& in) { (void)runbooksIn(in); });
  }

  // Runs fn in the run's namespace, then in the shared runbook namespace
  // unless it is the same one (as that namespace's reader). Returns the
  // requests made there; the run's own call counts its own.
  template <class Fn>
  int inRunbookNamespaces(ToolCall& call, Fn&& fn) {
    fn(call);
    const auto& shared = settings().runbookNamespace;
    if (shared.empty() || shared == call.ns()) return 0;
    ToolCall sharedCall = call.sharedIn(shared, readerFor(shared));
    fn(sharedCall);
    return sharedCall.requests();
  }

 private:
  // A runbook list read ahead by warm() is at most this old when taken.
  static constexpr std::chrono::milliseconds kWarmListMaxAge{5000};

  static kube::Result<ToolCall::Listed> runbooksIn(ToolCall& from) {
    kube::ListOptions opts;
    opts.labelSelector = std::string(kLabel);
    return from.listRecent(kinds::kConfigMap, opts, kMaxRunbooks, kWarmListMaxAge);
  }

 public:
  static agent::ToolSpec specFor(const ToolSettings& settings) {
    auto spec = makeSpec("search_runbooks",
                         "Finds the sections of the team's runbooks (markdown in ConfigMaps labelled "
                         "opscopilot.io/runbook=true) that best match the query, ranked by BM25. Cite them as [R1], "
                         "[R2].",
                         R"({"type":"object","properties":{
"query":{"type":"string","minLength":1,"maxLength":2000,"description":"the symptoms, error messages and object kinds to look for"},
"limit":{"type":"integer","minimum":1,"maximum":5}},
"required":["query"],"additionalProperties":false})",
                         settings);
    spec.evidencePrefix = 'R';
    spec.warmUp = true;
    return spec;
  }
};

}  // namespace

std::unique_ptr<agent::Tool> makeSearchRunbooksTool(ClientPtr client, const ToolSettings& settings) {
  return std::make_unique<SearchRunbooksTool>(std::move(client), settings);
}

}  // namespace opscopilot::tools
