#include <gtest/gtest.h>

#include "flowex/common/money.hpp"
#include "flowex/exchange/accounts.hpp"

namespace flowex::exchange {
namespace {

TEST(Accounts, UsernameShape) {
    EXPECT_TRUE(ValidateUsername("alice_01").ok());
    EXPECT_FALSE(ValidateUsername("al").ok());
    EXPECT_FALSE(ValidateUsername("alice smith").ok());
    EXPECT_FALSE(ValidateUsername(std::string(65, 'a')).ok());
}

TEST(Accounts, PasswordLengthAndTheMessageNeverEchoesIt) {
    auto r = ValidatePassword("short");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().message.find("short"), std::string::npos);
    EXPECT_TRUE(ValidatePassword("correct horse").ok());
}

TEST(Accounts, BuyBlocksPriceTimesQuantitySellBlocksShares) {
    EXPECT_EQ(ReservationFor(Side::kBuy, 15000, 10).value().cents, 150000);
    EXPECT_EQ(ReservationFor(Side::kSell, 15000, 10).value().quantity, 10);
    EXPECT_EQ(ReservationFor(Side::kSell, 15000, 10).value().cents, 0);
}

TEST(Accounts, ReservationOverflowIsAnError) {
    EXPECT_FALSE(ReservationFor(Side::kBuy, common::kMaxCents, 2).ok());
}

TEST(Accounts, FillBelowTheBlockedPriceReleasesTheDifference) {
    EXPECT_EQ(PriceImprovementCents(15000, 14950, 10), 500);
    EXPECT_EQ(PriceImprovementCents(15000, 15000, 10), 0);
}

}  // namespace
}  // namespace flowex::exchange
