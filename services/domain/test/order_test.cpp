#include <gtest/gtest.h>

#include "flowex/exchange/order.hpp"

namespace flowex::exchange {
namespace {

using common::ErrorCode;

common::Result<NewOrderRequest> Parse(std::string_view text) {
    auto doc = common::ParseJson(text);
    if (!doc) { return std::move(doc).error(); }
    return ParseNewOrderRequest(*doc);
}

TEST(NewOrderRequest, TheBriefsOrderParsesAsGtcLimit) {
    auto r = Parse(R"({"symbol":"AAPL","side":"BUY","quantity":10,"price":150})");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->symbol, "AAPL");
    EXPECT_EQ(r->side, Side::kBuy);
    EXPECT_EQ(r->type, OrderType::kLimit);
    EXPECT_EQ(r->time_in_force, TimeInForce::kGtc);
    EXPECT_EQ(r->price_cents, 15000);
    EXPECT_EQ(r->quantity, 10);
}

TEST(NewOrderRequest, MarketOrderDefaultsToIocAndTakesNoPrice) {
    auto r = Parse(R"({"symbol":"msft","side":"sell","quantity":3,"type":"MARKET"})");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->symbol, "MSFT");
    EXPECT_EQ(r->time_in_force, TimeInForce::kIoc);
    EXPECT_FALSE(r->price_cents.has_value());
    EXPECT_EQ(Parse(R"({"symbol":"A","side":"BUY","quantity":1,"type":"MARKET","price":1})")
                  .error().code, ErrorCode::kValidation);
    EXPECT_EQ(Parse(R"({"symbol":"A","side":"BUY","quantity":1,"type":"MARKET","time_in_force":"GTC"})")
                  .error().code, ErrorCode::kValidation);
}

TEST(NewOrderRequest, WrongTypesAreInvalidJson) {
    EXPECT_EQ(Parse(R"({"symbol":"AAPL","side":"BUY","quantity":"10","price":150})").error().code,
              ErrorCode::kInvalidJson);
    EXPECT_EQ(Parse(R"({"symbol":1,"side":"BUY","quantity":10,"price":150})").error().code,
              ErrorCode::kInvalidJson);
    EXPECT_EQ(Parse(R"({"symbol":"AAPL","side":"BUY","quantity":10,"price":"150"})").error().code,
              ErrorCode::kInvalidJson);
    EXPECT_EQ(Parse("[1,2]").error().code, ErrorCode::kInvalidJson);
    EXPECT_EQ(Parse("{not json").error().code, ErrorCode::kInvalidJson);
}

TEST(NewOrderRequest, OutOfRangeValuesAreValidationErrors) {
    for (const char* body : {
             R"({"symbol":"AAPL","side":"BUY","quantity":0,"price":150})",
             R"({"symbol":"AAPL","side":"BUY","quantity":-5,"price":150})",
             R"({"symbol":"AAPL","side":"BUY","quantity":1.5,"price":150})",
             R"({"symbol":"AAPL","side":"BUY","quantity":10,"price":150.123})",
             R"({"symbol":"AAPL","side":"BUY","quantity":10,"price":-1})",
             R"({"symbol":"AAPL","side":"BUY","quantity":10,"price":0})",
             R"({"symbol":"AAPL","side":"HOLD","quantity":10,"price":150})",
             R"({"symbol":"AAPL","side":"BUY","quantity":10,"price":150,"type":"STOP"})",
             R"({"symbol":"AAPL","side":"BUY","quantity":10})",
             R"({"side":"BUY","quantity":10,"price":150})",
             R"({"symbol":"","side":"BUY","quantity":10,"price":150})",
             R"({"symbol":"AA PL","side":"BUY","quantity":10,"price":150})",
             R"({"symbol":"AAPL","side":"BUY","quantity":10,"price":1e400})",
             R"({"symbol":"AAPL","side":"BUY","quantity":10,"price":150,"client_order_id":""})",
         }) {
        auto r = Parse(body);
        ASSERT_FALSE(r.ok()) << body;
        EXPECT_EQ(r.error().code, ErrorCode::kValidation) << body << ": " << r.error().message;
    }
}

TEST(NewOrderRequest, UnknownFieldsAreIgnored) {
    auto r = Parse(R"({"symbol":"AAPL","side":"BUY","quantity":10,"price":150.25,"note":{"x":1}})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->price_cents, 15025);
}

TEST(OrderEnums, RoundTripWireSpellings) {
    EXPECT_EQ(ToString(OrderStatus::kPartiallyFilled), "PARTIALLY_FILLED");
    EXPECT_EQ(ParseOrderStatus("cancelled"), OrderStatus::kCancelled);
    EXPECT_TRUE(IsOpen(OrderStatus::kPartiallyFilled));
    EXPECT_FALSE(IsOpen(OrderStatus::kFilled));
}

}  // namespace
}  // namespace flowex::exchange
