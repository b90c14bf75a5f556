#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

#include "agent/args_schema.h"
#include "agent/tool.h"

using namespace opscopilot::agent;

namespace {

const char* kSchema = R"({"type":"object","properties":{
  "kind":{"type":"string","enum":["Deployment","Job"]},
  "name":{"type":"string","minLength":1,"maxLength":8,"pattern":"^[a-z0-9-]+$"},
  "tailLines":{"type":"integer","minimum":1,"maximum":1000},
  "names":{"type":"array","items":{"type":"string","minLength":1},"maxItems":2}},
  "required":["name"],"additionalProperties":false})";

std::string check(const ArgsSchema& schema, const char* json) {
  rapidjson::Document d;
  d.Parse(json);
  EXPECT_FALSE(d.HasParseError()) << json;
  return schema.validate(d);
}

}  // namespace

TEST(ArgsSchema, AcceptsArgumentsThatSatisfyTheSchema) {
  auto schema = ArgsSchema::compile(kSchema);
  ASSERT_EQ(schema.error(), "");
  EXPECT_EQ(check(schema, R"({"name":"web","kind":"Job","tailLines":10,"names":["a"]})"), "");
  EXPECT_EQ(check(schema, R"({"name":"web"})"), "");
}

TEST(ArgsSchema, NamesTheOffendingMemberInOneReadableLine) {
  auto schema = ArgsSchema::compile(kSchema);
  EXPECT_EQ(check(schema, R"({"kind":"Job"})"), "args.name: required");
  EXPECT_EQ(check(schema, R"({"name":5})"), "args.name: must be of type string");
  EXPECT_EQ(check(schema, R"({"name":"web","rm":"-rf"})"), "args.rm: unknown argument");
  EXPECT_EQ(check(schema, R"({"name":"web","tailLines":0})"), "args.tailLines: below the minimum 1");
  EXPECT_EQ(check(schema, R"({"name":"web","tailLines":5000})"), "args.tailLines: above the maximum 1000");
  EXPECT_EQ(check(schema, R"({"name":"web","tailLines":2.5})"), "args.tailLines: must be of type integer");
  EXPECT_EQ(check(schema, R"({"name":"web","tailLines":99999999999999999999})"), "args.tailLines: must be of type integer");
  EXPECT_EQ(check(schema, R"({"name":"web","kind":"Pod"})"), "args.kind: not one of the allowed values (Deployment, Job)");
  EXPECT_EQ(check(schema, R"({"name":""})"), "args.name: too short (at least 1 characters)");
  EXPECT_EQ(check(schema, R"({"name":"much-too-long"})"), "args.name: too long (at most 8 characters)");
  EXPECT_EQ(check(schema, R"({"name":"a b"})"), "args.name: does not match the pattern ^[a-z0-9-]+$");
  EXPECT_EQ(check(schema, R"({"name":"web","names":["a",""]})"), "args.names[1]: too short (at least 1 characters)");
  EXPECT_EQ(check(schema, R"({"name":"web","names":["a","b","c"]})"), "args.names: too many items (at most 2)");
  EXPECT_EQ(check(schema, R"([1,2])"), "args: must be of type object");
}

TEST(ArgsSchema, AnUnknownMemberNameIsPrintedOnOneShortLine) {
  auto schema = ArgsSchema::compile(kSchema);
  std::string name(200, 'x');
  auto json = R"({"name":"web","a\nb)" + name + R"(":1})";
  auto err = check(schema, json.c_str());
  EXPECT_EQ(err.find('\n'), std::string::npos) << err;
  EXPECT_LT(err.size(), 120u) << err;
  EXPECT_EQ(err.rfind("args.a?bxxx", 0), 0u) << err;
}

TEST(ArgsSchema, AMalformedSchemaFailsClosed) {
  for (const char* bad : {
           R"({"type":"object",)",                                               // not JSON
           R"({"type":"object","requried":["name"]})",                           // misspelt keyword
           R"({"type":"object","properties":{"n":{"type":"strin"}}})",          // unknown type
           R"({"type":"object","properties":{"n":{"minLength":-1}}})",          // bad bound
           R"({"type":"object","properties":{"n":{"pattern":"[a-"}}})",         // pattern does not compile
           R"({"type":"object","properties":{"n":{"pattern":"a","pattern":"(*a?){20}"}}})",  // a member twice
           R"({"type":"object","additionalProperties":{"type":"string"}})",     // outside the subset
           R"({"type":"array"})",                                                // root is not an object schema
           R"({"properties":{}})",                                               // root without a type
           R"("anything")",
       }) {
    auto schema = ArgsSchema::compile(bad);
    EXPECT_NE(schema.error(), "") << bad;
    auto err = check(schema, R"({})");
    EXPECT_EQ(err.rfind("args: refused, the tool's schema is invalid: ", 0), 0u) << bad << " -> " << err;
    EXPECT_NE(check(schema, R"({"n":"x","name":"y"})"), "") << bad;
  }
}

namespace {

class SchemaTool : public Tool {
 public:
  explicit SchemaTool(std::string schema) {
    spec_.name = "probe";
    spec_.argsSchema = std::move(schema);
  }
  const ToolSpec& spec() const override { return spec_; }
  ToolOutput run(const ToolContext&, const rapidjson::Value&) override { return {}; }

 private:
  ToolSpec spec_;
};

}  // namespace

TEST(ArgsSchema, RegisteringAToolWhoseSchemaDoesNotCompileIsAStartupError) {
  ToolRegistry registry;
  EXPECT_THROW(registry.add(std::make_unique<SchemaTool>(R"({"type":"object","requried":["x"]})")), std::invalid_argument);
  EXPECT_EQ(registry.find("probe"), nullptr);
  registry.add(std::make_unique<SchemaTool>(R"({"type":"object","properties":{"x":{"type":"integer"}},"additionalProperties":false})"));
  rapidjson::Document d;
  d.Parse(R"({"x":"1"})");
  EXPECT_EQ(registry.checkArgs("probe", d), "args.x: must be of type integer");
  EXPECT_EQ(registry.checkArgs("nope", d), "unknown tool nope");
}

TEST(ArgsSchema, ConcurrentValidationOfAPatternIsSafe) {
  auto schema = ArgsSchema::compile(kSchema);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&schema, t] {
      for (int i = 0; i < 500; ++i) {
        const bool good = (i + t) % 2 == 0;
        rapidjson::Document d;
        d.Parse(good ? R"({"name":"web-1"})" : R"({"name":"web 1"})");
        EXPECT_EQ(schema.validate(d).empty(), good);
      }
    });
  }
  for (auto& th : threads) th.join();
}

// Found by tests/fuzz/args_schema: RapidJSON 1.1.0's pointer printing read
// past a member name ending in a cut UTF-8 sequence.
TEST(ArgsSchema, AMisspeltKeywordEndingInACutUtf8SequenceIsReportedSafely) {
  auto schema = ArgsSchema::compile("{\"type\":\"object\",\"properties\":{\"kind\":{\"typ\xe5\":\"string\"}}}");
  EXPECT_EQ(schema.error().rfind("schema breaks the supported subset at #/properties/kind/typ", 0), 0u) << schema.error();
  EXPECT_NE(schema.error().find("(keyword additionalProperties)"), std::string::npos) << schema.error();
}

// Found by tests/fuzz/args_schema: RapidJSON's regex recursed once per state
// while matching, so nested repetition overflowed the stack. Patterns now
// run on RE2 (linear time, no recursion, bounded memory).
TEST(ArgsSchema, APatternWithDeepRepetitionIsMatchedWithoutRecursion) {
  auto schema = ArgsSchema::compile(R"({"type":"object","properties":{"n":{"type":"string","pattern":"^((a?){100}){10}b$"}}})");
  ASSERT_EQ(schema.error(), "");
  EXPECT_EQ(check(schema, R"({"n":"aaaab"})"), "");
  const std::string longValue = R"({"n":")" + std::string(100000, 'a') + R"("})";
  EXPECT_EQ(check(schema, longValue.c_str()).rfind("args.n: does not match the pattern", 0), 0u);
  // Too big to build within the memory bound: refused when compiled.
  auto huge = ArgsSchema::compile(R"j({"type":"object","properties":{"n":{"pattern":"((((a{1000}){1000}){1000}){1000})"}}})j");
  EXPECT_EQ(huge.error().rfind("schema #/properties/n/pattern: does not compile", 0), 0u) << huge.error();
}

TEST(ArgsSchema, APatternIsASearchAndAppliesToArrayItems) {
  auto schema = ArgsSchema::compile(R"({"type":"object","properties":{
    "s":{"type":"string","pattern":"b+"},
    "l":{"type":"array","items":{"type":"string","pattern":"^x"}}}})");
  ASSERT_EQ(schema.error(), "");
  EXPECT_EQ(check(schema, R"({"s":"abba"})"), "");
  EXPECT_EQ(check(schema, R"({"s":"aaa"})"), "args.s: does not match the pattern b+");
  EXPECT_EQ(check(schema, R"({"l":["x1","y2"]})"), "args.l[1]: does not match the pattern ^x");
  // A member named "pattern" is a member, not the keyword.
  auto named = ArgsSchema::compile(R"({"type":"object","properties":{"pattern":{"type":"string"}}})");
  ASSERT_EQ(named.error(), "");
  EXPECT_EQ(check(named, R"({"pattern":"anything"})"), "");
}
