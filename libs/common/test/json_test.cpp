#include <gtest/gtest.h>

#include "flowex/common/json.hpp"

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

}  // namespace
}  // namespace flowex::common
