#include <gtest/gtest.h>

#include "agent/llm/json_util.h"
#include "agent/llm/llm.h"
#include "agent/llm/provider_http.h"
#include "agent/llm/sse.h"

using namespace opscopilot::agent::llm;
using std::chrono::milliseconds;

TEST(LlmCost, IsExactToThePriceTableAndRoundsUp) {
  const Price gpt4o{2'500'000, 10'000'000};  // $2.50 / $10 per million tokens
  EXPECT_EQ(costMicroUSD({1234, 567}, gpt4o), 8755);
  EXPECT_EQ(costMicroUSD({1, 0}, gpt4o), 3) << "2.5 micro-dollars rounds up";
  EXPECT_EQ(costMicroUSD({0, 0}, gpt4o), 0);
  EXPECT_EQ(costMicroUSD({1'000'000, 1'000'000}, gpt4o), 12'500'000);
  EXPECT_EQ(costMicroUSD({1234, 567}, Price{}), 0) << "local models are free";
  EXPECT_EQ(costMicroUSD({-5, 10}, Price{1'000'000, 1'000'000}), 10) << "negative counts charge nothing";
}

TEST(LlmCost, DoesNotOverflowOnHugeCounts) {
  const Price expensive{75'000'000, 150'000'000};
  EXPECT_EQ(costMicroUSD({1'000'000'000'000, 1'000'000'000'000}, expensive), 225'000'000'000'000);
}

TEST(LlmEstimate, CountsAboutFourCharactersATokenPlusOverhead) {
  ChatRequest empty;
  EXPECT_EQ(estimateTokens(empty), 0);
  ChatRequest r;
  r.messages.push_back({ChatMessage::Role::User, std::string(400, 'x'), {}, "", ""});
  const auto one = estimateTokens(r);
  EXPECT_GE(one, 100);
  EXPECT_LE(one, 110);
  r.tools.push_back({"get_pods", "Lists pods", std::string(392, ' ')});
  EXPECT_GE(estimateTokens(r), one + 100);
  r.messages.push_back({ChatMessage::Role::Assistant, "", {{"call_1", "get_pods", std::string(80, 'a')}}, "", ""});
  EXPECT_GE(estimateTokens(r), one + 120);
}

TEST(LlmHttpReply, HeaderLookupIsCaseInsensitive) {
  HttpReply reply;
  reply.headers = {{"Content-Type", "text/event-stream"}, {"Retry-After", "3"}};
  EXPECT_EQ(reply.header("retry-after"), "3");
  EXPECT_EQ(reply.header("CONTENT-TYPE"), "text/event-stream");
  EXPECT_EQ(reply.header("x-request-id"), "");
}

TEST(LlmRetryAfter, ParsesDelaySecondsAndHttpDates) {
  using namespace std::chrono;
  const system_clock::time_point now = sys_days(2015y / October / 21) + hours(7) + minutes(27) + seconds(30);
  EXPECT_EQ(parseRetryAfter("120", now), milliseconds(120000));
  EXPECT_EQ(parseRetryAfter(" 0 ", now), milliseconds(0));
  EXPECT_EQ(parseRetryAfter("1.5", now), milliseconds(1500));
  EXPECT_EQ(parseRetryAfter("Wed, 21 Oct 2015 07:28:00 GMT", now), milliseconds(30000));
  EXPECT_EQ(parseRetryAfter("Wed, 21 Oct 2015 07:00:00 GMT", now), milliseconds(0)) << "past dates mean now";
  EXPECT_EQ(parseRetryAfter("99999999999", now), milliseconds(24 * 3600 * 1000)) << "capped at a day";
  EXPECT_FALSE(parseRetryAfter("", now));
  EXPECT_FALSE(parseRetryAfter("soon", now));
  EXPECT_FALSE(parseRetryAfter("-3", now));
  EXPECT_FALSE(parseRetryAfter("Wed, 32 Oct 2015 07:28:00 GMT", now));
}

TEST(LlmSse, SplitsEventsAcrossArbitraryChunks) {
  std::vector<SseEvent> events;
  SseParser parser([&](const SseEvent& e) { events.push_back(e); });
  const std::string stream =
      ": comment\r\n\r\nevent: message_start\r\ndata: {\"a\":1}\r\n\r\ndata: line one\ndata: line two\n\n"
      "data:no-space\n\nevent: ping\n\ndata: [DONE]";
  for (char c : stream) parser.feed(std::string_view(&c, 1));
  parser.finish();
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].name, "message_start");
  EXPECT_EQ(events[0].data, "{\"a\":1}");
  EXPECT_EQ(events[1].name, "");
  EXPECT_EQ(events[1].data, "line one\nline two");
  EXPECT_EQ(events[2].data, "no-space");
  EXPECT_EQ(events[3].data, "[DONE]") << "a last event without a blank line still counts";
}

TEST(LlmSse, ALineOverTheLimitStopsTheParser) {
  std::vector<SseEvent> events;
  SseParser parser([&](const SseEvent& e) { events.push_back(e); }, 16);
  EXPECT_TRUE(parser.feed("data: short\n\n"));
  EXPECT_TRUE(parser.feed("data: 0123456789"));  // 16 bytes held: at the limit
  EXPECT_FALSE(parser.feed("xyz")) << "the unfinished line passed 16 bytes (and a CR)";
  EXPECT_TRUE(parser.overflowed());
  EXPECT_FALSE(parser.feed("\n\ndata: later\n\n")) << "nothing more is taken";
  parser.finish();
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "short");
}

TEST(LlmSse, AnEventOverTheLimitStopsTheParserEvenInOneChunk) {
  std::vector<SseEvent> events;
  SseParser parser([&](const SseEvent& e) { events.push_back(e); }, 16);
  EXPECT_FALSE(parser.feed("data: 0123456789\ndata: 0123456789\n\n")) << "two short lines, one 21-byte event";
  EXPECT_TRUE(events.empty());
  SseParser whole([&](const SseEvent& e) { events.push_back(e); }, 16);
  EXPECT_FALSE(whole.feed("data: " + std::string(100, 'x') + "\n\n")) << "a long line inside one chunk";
  EXPECT_TRUE(events.empty());
}

TEST(LlmJson, ReplacesInvalidUtf8) {
  EXPECT_EQ(json::validUtf8("plain"), "plain");
  EXPECT_EQ(json::validUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5"), "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5");
  EXPECT_EQ(json::validUtf8("a\xff" "b"), "a\xef\xbf\xbd" "b");
  EXPECT_EQ(json::validUtf8("cut \xe2\x82"), "cut \xef\xbf\xbd\xef\xbf\xbd");
  EXPECT_EQ(json::validUtf8("\xc0\xaf"), "\xef\xbf\xbd\xef\xbf\xbd") << "overlong";
  EXPECT_EQ(json::validUtf8("\xed\xa0\x80"), "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd") << "surrogate";
}

TEST(LlmSafeDetail, DropsTheKeyAndTextThatQuotesThePrompt) {
  ChatRequest request;
  request.messages.push_back({ChatMessage::Role::User, "Please look at secret-project/payments-api in prod", {}, "", ""});
  const ErrorContext ctx{"openai", "my-very-secret-key-1234", &request};
  EXPECT_EQ(safeDetail("bad key my-very-secret-key-1234 given", ctx).find("my-very-secret"), std::string::npos);
  EXPECT_EQ(safeDetail("cannot process 'secret-project/payments-api in prod'", ctx).find("payments-api"), std::string::npos);
  EXPECT_EQ(safeDetail("The model `gpt-9` does not exist", ctx), "The model `gpt-9` does not exist");
  EXPECT_LE(safeDetail(std::string(5000, 'x'), ctx).size(), 210u);
}
