#include <gtest/gtest.h>

#include "flowex/exchange/risk.hpp"

namespace flowex::exchange {
namespace {

Instrument Aapl() {
    Instrument i;
    i.symbol = "AAPL";
    i.reference_price_cents = 15000;
    i.price_band_bps = 1000;
    i.max_order_quantity = 1000;
    i.max_order_notional_cents = 10'000'000;  // $100,000
    return i;
}

TEST(Risk, OrderInsideTheBandIsApproved) {
    auto d = Validate(Aapl(), {Side::kBuy, OrderType::kLimit, 15000, 10}, 0, {});
    EXPECT_TRUE(d.approved);
    EXPECT_TRUE(d.reasons.empty());
    EXPECT_EQ(d.effective_price_cents, 15000);
}

TEST(Risk, BandFollowsTheLastTradePrice) {
    Instrument i = Aapl();
    EXPECT_EQ(BandOf(i).low_cents, 13500);
    EXPECT_EQ(BandOf(i).high_cents, 16500);
    i.last_price_cents = 20000;
    EXPECT_EQ(BandOf(i).low_cents, 18000);
    EXPECT_FALSE(Validate(i, {Side::kBuy, OrderType::kLimit, 15000, 1}, 0, {}).approved);
}

TEST(Risk, PriceOutsideBandListsTheReason) {
    auto d = Validate(Aapl(), {Side::kSell, OrderType::kLimit, 16501, 1}, 0, {});
    EXPECT_FALSE(d.approved);
    ASSERT_EQ(d.reasons.size(), 1u);
    EXPECT_EQ(d.reasons[0], "price_outside_band");
}

TEST(Risk, SeveralBreachesAreAllReported) {
    auto d = Validate(Aapl(), {Side::kBuy, OrderType::kLimit, 20000, 5000}, 200, {});
    EXPECT_FALSE(d.approved);
    EXPECT_EQ(d.reasons, (std::vector<std::string>{"price_outside_band", "max_quantity",
                                                   "open_order_limit"}));
}

TEST(Risk, NotionalLimit) {
    auto d = Validate(Aapl(), {Side::kBuy, OrderType::kLimit, 15000, 700}, 0, {});
    EXPECT_FALSE(d.approved);
    EXPECT_EQ(d.reasons, std::vector<std::string>{"max_notional"});
}

TEST(Risk, TickSize) {
    Instrument i = Aapl();
    i.tick_size_cents = 5;
    auto d = Validate(i, {Side::kBuy, OrderType::kLimit, 15001, 1}, 0, {});
    EXPECT_EQ(d.reasons, std::vector<std::string>{"tick_size"});
}

TEST(Risk, MarketBuyIsEvaluatedAtTheUpperBandEdge) {
    auto d = Validate(Aapl(), {Side::kBuy, OrderType::kMarket, std::nullopt, 10}, 0, {});
    EXPECT_TRUE(d.approved);
    EXPECT_EQ(d.effective_price_cents, 16500);
    auto s = Validate(Aapl(), {Side::kSell, OrderType::kMarket, std::nullopt, 10}, 0, {});
    EXPECT_EQ(s.effective_price_cents, 13500);
}

}  // namespace
}  // namespace flowex::exchange
