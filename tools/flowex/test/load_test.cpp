// `flowex load`'s pure pieces: the mix parser, the histogram's percentiles and its HDR text,
// and the open-loop arrival schedule.
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <string>

#include "load/histogram.hpp"
#include "load/mix.hpp"

namespace flowex::load {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(LoadMix, ParsesWeightsAndPicksProportionally) {
    auto mix = Mix::Parse("limit=60,market=10,cancel=15,positions=10,balance=5");
    ASSERT_TRUE(mix) << mix.error().message;
    EXPECT_EQ(mix->total(), 100u);
    EXPECT_EQ(mix->weight(Op::kCancel), 15u);
    std::array<int, kOpCount> picked{};
    for (std::uint64_t draw = 0; draw < 100; ++draw) {
        ++picked[static_cast<std::size_t>(mix->Pick(draw))];
    }
    EXPECT_EQ(picked, (std::array<int, kOpCount>{60, 10, 15, 10, 5}));
    EXPECT_EQ(mix->ToString(), "limit=60,market=10,cancel=15,positions=10,balance=5");
}

TEST(LoadMix, LeftOutNamesWeighNothing) {
    auto mix = Mix::Parse(" balance=1 ");
    ASSERT_TRUE(mix);
    for (std::uint64_t draw = 0; draw < 10; ++draw) { EXPECT_EQ(mix->Pick(draw), Op::kBalance); }
}

TEST(LoadMix, RejectsUnknownDuplicateMalformedAndEmptyMixes) {
    for (const char* bad : {"limit=60,bogus=1", "limit=1,limit=2", "limit", "limit=-1",
                            "limit=1.5", "limit=x", "", "limit=0,market=0"}) {
        auto mix = Mix::Parse(bad);
        ASSERT_FALSE(mix) << bad;
        EXPECT_EQ(mix.error().code, common::ErrorCode::kValidation) << bad;
    }
}

TEST(LoadList, SplitsAtCommasTrimsSpacesAndDropsEmptyItems) {
    EXPECT_EQ(SplitList(" AAPL, MSFT,,TSLA ,"), (std::vector<std::string>{"AAPL", "MSFT", "TSLA"}));
    EXPECT_EQ(SplitList("AAPL"), (std::vector<std::string>{"AAPL"}));
    EXPECT_TRUE(SplitList(" , ,").empty());
    EXPECT_TRUE(SplitList("").empty());
}

TEST(LoadHistogram, SmallValuesAreExactAndPercentilesFollowRanks) {
    Histogram h;
    for (std::uint64_t v = 1; v <= 1000; ++v) { h.Record(v); }
    EXPECT_EQ(h.count(), 1000u);
    EXPECT_EQ(h.min(), 1u);
    EXPECT_EQ(h.max(), 1000u);
    EXPECT_EQ(h.ValueAtPercentile(50), 500u);
    EXPECT_EQ(h.ValueAtPercentile(99), 990u);
    EXPECT_EQ(h.ValueAtPercentile(99.9), 999u);
    EXPECT_EQ(h.ValueAtPercentile(100), 1000u);
    EXPECT_EQ(h.ValueAtPercentile(0), 1u);
    EXPECT_DOUBLE_EQ(h.Mean(), 500.5);
}

TEST(LoadHistogram, LargeValuesKeepThreeSignificantDigits) {
    for (std::uint64_t v : {2048ull, 3000ull, 123'456ull, 9'876'543'210ull}) {
        const auto i = Histogram::IndexOf(v);
        EXPECT_LE(Histogram::LowestEquivalent(i), v);
        EXPECT_GE(Histogram::HighestEquivalent(i), v);
        const double width = static_cast<double>(Histogram::HighestEquivalent(i) -
                                                 Histogram::LowestEquivalent(i) + 1);
        EXPECT_LE(width / static_cast<double>(v), 1.0 / 1024) << v;
    }
    // Adjacent buckets tile the range without gaps.
    for (std::size_t i = 2040; i < 6000; ++i) {
        EXPECT_EQ(Histogram::HighestEquivalent(i) + 1, Histogram::LowestEquivalent(i + 1)) << i;
    }
}

TEST(LoadHistogram, AStallShowsInTheTail) {
    Histogram h;
    for (int i = 0; i < 9'900; ++i) { h.Record(1'000); }  // 1 ms
    for (int i = 0; i < 100; ++i) { h.Record(2'000'000); }  // a 2 s stall
    EXPECT_EQ(h.ValueAtPercentile(50), 1'000u);
    EXPECT_EQ(h.ValueAtPercentile(99), 1'000u);
    EXPECT_NEAR(static_cast<double>(h.ValueAtPercentile(99.9)), 2e6, 2e6 / 1024);
    EXPECT_EQ(h.max(), 2'000'000u);
}

TEST(LoadHistogram, MergesAndResets) {
    Histogram a, b;
    a.Record(10);
    b.Record(30);
    b.Record(20);
    a.Add(b);
    EXPECT_EQ(a.count(), 3u);
    EXPECT_EQ(a.min(), 10u);
    EXPECT_EQ(a.max(), 30u);
    EXPECT_EQ(a.ValueAtPercentile(50), 20u);
    a.Reset();
    EXPECT_EQ(a.count(), 0u);
    EXPECT_EQ(a.ValueAtPercentile(99), 0u);
}

TEST(LoadHistogram, PercentileDistributionIsHdrText) {
    Histogram h;
    for (std::uint64_t v = 1; v <= 10'000; ++v) { h.Record(v * 10); }  // 10 µs .. 100 ms
    const std::string text = h.PercentileDistribution(1000.0);
    EXPECT_EQ(text.rfind("       Value     Percentile TotalCount 1/(1-Percentile)\n\n", 0), 0u);
    EXPECT_NE(text.find("     100.000 1.000000000000      10000\n"), std::string::npos) << text;
    EXPECT_NE(text.find("#[Max     =      100.000, Total count    =        10000]"),
              std::string::npos)
        << text;
    // The first line is the minimum at percentile 0; the tail is denser than the body.
    EXPECT_NE(text.find("       0.010 0.000000000000          1           1.00\n"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find(" 0.990"), std::string::npos);
}

TEST(LoadSchedule, ArrivalsAreEvenlySpacedFromTheStart) {
    ArrivalSchedule s(1000.0, seconds(2));
    EXPECT_EQ(s.Count(), 2000u);
    EXPECT_EQ(s.Offset(0), std::chrono::nanoseconds(0));
    EXPECT_EQ(s.Offset(1), milliseconds(1));
    EXPECT_EQ(s.Offset(1500), milliseconds(1500));
    EXPECT_EQ(s.DueBy(std::chrono::nanoseconds(0)), 1u);
    EXPECT_EQ(s.DueBy(milliseconds(10)), 11u);  // 0, 1, …, 10 ms
    EXPECT_EQ(s.DueBy(seconds(60)), 2000u);
}

TEST(LoadSchedule, FractionalRatesRoundTheCountUp) {
    EXPECT_EQ(ArrivalSchedule(3.0, seconds(1)).Count(), 3u);
    EXPECT_EQ(ArrivalSchedule(2.5, seconds(1)).Count(), 3u);  // 0, 0.4, 0.8 s
    EXPECT_EQ(ArrivalSchedule(0.5, seconds(1)).Count(), 1u);
    EXPECT_EQ(ArrivalSchedule(7000.0, milliseconds(1500)).Count(), 10'500u);
}

}  // namespace
}  // namespace flowex::load
