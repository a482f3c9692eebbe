// Replays the shared benchmark stream and checks the figures the reference books produce.
#include <gtest/gtest.h>

#include <string>

#include "flowex/matching/order_book.hpp"
#include "flowex/matching/workload.hpp"

namespace flowex::matching {
namespace {

const std::string kStream = std::string(FLOWEX_SHARED_DIR) + "/bench/matching-mix-2M.csv.gz";

TEST(MatchingReplay, SharedMixStreamGives115635TradesAnd1020Resting) {
    workload::Workload stream;
    std::string error;
    // A missing or unreadable stream is a failure, never a skip.
    ASSERT_TRUE(workload::Load(kStream, stream, error)) << error;
    ASSERT_EQ(stream.prefill.size(), 1'000U);
    ASSERT_EQ(stream.measured.size(), 2'000'000U);

    OrderBook book(
        BookConfig{.self_trade_prevention = SelfTradePrevention::kNone, .expected_orders = 4096});
    std::size_t prefill_trades = 0;
    for (const workload::Op& op : stream.prefill) {
        prefill_trades += workload::CountTrades(workload::Apply(book, op));
    }
    std::size_t trades = 0;
    std::size_t rejected = 0;
    for (const workload::Op& op : stream.measured) {
        for (const Event& event : workload::Apply(book, op)) {
            trades += event.type == EventType::kTrade ? 1U : 0U;
            rejected += event.type == EventType::kRejected ? 1U : 0U;
        }
    }
    EXPECT_EQ(rejected, 0U) << "every CANCEL and MOVE targets a live order";
    EXPECT_EQ(trades, 115'635U) << "prefill trades: " << prefill_trades;
    EXPECT_EQ(book.OrderCount(), 1'020U);
}

TEST(MatchingReplay, MissingStreamIsReportedAsError) {
    workload::Workload stream;
    std::string error;
    EXPECT_FALSE(workload::Load("/nonexistent/flowex/stream.csv.gz", stream, error));
    EXPECT_NE(error.find("/nonexistent/flowex/stream.csv.gz"), std::string::npos);
}

}  // namespace
}  // namespace flowex::matching
