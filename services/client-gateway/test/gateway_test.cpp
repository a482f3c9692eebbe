#include <gtest/gtest.h>

#include "flowex/common/clock.hpp"
#include "gateway.hpp"

namespace flowex::gateway {
namespace {

TEST(PublicJson, CentsFieldsBecomeDollarsWithTwoDecimals) {
    EXPECT_EQ(PublicJson(R"({"balance_cents":77625,"blocked_balance_cents":15000,"user_id":11})"),
              R"({"balance":776.25,"blocked_balance":150.00,"user_id":11})");
}

TEST(PublicJson, ConvertsInsideArraysAndNestedObjects) {
    EXPECT_EQ(PublicJson(R"({"trades":[{"price_cents":14950,"quantity":3}],"x":{"avg_price_cents":5}})"),
              R"({"trades":[{"price":149.50,"quantity":3}],"x":{"avg_price":0.05}})");
}

TEST(PublicJson, LeavesNonIntegerCentsAndOtherFieldsAlone) {
    EXPECT_EQ(PublicJson(R"({"note_cents":"x","name":"a_cents","f_cents":1.5})"),
              R"({"note_cents":"x","name":"a_cents","f_cents":1.5})");
}

TEST(PublicJson, AMissingAmountKeepsThePublicName) {
    // A market order has no price, an instrument no last price before its first trade.
    EXPECT_EQ(PublicJson(R"({"price_cents":null,"last_price_cents":null})"),
              R"({"price":null,"last_price":null})");
}

TEST(RateLimiter, AllowsTheBurstThenRefillsWithTime) {
    common::ManualClock clock;
    RateLimiter limiter(10, 20, clock);
    int allowed = 0;
    for (int i = 0; i < 100; ++i) { allowed += limiter.Allow(7) ? 1 : 0; }
    EXPECT_EQ(allowed, 20);
    EXPECT_FALSE(limiter.Allow(7));
    EXPECT_TRUE(limiter.Allow(8));  // another user has their own bucket
    clock.Advance(std::chrono::milliseconds(500));
    allowed = 0;
    for (int i = 0; i < 100; ++i) { allowed += limiter.Allow(7) ? 1 : 0; }
    EXPECT_EQ(allowed, 5);
}

}  // namespace
}  // namespace flowex::gateway
