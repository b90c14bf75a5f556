// Runbook sections and their BM25 index (tools/runbook_index.h).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tools/runbook_index.h"

using namespace opscopilot::tools;
using ::testing::ElementsAre;

namespace {

constexpr const char* kRunbook = R"(# Checkout service

Owned by the payments team. Pager: #payments-oncall.

## Crash loops

When checkout crash-loops after a deploy:

1. Read the previous log: `kubectl logs deploy/checkout --previous`.
2. If it says DATABASE_URL is not set, re-sync the `checkout-db` ExternalSecret.
   - [ ] check the ExternalSecret's status first
3. Roll back if the new image is at fault.

```sh
# not a step: a comment
kubectl -n shop rollout undo deployment/checkout
```

## Out of memory

The JVM needs 1.5 GiB: raise `resources.limits.memory` to 2Gi, never lower Xmx.

### Heap dumps
## Certificates ##
Renewed by cert-manager.
)";

TEST(Runbooks, SplitsAtHeadingsWithTheirPathAndCollectsSteps) {
  auto sections = splitRunbook(kRunbook);
  ASSERT_EQ(sections.size(), 4u);
  EXPECT_EQ(sections[0].heading, "Checkout service");
  EXPECT_EQ(sections[0].text, "Owned by the payments team. Pager: #payments-oncall.");
  EXPECT_EQ(sections[1].heading, "Checkout service > Crash loops");
  EXPECT_THAT(sections[1].steps,
              ElementsAre("Read the previous log: `kubectl logs deploy/checkout --previous`.",
                          "If it says DATABASE_URL is not set, re-sync the `checkout-db` ExternalSecret.",
                          "check the ExternalSecret's status first", "Roll back if the new image is at fault.",
                          "kubectl -n shop rollout undo deployment/checkout"));
  EXPECT_NE(sections[1].text.find("```sh\n# not a step"), std::string::npos) << "a # in a code block is no heading";
  EXPECT_EQ(sections[2].heading, "Checkout service > Out of memory");
  // "### Heap dumps" has no text of its own: dropped. "## Certificates ##" closes its heading.
  EXPECT_EQ(sections[3].heading, "Checkout service > Certificates");
  EXPECT_EQ(sections[3].text, "Renewed by cert-manager.");
  EXPECT_TRUE(splitRunbook("").empty());
  EXPECT_EQ(splitRunbook("no heading at all\n")[0].heading, "");
  EXPECT_EQ(splitRunbook("#hashtag is not a heading\n")[0].heading, "");
}

TEST(Runbooks, TermsAreLowercasedWordsWithoutStopWordsAndWithEndingsFolded) {
  EXPECT_THAT(indexTerms("Why is the CrashLoopBackOff pod crash-looping? It crashes; OOMKilled containers"),
              ElementsAre("crashloopbackoff", "pod", "crash", "loop", "crash", "oomkill", "container"));
  EXPECT_THAT(indexTerms("loops looped looping retries status access"),
              ElementsAre("loop", "loop", "loop", "retry", "status", "access"));
}

TEST(Runbooks, Bm25RanksTheSectionAboutTheProblemFirstAndNeedsTwoTermsInCommon) {
  auto sections = splitRunbook(kRunbook);
  std::vector<std::vector<std::string>> docs;
  for (const auto& s : sections) docs.push_back(indexTerms(s.heading + "\n" + s.text));
  Bm25Index index(docs);
  auto hits = index.search(indexTerms("Container checkout crash-loops: log says DATABASE_URL is not set"), 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].doc, 1u);
  EXPECT_GE(hits[0].matchedTerms, 3u);
  hits = index.search(indexTerms("OOMKilled: out of memory, limit 512Mi"), 3);
  ASSERT_FALSE(hits.empty());
  EXPECT_EQ(hits[0].doc, 2u);
  // One word in common ("checkout", in every section's heading) is not enough.
  EXPECT_TRUE(index.search(indexTerms("checkout ingress returns 404"), 3).empty());
  // A one-word query needs that word only.
  EXPECT_EQ(index.search(indexTerms("cert-manager"), 3).size(), 1u);
  EXPECT_TRUE(Bm25Index({}).search(indexTerms("anything at all"), 3).empty());
}

}  // namespace
