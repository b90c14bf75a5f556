// The redaction corpus: realistic secrets as kubelets, apps and Events put
// them (termination messages, panics, connection errors, JSON logs, PEM
// blocks) that must go, and look-alikes (digests, UIDs, hashes, IPs, Event
// messages about passwords) that must stay. One gtest case per corpus entry,
// so every failing entry is reported at once.
//
// tests/fixtures/redaction/corpus.json: [{"name", "kind": "secret"|"lookalike",
// "input", "must_not_contain": [...], "must_contain": [...], "unchanged"?}]
#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <cctype>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "agent/redaction.h"

using namespace opscopilot::agent;

namespace {

struct CorpusCase {
  std::string name;
  std::string kind;
  std::string input;
  std::vector<std::string> mustNotContain;
  std::vector<std::string> mustContain;
  bool unchanged = false;
  std::string loadError;  // set on the single placeholder case when the file cannot be read
};

// gtest prints the parameter of a failing case: its name, not its bytes.
void PrintTo(const CorpusCase& c, std::ostream* os) { *os << c.kind << " " << c.name; }

std::string corpusPath() { return std::string(OPSCOPILOT_SOURCE_DIR) + "/tests/fixtures/redaction/corpus.json"; }

std::vector<CorpusCase> loadCorpus() {
  std::ifstream in(corpusPath());
  if (!in) return {CorpusCase{.name = "corpus_missing", .loadError = "cannot read " + corpusPath()}};
  std::stringstream ss;
  ss << in.rdbuf();
  rapidjson::Document d;
  d.Parse(ss.str().c_str());
  if (d.HasParseError() || !d.IsArray())
    return {CorpusCase{.name = "corpus_unparsable", .loadError = corpusPath() + " is not a JSON array"}};
  std::vector<CorpusCase> out;
  auto strings = [](const rapidjson::Value& obj, const char* key) {
    std::vector<std::string> v;
    if (obj.HasMember(key) && obj[key].IsArray())
      for (const auto& s : obj[key].GetArray()) v.emplace_back(s.GetString(), s.GetStringLength());
    return v;
  };
  for (const auto& c : d.GetArray()) {
    CorpusCase k;
    k.name = c["name"].GetString();
    k.kind = c["kind"].GetString();
    k.input.assign(c["input"].GetString(), c["input"].GetStringLength());
    k.mustNotContain = strings(c, "must_not_contain");
    k.mustContain = strings(c, "must_contain");
    k.unchanged = c.HasMember("unchanged") && c["unchanged"].GetBool();
    out.push_back(std::move(k));
  }
  return out;
}

const std::vector<CorpusCase>& corpus() {
  static const auto c = loadCorpus();
  return c;
}

class RedactionCorpus : public ::testing::TestWithParam<CorpusCase> {};

TEST_P(RedactionCorpus, Case) {
  const auto& c = GetParam();
  ASSERT_TRUE(c.loadError.empty()) << c.loadError;
  const auto r = redactSecrets(c.input);
  if (c.kind == "secret") {
    EXPECT_GE(r.redactions, 1) << "nothing redacted in:\n" << c.input;
    EXPECT_NE(r.text.find(kRedactedMarker), std::string::npos) << r.text;
  } else {
    ASSERT_EQ(c.kind, "lookalike");
  }
  for (const auto& s : c.mustNotContain)
    EXPECT_EQ(r.text.find(s), std::string::npos) << "leaked: " << s << "\nin:\n" << r.text;
  for (const auto& s : c.mustContain) EXPECT_NE(r.text.find(s), std::string::npos) << "lost: " << s << "\nin:\n" << r.text;
  if (c.unchanged) {
    EXPECT_EQ(r.text, c.input);
    EXPECT_EQ(r.redactions, 0);
  }
  // Redacting again changes nothing (the sinks may redact what the executor
  // already redacted).
  const auto again = redactSecrets(r.text);
  EXPECT_EQ(again.text, r.text);
  EXPECT_EQ(again.redactions, 0);
}

INSTANTIATE_TEST_SUITE_P(Corpus, RedactionCorpus, ::testing::ValuesIn(corpus()),
                         [](const ::testing::TestParamInfo<CorpusCase>& info) {
                           std::string n = info.param.kind + "_" + info.param.name;
                           for (auto& ch : n)
                             if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           return n;
                         });

TEST(RedactionCorpusFile, HasAtLeastOneHundredCasesOfBothKinds) {
  int secrets = 0, lookalikes = 0;
  for (const auto& c : corpus()) (c.kind == "secret" ? secrets : lookalikes)++;
  EXPECT_GE(secrets + lookalikes, 100);
  EXPECT_GE(secrets, 50);
  EXPECT_GE(lookalikes, 30);
  std::cout << "[ corpus   ] " << secrets << " secrets, " << lookalikes << " look-alikes\n";
}

double secondsFor(const std::string& text, Redacted& out) {
  const auto t0 = std::chrono::steady_clock::now();
  out = redactSecrets(text);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

constexpr std::size_t kMiB = 1024 * 1024;

// One line of a megabyte: a JSON log line with secrets at the start, in the
// middle and at the very end, and ordinary fields in between.
TEST(RedactionLargeInput, OneMebibyteSingleLine) {
  std::string line = R"({"level":"error","password":"first-Secr3t","msg":")";
  const std::string filler =
      "GET /api/v1/orders/42 200 12ms user=alice ip=10.244.1.7:8080 image=ghcr.io/shop/app@sha256:"
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 ";
  while (line.size() < kMiB / 2) line += filler;
  line += "postgres://app:middle-Secr3t@db:5432/orders ";
  while (line.size() < kMiB - 100) line += filler;
  line += R"(","token":"last-t0ken-value"})";
  Redacted r;
  const double s = secondsFor(line, r);
  std::cout << "[ timing   ] 1 MiB single line: " << s * 1000 << " ms, " << r.redactions << " redactions\n";
  EXPECT_EQ(r.redactions, 3);
  for (const char* secret : {"first-Secr3t", "middle-Secr3t", "last-t0ken-value"})
    EXPECT_EQ(r.text.find(secret), std::string::npos) << secret;
  EXPECT_NE(r.text.find("postgres://app:[REDACTED]@db:5432/orders"), std::string::npos);
  const std::size_t secretBytes = std::string("first-Secr3tmiddle-Secr3tlast-t0ken-value").size();
  EXPECT_EQ(r.text.size(), line.size() - secretBytes + 3 * kRedactedMarker.size());
}

// A megabyte of text that almost matches every detector, and must come out
// unchanged.
TEST(RedactionLargeInput, OneMebibyteOfNearMatches) {
  const std::vector<std::string> near = {
      "AKIA1234 ",  "ghp_short ",       "eyJhbGciOi.e30 ",   "postgres://app@db:5432/x ", "password ",
      "token:\n",   "-----BEGIN CERTIFICATE----- ",        "sk-abc ",           "Bearer ",   "Basic auth ",
      "xoxb- ",     "hooks.slack.com/services/ ",          "AIza ",             "redis://:@h ",
      "api_key\n",  "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 ",
      "secretKeyRef ", "password authentication failed ", "key: password ",     "://:",
      "-----BEGIN PRIVATE", "app:@tcp( ",   "sig=abc ",  "npm_abc ",  "hvs. ",    "ya29. ",
  };
  std::string text;
  for (std::size_t i = 0; text.size() < kMiB; ++i) text += near[i % near.size()];
  Redacted r;
  const double s = secondsFor(text, r);
  std::cout << "[ timing   ] 1 MiB of near-matches: " << s * 1000 << " ms\n";
  EXPECT_EQ(r.redactions, 0);
  EXPECT_EQ(r.text, text);

  // The same on one line without blanks, which makes every run of characters
  // one long candidate.
  static constexpr std::string_view b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string oneToken;
  for (std::uint32_t x = 8; oneToken.size() < kMiB;) {
    x = x * 1664525u + 1013904223u;
    oneToken += b64[(x >> 24) % 64];
  }
  const double s2 = secondsFor("secret key " + oneToken, r);
  std::cout << "[ timing   ] 1 MiB single random token after a key word: " << s2 * 1000 << " ms\n";
  EXPECT_EQ(r.text, "secret key [REDACTED]") << "a long random token after a key word is a secret";

  std::string keys;
  while (keys.size() < kMiB) keys += "password=password=";
  const double s3 = secondsFor(keys, r);
  std::cout << "[ timing   ] 1 MiB of repeated key=key=: " << s3 * 1000 << " ms\n";
  EXPECT_EQ(r.text.find("password=password"), std::string::npos);

  std::string pems;
  while (pems.size() < kMiB) pems += "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n";
  const double s4 = secondsFor(pems, r);
  std::cout << "[ timing   ] 1 MiB of unterminated PEM headers: " << s4 * 1000 << " ms\n";
  EXPECT_EQ(r.text.find("MIIE"), std::string::npos);
}

}  // namespace
