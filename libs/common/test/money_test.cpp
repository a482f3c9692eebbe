#include <gtest/gtest.h>

#include "flowex/common/json.hpp"
#include "flowex/common/money.hpp"

namespace flowex::common {
namespace {

TEST(Money, ParsesTheBriefsAmountExactly) {
    auto m = Money::Parse("776.25");
    ASSERT_TRUE(m.ok());
    EXPECT_EQ(m->cents, 77625);
}

TEST(Money, ParsesWholeDollarsAndOneDecimal) {
    EXPECT_EQ(ParseCents("150").value(), 15000);
    EXPECT_EQ(ParseCents("0.5").value(), 50);
    EXPECT_EQ(ParseCents("1000").value(), 100000);
}

TEST(Money, ValuesThatDoubleWouldRoundAreExact) {
    // 0.1 + 0.2 style values and 2^53+1 territory must not go through a double.
    EXPECT_EQ(ParseCents("0.29").value(), 29);
    EXPECT_EQ(ParseCents("9007199254740.93").value(), 900719925474093);
}

TEST(Money, RejectsThreeDecimalsInsteadOfRounding) {
    auto r = ParseCents("776.255");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kValidation);
    EXPECT_FALSE(ParseCents("0.001").ok());
}

TEST(Money, AcceptsTrailingZerosBecauseTheValueIsExact) {
    EXPECT_EQ(ParseCents("1.500").value(), 150);
    EXPECT_EQ(ParseCents("2.0000000").value(), 200);
}

TEST(Money, HandlesExponents) {
    EXPECT_EQ(ParseCents("1e2").value(), 10000);
    EXPECT_EQ(ParseCents("1.5E1").value(), 1500);
    EXPECT_EQ(ParseCents("12345e-2").value(), 12345);
    EXPECT_FALSE(ParseCents("1e-3").ok());
}

TEST(Money, RejectsExponentsThatOverflow) {
    EXPECT_FALSE(ParseCents("1e308").ok());
    EXPECT_FALSE(ParseCents("1e99999999999").ok());
    EXPECT_FALSE(ParseCents("99999999999999999999").ok());
}

TEST(Money, RejectsNanInfinityAndGarbage) {
    for (const char* s : {"NaN", "nan", "Infinity", "-Infinity", "", "-", "1.", ".5", "01",
                          "1..2", "1e", "+1", "1 ", "0x10", "1,5"}) {
        EXPECT_FALSE(ParseCents(s).ok()) << s;
    }
}

TEST(Money, NegativeOnlyWhenAllowed) {
    EXPECT_FALSE(Money::Parse("-5").ok());
    auto neg = Money::Parse("-5.25", Money::ParseOptions{.allow_negative = true});
    ASSERT_TRUE(neg.ok());
    EXPECT_EQ(neg->cents, -525);
}

TEST(Money, ZeroOnlyWhenAllowed) {
    EXPECT_FALSE(Money::Parse("0").ok());
    EXPECT_TRUE(Money::Parse("0.00", Money::ParseOptions{.allow_zero = true}).ok());
}

TEST(Money, FormatsWithExactlyTwoDecimals) {
    EXPECT_EQ(FormatCents(77625), "776.25");
    EXPECT_EQ(FormatCents(15000), "150.00");
    EXPECT_EQ(FormatCents(5), "0.05");
    EXPECT_EQ(FormatCents(-105), "-1.05");
    EXPECT_EQ(FormatDollars(77625), "$776.25");
}

TEST(Price, MustBePositive) {
    EXPECT_FALSE(Price::Parse("0").ok());
    EXPECT_FALSE(Price::Parse("-1").ok());
    EXPECT_EQ(Price::Parse("150").value().cents, 15000);
}

TEST(Quantity, WholeSharesOnly) {
    EXPECT_EQ(Quantity::Parse("10").value().shares, 10);
    EXPECT_EQ(Quantity::Parse("1e1").value().shares, 10);
    EXPECT_FALSE(Quantity::Parse("1.5").ok());
    EXPECT_FALSE(Quantity::Parse("0").ok());
    EXPECT_FALSE(Quantity::Parse("-3").ok());
    EXPECT_FALSE(Quantity::Parse("2000000000").ok());
}

TEST(Money, ParsedFromTheJsonNumberText) {
    auto doc = ParseJson(R"({"amount": 776.25, "price": 150, "bad": 1.005})");
    ASSERT_TRUE(doc.ok());
    JsonObjectReader r(*doc);
    EXPECT_EQ(r.Cents("amount", 1, kMaxCents).value(), 77625);
    EXPECT_EQ(r.Cents("price", 1, kMaxCents).value(), 15000);
    auto bad = r.Cents("bad", 1, kMaxCents);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::kValidation);
}

}  // namespace
}  // namespace flowex::common
