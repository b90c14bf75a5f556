// The ApprovalRequest decision (operator/controller/approval.h) as pure
// functions: given the run's pending step, what its status recorded and the
// request's JSON -> Create / Wait / Approved / Denied / Expired / Rejected.
// And the RFC 3339 parser the controller uses for expiresAt, startTime and
// completionTime.
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <rapidjson/document.h>

#include <functional>

#include "agent/sink_redaction.h"
#include "operator/controller/approval.h"

using namespace opscopilot;
using namespace opscopilot::controller;
using namespace std::chrono;
using approval::Verdict;

namespace {

std::int64_t unixSeconds(const std::optional<system_clock::time_point>& t) {
  return duration_cast<seconds>(t->time_since_epoch()).count();
}
std::int64_t unixNanos(const std::optional<system_clock::time_point>& t) {
  return duration_cast<nanoseconds>(t->time_since_epoch()).count();
}

}  // namespace

// --- RFC 3339 ---------------------------------------------------------------

TEST(ParseRfc3339, UtcWithZ) {
  auto t = parseRfc3339("2026-12-02T10:00:00Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(unixSeconds(t), 1796205600);
  EXPECT_EQ(unixSeconds(parseRfc3339("1970-01-01T00:00:00Z")), 0);
  EXPECT_EQ(unixSeconds(parseRfc3339("2024-02-29T23:59:59z")), 1709251199);  // leap day, lower-case z
  EXPECT_EQ(unixSeconds(parseRfc3339("2026-12-02t10:00:00Z")), 1796205600);  // lower-case t
}

TEST(ParseRfc3339, OffsetsAreApplied) {
  const auto utc = unixSeconds(parseRfc3339("2026-12-02T08:00:00Z"));
  EXPECT_EQ(unixSeconds(parseRfc3339("2026-12-02T10:00:00+02:00")), utc);
  EXPECT_EQ(unixSeconds(parseRfc3339("2026-12-02T03:00:00-05:00")), utc);
  EXPECT_EQ(unixSeconds(parseRfc3339("2026-12-02T13:45:00+05:45")), utc);  // Nepal
  EXPECT_EQ(unixSeconds(parseRfc3339("2026-12-01T22:30:00-09:30")), utc);  // across midnight
  EXPECT_EQ(unixSeconds(parseRfc3339("2026-12-02T08:00:00+00:00")), utc);
  EXPECT_EQ(unixSeconds(parseRfc3339("2026-12-02T08:00:00-00:00")), utc);
  EXPECT_EQ(unixSeconds(parseRfc3339("2027-01-01T01:00:00+23:59")), unixSeconds(parseRfc3339("2026-12-31T01:01:00Z")));
  // The old parser ignored the offset: 10:00+02:00 must not be 10:00Z.
  EXPECT_NE(unixSeconds(parseRfc3339("2026-12-02T10:00:00+02:00")),
            unixSeconds(parseRfc3339("2026-12-02T10:00:00Z")));
}

TEST(ParseRfc3339, FractionalSeconds) {
  const auto base = unixNanos(parseRfc3339("2026-12-02T08:00:00Z"));
  EXPECT_EQ(unixNanos(parseRfc3339("2026-12-02T08:00:00.5Z")), base + 500000000);
  EXPECT_EQ(unixNanos(parseRfc3339("2026-12-02T08:00:00.123456Z")), base + 123456000);
  EXPECT_EQ(unixNanos(parseRfc3339("2026-12-02T08:00:00.123456789Z")), base + 123456789);
  EXPECT_EQ(unixNanos(parseRfc3339("2026-12-02T08:00:00.1234567891234Z")), base + 123456789);  // truncated
  EXPECT_EQ(unixNanos(parseRfc3339("2026-12-02T10:00:00.25+02:00")), base + 250000000);
  EXPECT_EQ(unixNanos(parseRfc3339("2026-12-02T08:00:00.000Z")), base);
}

TEST(ParseRfc3339, LeapSecondCountsAsTheNextSecond) {
  EXPECT_EQ(unixSeconds(parseRfc3339("2016-12-31T23:59:60Z")), unixSeconds(parseRfc3339("2017-01-01T00:00:00Z")));
}

TEST(ParseRfc3339, RejectsWhatIsNotRfc3339) {
  for (const char* bad : {"", "2026-12-02", "2026-12-02T10:00:00", "2026-12-02T10:00Z", "2026-12-02 10:00:00Z",
                          "2026-12-02T10:00:00+0200", "2026-12-02T10:00:00+02", "2026-12-02T10:00:00 Z",
                          "2026-12-02T10:00:00Zjunk", "2026-12-02T10:00:00.Z", "2026-13-02T10:00:00Z",
                          "2026-00-02T10:00:00Z", "2026-02-30T10:00:00Z", "2025-02-29T10:00:00Z",
                          "2026-12-32T10:00:00Z", "2026-12-02T24:00:00Z", "2026-12-02T10:60:00Z",
                          "2026-12-02T10:00:61Z", "2026-12-02T10:00:00+24:00", "2026-12-02T10:00:00+02:60",
                          "26-12-02T10:00:00Z", "2026-1-02T10:00:00Z", " 2026-12-02T10:00:00Z",
                          "2026-12-02T 1:00:00Z", "+026-12-02T10:00:00Z", "2026-12-02T10:00:00\xef\xbc\xba",
                          "2026/12/02T10:00:00Z"}) {
    EXPECT_FALSE(parseRfc3339(bad)) << bad;
  }
}

// --- the decision -----------------------------------------------------------

namespace {

const char* kRunUID = "1f0e7c1a-8b9d-4c3e-9a51-7d2a6e4f0b11";
const char* kAprUID = "6a1c9e2f-0000-4aaa-8bbb-cccccccccccc";

approval::Action action() {
  approval::Action a;
  a.ns = "shop";
  a.runName = "why-config";
  a.runUID = kRunUID;
  a.generation = 2;
  a.stepID = 5;
  a.tool = "read_configmap_data";
  a.argsJson = R"({"name":"app-config"})";
  return a;
}

const auto kNow = *parseRfc3339("2026-12-02T10:00:00Z");

// The request the controller creates for a(), with the UID the API server
// gave it, as read back; edit(doc) changes it before the decision.
rapidjson::Document request(const approval::Action& a, const std::function<void(rapidjson::Document&)>& edit = {}) {
  rapidjson::Document d;
  d.Parse(approval::requestJson(a, "the question asks about this ConfigMap's data", "Medium", kNow + hours(1)).c_str());
  auto& al = d.GetAllocator();
  d["metadata"].AddMember("uid", rapidjson::Value(kAprUID, al), al);
  d["metadata"].AddMember("creationTimestamp", "2026-12-02T10:00:00Z", al);
  if (edit) edit(d);
  return d;
}

approval::Record record(const approval::Action& a, std::string uid = kAprUID) {
  return {approval::requestName(a.runName, a.generation, a.stepID), std::move(uid), a.stepID, a.generation};
}

void setSpec(rapidjson::Document& d, const char* key, rapidjson::Value v) {
  auto& spec = d["spec"];
  if (spec.HasMember(key)) spec[key] = v;
  else spec.AddMember(rapidjson::Value(key, d.GetAllocator()), v, d.GetAllocator());
}

void decideAs(rapidjson::Document& d, const char* decision, const char* who) {
  setSpec(d, "decision", rapidjson::Value(decision, d.GetAllocator()));
  setSpec(d, "decidedBy", rapidjson::Value(who, d.GetAllocator()));
}

bool mentions(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

TEST(Approval, CanonicalActionAndDigest) {
  auto a = action();
  a.argsJson = R"({ "name" : "app-config", "b": [ {"y":1,"x":2} ] })";
  EXPECT_EQ(approval::canonicalActionJson(a),
            std::string(R"({"args":{"b":[{"x":2,"y":1}],"name":"app-config"},"generation":2,"runUID":")") + kRunUID +
                R"(","stepID":5,"tool":"read_configmap_data"})");
  // The digest is the SHA-256 of exactly that text (what the CRD documents,
  // and what the e2e test recomputes with jq -cS and sha256sum).
  const std::string text = approval::canonicalActionJson(a);
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ASSERT_EQ(EVP_Digest(text.data(), text.size(), md, &len, EVP_sha256(), nullptr), 1);
  char hex[65];
  for (unsigned i = 0; i < 32; ++i) std::snprintf(hex + 2 * i, 3, "%02x", md[i]);
  EXPECT_EQ(approval::actionDigest(a), std::string("sha256:") + hex);
  // Every bound field changes it.
  const auto base = approval::actionDigest(action());
  auto other = action();
  other.generation = 3;
  EXPECT_NE(approval::actionDigest(other), base);
  other = action();
  other.stepID = 6;
  EXPECT_NE(approval::actionDigest(other), base);
  other = action();
  other.runUID = "x";
  EXPECT_NE(approval::actionDigest(other), base);
  other = action();
  other.argsJson = R"({"name":"prod-secrets"})";
  EXPECT_NE(approval::actionDigest(other), base);
  other = action();
  other.tool = "read_secret";
  EXPECT_NE(approval::actionDigest(other), base);
}

TEST(Approval, RequestTheControllerCreatesIsBoundToTheStep) {
  auto d = request(action());
  EXPECT_STREQ(d["metadata"]["name"].GetString(), "why-config-2-5");
  const auto& owner = d["metadata"]["ownerReferences"][0];
  EXPECT_STREQ(owner["uid"].GetString(), kRunUID);
  EXPECT_TRUE(owner["controller"].GetBool());
  EXPECT_STREQ(d["spec"]["runRef"]["name"].GetString(), "why-config");
  EXPECT_STREQ(d["spec"]["runRef"]["uid"].GetString(), kRunUID);
  EXPECT_EQ(d["spec"]["runGeneration"].GetInt64(), 2);
  EXPECT_EQ(d["spec"]["stepID"].GetInt(), 5);
  EXPECT_STREQ(d["spec"]["action"]["tool"].GetString(), "read_configmap_data");
  EXPECT_STREQ(d["spec"]["action"]["args"]["name"].GetString(), "app-config");
  EXPECT_EQ(d["spec"]["actionDigest"].GetString(), approval::actionDigest(action()));
  EXPECT_STREQ(d["spec"]["expiresAt"].GetString(), "2026-12-02T11:00:00Z");
  EXPECT_TRUE(approval::bindingProblems(action(), d).empty());
}

TEST(Approval, RecordRoundTripsThroughTheRunsCondition) {
  const auto rec = record(action());
  const std::string msg = approval::recordMessage(rec, "read_configmap_data");
  EXPECT_EQ(msg, std::string("step 5 (read_configmap_data) waits for ApprovalRequest why-config-2-5 (uid ") + kAprUID + ")");
  auto run = kube::Object::parse(std::string(R"({"metadata":{"name":"why-config","uid":")") + kRunUID +
                                 R"(","generation":2},"status":{"conditions":[
      {"type":"Succeeded","status":"Unknown","reason":"Running","message":"x","observedGeneration":2},
      {"type":"AwaitingApproval","status":"True","reason":"ApprovalPending","message":")" + msg +
                                 R"(","observedGeneration":2}]}})");
  ASSERT_TRUE(run.ok());
  auto got = approval::recordFrom(**run);
  ASSERT_TRUE(got);
  EXPECT_EQ(*got, rec);

  // Not waiting, no UID in the message, or no observedGeneration: nothing recorded.
  for (const char* conds : {
           R"([{"type":"AwaitingApproval","status":"False","reason":"NoApprovalPending","message":"MSG","observedGeneration":2}])",
           R"([{"type":"AwaitingApproval","status":"True","reason":"ApprovalPending","message":"a step waits for an ApprovalRequest","observedGeneration":2}])",
           R"([{"type":"AwaitingApproval","status":"True","reason":"ApprovalPending","message":"MSG"}])",
           R"([])"}) {
    std::string c = conds;
    if (auto p = c.find("MSG"); p != std::string::npos) c.replace(p, 3, msg);
    auto r = kube::Object::parse(R"({"metadata":{"name":"why-config"},"status":{"conditions":)" + c + "}}");
    ASSERT_TRUE(r.ok());
    EXPECT_FALSE(approval::recordFrom(**r)) << c;
  }
}

TEST(Approval, NothingRecordedAndNoRequest_Create) {
  EXPECT_EQ(approval::decide(action(), std::nullopt, nullptr, kNow).verdict, Verdict::Create);
  // A record for another step or generation is no record.
  auto stale = record(action());
  stale.generation = 1;
  EXPECT_EQ(approval::decide(action(), stale, nullptr, kNow).verdict, Verdict::Create);
}

TEST(Approval, TheControllersOwnRequest_WaitsThenFollowsTheDecision) {
  auto d = request(action());
  auto w = approval::decide(action(), record(action()), &d, kNow);
  EXPECT_EQ(w.verdict, Verdict::Wait);
  ASSERT_TRUE(w.expiresAt);
  EXPECT_EQ(*w.expiresAt, kNow + hours(1));

  auto approved = request(action(), [](auto& x) { decideAs(x, "Approved", "alice"); });
  auto h = approval::decide(action(), record(action()), &approved, kNow);
  EXPECT_EQ(h.verdict, Verdict::Approved);
  EXPECT_EQ(h.decidedBy, "alice");

  auto denied = request(action(), [](auto& x) { decideAs(x, "Denied", "bob"); });
  EXPECT_EQ(approval::decide(action(), record(action()), &denied, kNow).verdict, Verdict::Denied);

  EXPECT_EQ(approval::decide(action(), record(action()), &d, kNow + hours(1)).verdict, Verdict::Expired);
  EXPECT_EQ(approval::decide(action(), record(action()), &d, kNow + minutes(59)).verdict, Verdict::Wait);
}

TEST(Approval, ExpiresAtWithAnOffsetIsHonoured) {
  // 12:30+02:00 is 10:30Z: expired at 10:31Z, although "12:30" reads later.
  auto d = request(action(), [](auto& x) { setSpec(x, "expiresAt", rapidjson::Value("2026-12-02T12:30:00+02:00")); });
  EXPECT_EQ(approval::decide(action(), record(action()), &d, kNow + minutes(29)).verdict, Verdict::Wait);
  EXPECT_EQ(approval::decide(action(), record(action()), &d, kNow + minutes(31)).verdict, Verdict::Expired);
}

TEST(Approval, CreatedBeforeTheControllerAsked_Rejected) {
  // Same name, approved, everything else as the controller would write it,
  // but the run's status never recorded it: not the controller's.
  auto d = request(action(), [](auto& x) { decideAs(x, "Approved", "mallory"); });
  auto r = approval::decide(action(), std::nullopt, &d, kNow);
  EXPECT_EQ(r.verdict, Verdict::Rejected);
  EXPECT_TRUE(mentions(r.why, "why-config-2-5 was not created by the controller")) << r.why;
  // Pending as well: the controller never adopts a request it did not create.
  auto p = request(action());
  EXPECT_EQ(approval::decide(action(), std::nullopt, &p, kNow).verdict, Verdict::Rejected);
}

TEST(Approval, PreCreatedBeforeTheRunExisted_RejectedAndSaysNotOwned) {
  auto d = request(action(), [](auto& x) {
    x["metadata"].RemoveMember("ownerReferences");
    x["spec"]["runRef"].RemoveMember("uid");
    x["spec"].RemoveMember("actionDigest");
    decideAs(x, "Approved", "mallory");
  });
  auto r = approval::decide(action(), std::nullopt, &d, kNow);
  EXPECT_EQ(r.verdict, Verdict::Rejected);
  EXPECT_TRUE(mentions(r.why, "not owned by DiagnosticRun why-config")) << r.why;
  EXPECT_TRUE(mentions(r.why, "spec.runRef.uid is missing")) << r.why;
  EXPECT_TRUE(mentions(r.why, "spec.actionDigest is missing")) << r.why;
}

TEST(Approval, DeletedAndRecreated_Rejected) {
  // Recreated by someone else: a different UID than the one recorded, even
  // though it copies every field of the original.
  auto d = request(action(), [](auto& x) {
    x["metadata"]["uid"].SetString("99999999-0000-4000-8000-000000000000");
    decideAs(x, "Approved", "mallory");
  });
  auto r = approval::decide(action(), record(action()), &d, kNow);
  EXPECT_EQ(r.verdict, Verdict::Rejected);
  EXPECT_TRUE(mentions(r.why, "not the one the controller created")) << r.why;
  EXPECT_TRUE(mentions(r.why, "deleted and recreated")) << r.why;
  // Deleted, not recreated.
  auto gone = approval::decide(action(), record(action()), nullptr, kNow);
  EXPECT_EQ(gone.verdict, Verdict::Rejected);
  EXPECT_TRUE(mentions(gone.why, "was deleted before a decision")) << gone.why;
}

TEST(Approval, LeftFromAnEarlierGeneration_Rejected) {
  auto gen1 = action();
  gen1.generation = 1;
  auto d = request(gen1, [](auto& x) { decideAs(x, "Approved", "alice"); });
  // After the spec change the fresh run recorded nothing for step 5 yet.
  auto r = approval::decide(action(), std::nullopt, &d, kNow);
  EXPECT_EQ(r.verdict, Verdict::Rejected);
  EXPECT_TRUE(mentions(r.why, "it is for generation 1 of the run, which is at generation 2")) << r.why;
  // Even with a (stale) record of generation 1 carried over.
  EXPECT_EQ(approval::decide(action(), record(gen1), &d, kNow).verdict, Verdict::Rejected);
}

TEST(Approval, ArgumentsDiffer_Rejected) {
  auto other = action();
  other.argsJson = R"({"name":"prod-secrets"})";
  // A self-consistent request (its digest matches its own action) for other arguments.
  auto d = request(other, [](auto& x) { decideAs(x, "Approved", "mallory"); });
  auto r = approval::decide(action(), std::nullopt, &d, kNow);
  EXPECT_EQ(r.verdict, Verdict::Rejected);
  EXPECT_TRUE(mentions(r.why, R"(spec.action.args {"name":"prod-secrets"} differ from the step's arguments {"name":"app-config"})"))
      << r.why;
  // Even if it were the recorded object (the CRD makes action immutable, so
  // only a changed CRD could get here), the arguments are compared.
  auto rec = approval::decide(action(), record(action()), &d, kNow);
  EXPECT_EQ(rec.verdict, Verdict::Rejected);
  EXPECT_TRUE(mentions(rec.why, "does not match the step it would approve")) << rec.why;
  // Same arguments written in another order or spacing are the same arguments.
  auto same = request(action(), [](auto& x) {
    rapidjson::Document args;
    args.Parse(R"({ "name" : "app-config" })");
    x["spec"]["action"]["args"].CopyFrom(args, x.GetAllocator());
    decideAs(x, "Approved", "alice");
  });
  EXPECT_EQ(approval::decide(action(), record(action()), &same, kNow).verdict, Verdict::Approved);
}

TEST(Approval, NotOwnedByTheRun_Rejected) {
  // Every spec field right (digest included), but no controller reference.
  auto noOwner = request(action(), [](auto& x) {
    x["metadata"].RemoveMember("ownerReferences");
    decideAs(x, "Approved", "mallory");
  });
  auto r = approval::decide(action(), std::nullopt, &noOwner, kNow);
  EXPECT_EQ(r.verdict, Verdict::Rejected);
  EXPECT_TRUE(mentions(r.why, "not owned by DiagnosticRun why-config")) << r.why;
  // The recorded object whose ownerReference was edited away or demoted.
  EXPECT_EQ(approval::decide(action(), record(action()), &noOwner, kNow).verdict, Verdict::Rejected);
  auto notController = request(action(), [](auto& x) {
    x["metadata"]["ownerReferences"][0]["controller"].SetBool(false);
    decideAs(x, "Approved", "mallory");
  });
  EXPECT_EQ(approval::decide(action(), record(action()), &notController, kNow).verdict, Verdict::Rejected);
  auto otherRun = request(action(), [](auto& x) {
    x["metadata"]["ownerReferences"][0]["uid"].SetString("00000000-0000-4000-8000-000000000000");
    decideAs(x, "Approved", "mallory");
  });
  EXPECT_EQ(approval::decide(action(), record(action()), &otherRun, kNow).verdict, Verdict::Rejected);
}

TEST(Approval, EveryBoundFieldIsChecked) {
  struct Case {
    const char* name;
    std::function<void(rapidjson::Document&)> edit;
    const char* why;
  };
  const std::vector<Case> cases = {
      {"runRef.name", [](auto& x) { x["spec"]["runRef"]["name"].SetString("other-run"); },
       R"(spec.runRef.name is "other-run", not "why-config")"},
      {"runRef.uid", [](auto& x) { x["spec"]["runRef"]["uid"].SetString("u2"); }, R"(spec.runRef.uid "u2" is not the run's UID)"},
      {"runGeneration missing", [](auto& x) { x["spec"].RemoveMember("runGeneration"); }, "spec.runGeneration is missing"},
      {"stepID", [](auto& x) { x["spec"]["stepID"].SetInt(4); }, "spec.stepID is 4, not 5"},
      {"tool", [](auto& x) { x["spec"]["action"]["tool"].SetString("read_secret"); },
       R"(spec.action.tool is "read_secret", not "read_configmap_data")"},
      {"args missing", [](auto& x) { x["spec"]["action"].RemoveMember("args"); }, "spec.action.args {} differ"},
      {"digest", [](auto& x) { x["spec"]["actionDigest"].SetString("sha256:0000000000000000000000000000000000000000000000000000000000000000"); },
       "spec.actionDigest does not match the step's action"},
      {"expiresAt missing", [](auto& x) { x["spec"].RemoveMember("expiresAt"); }, "spec.expiresAt is missing or not an RFC 3339 time"},
      {"expiresAt garbage", [](auto& x) { x["spec"]["expiresAt"].SetString("tomorrow"); }, "spec.expiresAt is missing or not an RFC 3339 time"},
  };
  for (const auto& c : cases) {
    auto d = request(action(), [&](auto& x) {
      c.edit(x);
      decideAs(x, "Approved", "alice");
    });
    auto r = approval::decide(action(), record(action()), &d, kNow);
    EXPECT_EQ(r.verdict, Verdict::Rejected) << c.name;
    EXPECT_TRUE(mentions(r.why, c.why)) << c.name << ": " << r.why;
  }
}

TEST(Approval, TheRecordSurvivesTheStatusRedaction) {
  // Every status string passes the sink redactor before it is written; a
  // redacted UID would make the controller refuse its own request.
  for (const char* uid : {kAprUID, "0e8f1c5b-7a3d-4f9e-b2c6-d1a4e7f80c93", "f47ac10b-58cc-4372-a567-0e02b2c3d479"}) {
    auto rec = record(action(), uid);
    const auto msg = approval::recordMessage(rec, "read_configmap_data");
    EXPECT_EQ(agent::redactForSink(msg), msg);
  }
}

// Each generation of a run asks under its own name, so a spec change never
// finds the previous generation's request in its way; read from the right,
// a name belongs to exactly one run, generation and step.
TEST(Approval, RequestNamesAreUniquePerRunGenerationAndStep) {
  EXPECT_EQ(approval::requestName("why-config", 1, 3), "why-config-1-3");
  EXPECT_EQ(approval::requestName("why-config", 2, 3), "why-config-2-3");
  EXPECT_NE(approval::requestName("a-2", 1, 3), approval::requestName("a", 2, 3));
  const std::string longName(250, 'r');
  const auto name = approval::requestName(longName, 12, 7);
  EXPECT_LE(name.size(), 253u);
  EXPECT_EQ(name.substr(name.size() - 5), "-12-7");
  EXPECT_NE(name, approval::requestName(std::string(249, 'r') + "s", 12, 7));
  // A prefix that would end in a separator is trimmed to a valid name.
  const auto dotted = approval::requestName(std::string(230, 'r') + "." + std::string(30, 'x'), 1, 1);
  EXPECT_LE(dotted.size(), 253u);
  EXPECT_EQ(dotted.find(".-"), std::string::npos);
}
