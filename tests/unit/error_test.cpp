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

// What the API server and etcd really answer for a body that is too big
// (kubernetes/kubernetes#74600, #112152) and for one an admission policy or
// the CRD schema refuses: never worth sending again.
TEST(ErrorFromResponse, RefusalsForSizeAndContentAreRecognised) {
  auto apiserver = errorFromResponse(
      413, R"({"kind":"Status","status":"Failure","message":"Request entity too large: limit is 3145728","reason":"RequestEntityTooLarge","code":413})");
  EXPECT_TRUE(apiserver.isTooLarge());
  EXPECT_FALSE(apiserver.isRetryable());
  auto etcd = errorFromResponse(500, R"({"kind":"Status","status":"Failure","message":"etcdserver: request is too large","code":500})");
  EXPECT_TRUE(etcd.isTooLarge());
  EXPECT_FALSE(etcd.isRetryable());
  auto invalid = errorFromResponse(
      422, R"({"kind":"Status","status":"Failure","message":"DiagnosticRun.opscopilot.io \"r\" is invalid: status.steps: Too many: 513: must have at most 512 items","reason":"Invalid","code":422})");
  EXPECT_TRUE(invalid.isInvalid());
  EXPECT_FALSE(invalid.isTooLarge());
  auto other = errorFromResponse(500, R"({"kind":"Status","message":"etcdserver: leader changed","code":500})");
  EXPECT_FALSE(other.isTooLarge());
  EXPECT_TRUE(other.isRetryable());
}
