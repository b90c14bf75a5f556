#include <gtest/gtest.h>

#include "operator/kube/error.h"

using namespace opscopilot::kube;

TEST(ErrorFromResponse, UsesStatusReasonAndMessage) {
  auto e = errorFromResponse(409, R"({"kind":"Status","apiVersion":"v1","status":"Failure",
    "message":"Operation cannot be fulfilled on configmaps \"x\": the object has been modified",
    "reason":"Conflict","code":409})");
  EXPECT_EQ(e.httpCode, 409);
  EXPECT_EQ(e.reason, "Conflict");
  EXPECT_TRUE(e.isConflict());
  EXPECT_NE(e.message.find("has been modified"), std::string::npos);
  EXPECT_FALSE(e.isRetryable());
}

TEST(ErrorFromResponse, ForbiddenIsReportedNotThrown) {
  auto e = errorFromResponse(403, R"({"kind":"Status","reason":"Forbidden",
    "message":"pods is forbidden: User \"alice\" cannot list resource \"pods\""})");
  EXPECT_TRUE(e.isForbidden());
  EXPECT_EQ(e.toString().rfind("Forbidden (403): pods is forbidden", 0), 0u);
}

TEST(ErrorFromResponse, FallsBackToHttpCodeWhenBodyIsNotAStatus) {
  auto e = errorFromResponse(503, "upstream connect error");
  EXPECT_EQ(e.reason, "ServiceUnavailable");
  EXPECT_EQ(e.message, "upstream connect error");
  EXPECT_TRUE(e.isRetryable());

  auto empty = errorFromResponse(404, "");
  EXPECT_TRUE(empty.isNotFound());
  EXPECT_EQ(empty.message, "HTTP 404");
}

TEST(ErrorFromResponse, MapsEveryCommonCode) {
  EXPECT_EQ(reasonForHttpCode(400), "BadRequest");
  EXPECT_EQ(reasonForHttpCode(401), "Unauthorized");
  EXPECT_EQ(reasonForHttpCode(410), "Gone");
  EXPECT_EQ(reasonForHttpCode(422), "Invalid");
  EXPECT_EQ(reasonForHttpCode(429), "TooManyRequests");
  EXPECT_EQ(reasonForHttpCode(500), "InternalError");
  EXPECT_EQ(reasonForHttpCode(504), "Timeout");
  EXPECT_EQ(reasonForHttpCode(599), "InternalError");
  EXPECT_TRUE(errorFromResponse(410, R"({"kind":"Status","reason":"Expired","code":410})").isGone());
  EXPECT_TRUE(errorFromResponse(429, "").isRetryable());
}

TEST(ErrorFromResponse, LongNonStatusBodiesAreShortened) {
  auto e = errorFromResponse(500, std::string(5000, 'x'));
  EXPECT_LT(e.message.size(), 300u);
}

TEST(TransportError, DistinguishesTimeouts) {
  EXPECT_TRUE(transportError("read", true).isTimeout());
  EXPECT_EQ(transportError("connect", false).reason, "ConnectionError");
  EXPECT_TRUE(transportError("connect", false).isRetryable());
}
