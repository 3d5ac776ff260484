#include "registry/json_writer.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "simdjson.h"

namespace icaht::registry {
namespace json_writer_test {

// True if simdjson accepts `text` as one complete JSON document.
bool IsValidJson(const std::string& text) {
  simdjson::dom::parser parser;
  simdjson::dom::element element;
  return parser.parse(text).get(element) == simdjson::SUCCESS;
}

// Parses `text` (one JSON string) back and returns its value.
std::string ReadBackString(const std::string& text) {
  simdjson::dom::parser parser;
  std::string_view value;
  EXPECT_EQ(parser.parse(text).get_string().get(value), simdjson::SUCCESS) << text;
  return std::string(value);
}

TEST(JsonWriterTest, NestedContainersGetCommasAndColons) {
  JsonWriter w;
  w.StartObject();
  w.Key("a").Int(-1);
  w.Key("b").StartArray().Uint(1).Bool(true).Null().StartObject().EndObject().StartArray();
  w.EndArray().EndArray();
  w.Key("c").String("x");
  w.EndObject();
  EXPECT_EQ(w.str(), R"({"a":-1,"b":[1,true,null,{},[]],"c":"x"})");
  EXPECT_TRUE(IsValidJson(w.str()));
}

TEST(JsonWriterTest, EmptyContainers) {
  EXPECT_EQ(std::move(JsonWriter().StartObject().EndObject()).Take(), "{}");
  EXPECT_EQ(std::move(JsonWriter().StartArray().EndArray()).Take(), "[]");
}

TEST(JsonWriterTest, ScalarsAtTopLevel) {
  EXPECT_EQ(JsonWriter().String("hi").str(), "\"hi\"");
  EXPECT_EQ(JsonWriter().Uint(std::numeric_limits<uint64_t>::max()).str(), "18446744073709551615");
  EXPECT_EQ(JsonWriter().Int(std::numeric_limits<int64_t>::min()).str(), "-9223372036854775808");
  EXPECT_EQ(JsonWriter().Bool(false).str(), "false");
}

TEST(JsonWriterTest, DoublesAreShortestAndNonFiniteIsNull) {
  EXPECT_EQ(JsonWriter().Double(0.1).str(), "0.1");
  EXPECT_EQ(JsonWriter().Double(2.0).str(), "2");
  EXPECT_EQ(JsonWriter().Double(1e300).str(), "1e+300");
  EXPECT_EQ(JsonWriter().Double(std::nan("")).str(), "null");
  EXPECT_EQ(JsonWriter().Double(std::numeric_limits<double>::infinity()).str(), "null");
  EXPECT_TRUE(IsValidJson(JsonWriter().Double(1e300).str()));
}

TEST(JsonWriterTest, EscapesQuotesBackslashesAndControlCharacters) {
  std::string input = "q\"b\\s/n\nr\rt\tb\bf\f";
  input.push_back('\0');
  input += "\x01\x1f\x7f";
  std::string out = JsonWriter().String(input).str();
  EXPECT_EQ(out, "\"q\\\"b\\\\s/n\\nr\\rt\\tb\\bf\\f\\u0000\\u0001\\u001f\x7f\"");
  EXPECT_TRUE(IsValidJson(out));
  EXPECT_EQ(ReadBackString(out), input);
}

TEST(JsonWriterTest, KeepsValidUtf8AndReplacesInvalidBytes) {
  std::string valid = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80";  // é € 😀
  EXPECT_EQ(JsonWriter().String(valid).str(), "\"" + valid + "\"");

  // A lone continuation byte, a truncated sequence, an overlong '/', a UTF-16
  // surrogate and a code point above U+10FFFF: each becomes U+FFFD.
  const std::string kReplacement = "\xEF\xBF\xBD";
  for (std::string bad :
       {"\x80", "\xE2\x82", "\xC0\xAF", "\xED\xA0\x80", "\xF4\x90\x80\x80", "\xFF"}) {
    std::string out = JsonWriter().String("a" + bad + "b").str();
    EXPECT_TRUE(IsValidJson(out)) << out;
    std::string back = ReadBackString(out);
    EXPECT_EQ(back.front(), 'a');
    EXPECT_EQ(back.back(), 'b');
    EXPECT_NE(back.find(kReplacement), std::string::npos);
  }
}

TEST(JsonWriterTest, KeysAreEscapedToo) {
  JsonWriter w;
  w.StartObject().Key("a\"b").Int(1).EndObject();
  EXPECT_EQ(w.str(), R"({"a\"b":1})");
}

TEST(JsonWriterTest, RawValueIsInsertedAsOneValue) {
  JsonWriter w;
  w.StartObject().Key("services").StartArray().RawValue(R"({"x":1})").RawValue("[2]").EndArray();
  w.EndObject();
  EXPECT_EQ(w.str(), R"({"services":[{"x":1},[2]]})");
}

TEST(JsonWriterTest, ErrorBody) {
  EXPECT_EQ(JsonErrorBody("not_found", "service 'x' is not registered"),
            R"({"error":{"code":"not_found","message":"service 'x' is not registered"}})");
  std::string body = JsonErrorBody("bad\"code", "line1\nline2 \x01");
  EXPECT_TRUE(IsValidJson(body)) << body;
}

}  // namespace json_writer_test
}  // namespace icaht::registry
