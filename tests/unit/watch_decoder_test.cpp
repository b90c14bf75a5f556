#include <gtest/gtest.h>

#include "operator/kube/watch_decoder.h"

using namespace opscopilot::kube;

namespace {
const std::string kAdded =
    R"({"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"a","namespace":"n","resourceVersion":"5"}}})"
    "\n";
const std::string kBookmark =
    R"({"type":"BOOKMARK","object":{"kind":"Pod","metadata":{"resourceVersion":"9"}}})"
    "\n";
}  // namespace

TEST(WatchDecoder, EventSplitAcrossManyChunks) {
  WatchDecoder d;
  std::vector<WatchEvent> out;
  for (char c : kAdded) ASSERT_TRUE(d.feed(std::string_view(&c, 1), out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, WatchEventType::Added);
  EXPECT_EQ(out[0].object->key(), "n/a");
  EXPECT_EQ(d.pending(), 0u);
}

TEST(WatchDecoder, SeveralEventsInOneChunkAndBookmarks) {
  WatchDecoder d;
  std::vector<WatchEvent> out;
  std::string modified = kAdded;
  modified.replace(modified.find("ADDED"), 5, "MODIFIED");
  std::string deleted = kAdded;
  deleted.replace(deleted.find("ADDED"), 5, "DELETED");
  ASSERT_TRUE(d.feed(kAdded + modified + kBookmark + deleted.substr(0, 10), out).ok());
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].type, WatchEventType::Modified);
  EXPECT_EQ(out[2].type, WatchEventType::Bookmark);
  EXPECT_EQ(out[2].object->resourceVersion(), "9");
  ASSERT_TRUE(d.feed(deleted.substr(10), out).ok());
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[3].type, WatchEventType::Deleted);
}

TEST(WatchDecoder, ErrorEventCarriesTheStatus) {
  WatchDecoder d;
  std::vector<WatchEvent> out;
  ASSERT_TRUE(d.feed(R"({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure",)"
                     R"x("message":"too old resource version: 1 (400)","reason":"Expired","code":410}})x"
                     "\n",
                     out)
                  .ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].type, WatchEventType::Error);
  EXPECT_TRUE(out[0].error.isGone());
  EXPECT_EQ(out[0].error.httpCode, 410);
  EXPECT_NE(out[0].error.message.find("too old"), std::string::npos);
}

TEST(WatchDecoder, GarbageIsAnErrorNotACrash) {
  const char* bad[] = {"not json at all\n", "[1,2,3]\n", R"({"type":"ADDED"})"
                                                         "\n",
                       R"({"type":"EXPLODED","object":{}})"
                       "\n",
                       "{\"type\":\"ADDED\",\"object\":{\"kind\"\n"};
  for (const char* b : bad) {
    WatchDecoder d;
    std::vector<WatchEvent> out;
    auto r = d.feed(kAdded + b, out);
    ASSERT_FALSE(r.ok()) << b;
    EXPECT_EQ(r.error().reason, "InvalidWatchEvent");
    EXPECT_EQ(out.size(), 1u) << "events before the bad line are kept";
  }
}

TEST(WatchDecoder, OversizedEventIsRejected) {
  WatchDecoder d(1024);
  std::vector<WatchEvent> out;
  auto r = d.feed(std::string(2048, '{'), out);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(d.pending(), 0u);
}

TEST(WatchDecoder, BlankLinesAndCarriageReturnsAreIgnored) {
  WatchDecoder d;
  std::vector<WatchEvent> out;
  std::string crlf = kAdded;
  crlf.insert(crlf.size() - 1, "\r");
  ASSERT_TRUE(d.feed("\n\n" + crlf, out).ok());
  EXPECT_EQ(out.size(), 1u);
}
