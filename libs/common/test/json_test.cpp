#include "flowex/common/json.hpp"

#include <gtest/gtest.h>

#include "flowex/common/utf8.hpp"

namespace flowex::common {
namespace {

TEST(Json, ParsesNestedDocumentKeepingNumberText) {
    auto doc = ParseJson(R"({"a":[1,2.50,{"b":null}],"s":"x\"y","t":true,"big":18446744073709551615})");
    ASSERT_TRUE(doc.ok()) << doc.error().message;
    const JsonValue* a = doc->Find("a");
    ASSERT_NE(a, nullptr);
    ASSERT_TRUE(a->is_array());
    EXPECT_EQ(a->as_array()[1].number_text(), "2.50");
    EXPECT_TRUE(a->as_array()[2].Find("b")->is_null());
    EXPECT_EQ(doc->Find("s")->as_string(), "x\"y");
    EXPECT_EQ(doc->Find("big")->ToUint64().value(), 18446744073709551615ULL);
    EXPECT_FALSE(doc->Find("big")->ToInt64().has_value());
}

TEST(Json, MalformedInputIsInvalidJson) {
    for (const char* s : {"", "{", "{\"a\":}", "[1,]", "nul", "{\"a\":1}x", "\"\\x\"", "{'a':1}"}) {
        auto r = ParseJson(s);
        ASSERT_FALSE(r.ok()) << s;
        EXPECT_EQ(r.error().code, ErrorCode::kInvalidJson);
    }
}

TEST(Json, DeepNestingIsRejectedNotACrash) {
    std::string deep(100000, '[');
    auto r = ParseJson(deep);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidJson);
}

TEST(Json, ElementLimitIsEnforced) {
    std::string many = "[";
    for (int i = 0; i < 100; ++i) { many += "1,"; }
    many += "1]";
    EXPECT_FALSE(ParseJson(many, JsonLimits{.max_elements = 50}).ok());
    EXPECT_TRUE(ParseJson(many).ok());
}

TEST(JsonObjectReader, WrongTypeIsInvalidJsonMissingIsValidation) {
    auto doc = ParseJson(R"({"symbol": 5, "quantity": "10"})");
    ASSERT_TRUE(doc.ok());
    JsonObjectReader r(*doc);
    EXPECT_EQ(r.String("symbol").error().code, ErrorCode::kInvalidJson);
    EXPECT_EQ(r.Int("quantity", 1, 100).error().code, ErrorCode::kInvalidJson);
    EXPECT_EQ(r.String("side").error().code, ErrorCode::kValidation);
}

TEST(JsonObjectReader, IntRangeAndFractions) {
    auto doc = ParseJson(R"({"q": 10, "f": 1.5, "n": -1})");
    ASSERT_TRUE(doc.ok());
    JsonObjectReader r(*doc);
    EXPECT_EQ(r.Int("q", 1, 100).value(), 10);
    EXPECT_EQ(r.Int("f", 1, 100).error().code, ErrorCode::kValidation);
    EXPECT_EQ(r.Int("n", 1, 100).error().code, ErrorCode::kValidation);
}

TEST(JsonObjectReader, AFieldGivenTwiceIsInvalidJson) {
    auto doc = ParseJson(R"({"amount":1,"amount":2,"note":"a","note":"b","symbol":"AAPL"})");
    ASSERT_TRUE(doc.ok());
    JsonObjectReader r(*doc);
    auto amount = r.Cents("amount", 1, 100000);
    ASSERT_FALSE(amount.ok());
    EXPECT_EQ(amount.error().code, ErrorCode::kInvalidJson);
    EXPECT_EQ(amount.error().message, "field 'amount' appears more than once");
    EXPECT_EQ(*r.String("symbol"), "AAPL");  // fields given once read as before
}

TEST(JsonObjectReader, NonObjectBody) {
    auto doc = ParseJson("[1]");
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(JsonObjectReader(*doc).String("a").error().code, ErrorCode::kInvalidJson);
}

TEST(JsonWriter, WritesMoneyWithTwoDecimalsAndEscapes) {
    JsonWriter w;
    w.BeginObject()
        .Field("name", "a\"b\n")
        .Key("balance").Cents(15000)
        .Field("n", std::int64_t{-3})
        .Key("list").BeginArray().Int(1).Null().Bool(true).EndArray()
        .EndObject();
    EXPECT_EQ(w.str(), R"({"name":"a\"b\n","balance":150.00,"n":-3,"list":[1,null,true]})");
}

TEST(JsonWriter, RoundTripsADom) {
    const char* text = R"({"a":[1,2.50,{"b":null}],"s":"\u0001"})";
    auto doc = ParseJson(text);
    ASSERT_TRUE(doc.ok());
    EXPECT_EQ(ToJson(*doc), text);
}

// A client's bytes (an unknown symbol, a query parameter) quoted in an answer must not make it
// invalid JSON: ill-formed UTF-8 is written as U+FFFD, well-formed text as it is.
TEST(JsonWriter, IllFormedUtf8IsWrittenAsReplacementCharacters) {
    JsonWriter w;
    w.BeginObject()
        .Field("bad", std::string_view("x\xFFy\xC3"))
        .Field(std::string_view("k\x80"), "caf\xC3\xA9 \xF0\x9F\x9A\x80")
        .EndObject();
    EXPECT_EQ(w.str(),
              "{\"bad\":\"x\xEF\xBF\xBDy\xEF\xBF\xBD\",\"k\xEF\xBF\xBD\":"
              "\"caf\xC3\xA9 \xF0\x9F\x9A\x80\"}");
    auto doc = ParseJson(w.str());
    ASSERT_TRUE(doc.ok()) << doc.error().message;
    EXPECT_EQ(doc->Find("bad")->as_string(), "x\xEF\xBF\xBDy\xEF\xBF\xBD");
}

TEST(Utf8, WellFormedSequencesAreKeptEveryOtherByteIsReplaced) {
    const std::string r(kUtf8Replacement);
    struct Case {
        std::string in, out;
    };
    const Case cases[] = {
        {"", ""},
        {"plain ascii, longer than one 8-byte word", "plain ascii, longer than one 8-byte word"},
        {"\xC3\xA9\xE2\x82\xAC\xF0\x9F\x9A\x80\xF4\x8F\xBF\xBF",
         "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x9A\x80\xF4\x8F\xBF\xBF"},
        {"\x80", r},                               // a continuation byte alone
        {"\xC0\xAF", r + r},                       // overlong '/'
        {"\xE0\x80\xAF", r + r + r},               // overlong, three bytes
        {"\xED\xA0\x80", r + r + r},               // a UTF-16 surrogate
        {"\xF4\x90\x80\x80", r + r + r + r},       // above U+10FFFF
        {"\xF5\x80", r + r},                       // no such lead byte
        {"12345678\xE2\x82", "12345678" + r + r},  // truncated at the end, past a word
        {"a\xE2\x82"
         "b",
         "a" + r + r + "b"},  // truncated before ASCII
    };
    for (const Case& c : cases) {
        std::string out;
        AppendValidUtf8(out, c.in);
        EXPECT_EQ(out, c.out) << c.in;
        EXPECT_EQ(ValidUtf8Size(c.in), c.out.size()) << c.in;
    }
}

}  // namespace
}  // namespace flowex::common
