// MatchingEngine: symbol registry and independent single-writer books.
#include "flowex/matching/engine.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace flowex::matching {
namespace {

NewOrder Limit(OrderId id, Side side, Price price, Quantity quantity) {
    return NewOrder{.id = id, .user = id, .side = side, .price = price, .quantity = quantity};
}

TEST(MatchingEngine, RegistersSymbolsWithDenseIds) {
    MatchingEngine engine;
    EXPECT_EQ(engine.AddSymbol("AAPL"), SymbolId{0});
    EXPECT_EQ(engine.AddSymbol("MSFT"), SymbolId{1});
    EXPECT_EQ(engine.SymbolCount(), 2U);
    EXPECT_EQ(engine.FindSymbol("MSFT"), SymbolId{1});
    EXPECT_EQ(engine.SymbolName(0), "AAPL");
}

TEST(MatchingEngine, RejectsDuplicateAndEmptySymbols) {
    MatchingEngine engine;
    ASSERT_TRUE(engine.AddSymbol("AAPL"));
    EXPECT_FALSE(engine.AddSymbol("AAPL").has_value());
    EXPECT_FALSE(engine.AddSymbol("").has_value());
    EXPECT_FALSE(engine.FindSymbol("TSLA").has_value());
}

TEST(MatchingEngine, BooksOfDifferentSymbolsAreIndependent) {
    MatchingEngine engine;
    const SymbolId aapl = *engine.AddSymbol("AAPL");
    const SymbolId msft = *engine.AddSymbol("MSFT");
    engine.Submit(aapl, Limit(1, Side::kSell, 100, 5));
    auto events = engine.Submit(msft, Limit(2, Side::kBuy, 100, 5));
    ASSERT_EQ(events.size(), 1U);  // nothing to trade with on MSFT: accepted and resting
    EXPECT_EQ(events[0].type, EventType::kAccepted);
    EXPECT_EQ(events[0].sequence, 1U);  // sequences are per book
    EXPECT_EQ(engine.Book(aapl).OrderCount(), 1U);
    EXPECT_EQ(engine.Book(msft).OrderCount(), 1U);
    EXPECT_EQ(engine.Cancel(msft, 1)[0].reject_reason, RejectReason::kUnknownOrder);
    EXPECT_EQ(engine.Move(aapl, 1, 99)[0].type, EventType::kAmended);
    EXPECT_EQ(engine.Amend(aapl, 1, 99, 2)[0].priority_kept, true);
}

TEST(MatchingEngine, EachBookHonoursItsOwnConfig) {
    MatchingEngine engine;
    const SymbolId strict = *engine.AddSymbol("A");
    const SymbolId lax =
        *engine.AddSymbol("B", BookConfig{.self_trade_prevention = SelfTradePrevention::kNone});
    for (SymbolId id : {strict, lax}) {
        engine.Submit(
            id, NewOrder{.id = 1, .user = 5, .side = Side::kSell, .price = 10, .quantity = 1});
    }
    const NewOrder buy{.id = 2, .user = 5, .side = Side::kBuy, .price = 10, .quantity = 1};
    EXPECT_EQ(engine.Submit(strict, buy)[1].type, EventType::kCancelled);
    EXPECT_EQ(engine.Submit(lax, buy)[1].type, EventType::kTrade);
}

// Different books may be driven from different threads at once (each by one thread).
TEST(MatchingEngine, BooksCanBeDrivenConcurrentlyOneThreadPerBook) {
    MatchingEngine engine;
    std::vector<SymbolId> ids;
    ids.reserve(4);
    for (int i = 0; i < 4; ++i) { ids.push_back(*engine.AddSymbol("S" + std::to_string(i))); }
    std::vector<std::thread> threads;
    threads.reserve(ids.size());
    std::vector<std::size_t> trades(ids.size(), 0);
    for (std::size_t t = 0; t < ids.size(); ++t) {
        threads.emplace_back([&, t] {
            OrderBook& book = engine.Book(ids[t]);
            for (OrderId id = 1; id <= 20'000; ++id) {
                const Side side = id % 2 == 0 ? Side::kBuy : Side::kSell;
                for (const Event& event : book.Submit(Limit(id, side, 100, 1))) {
                    trades[t] += event.type == EventType::kTrade ? 1U : 0U;
                }
            }
        });
    }
    for (auto& thread : threads) { thread.join(); }
    for (std::size_t t = 0; t < ids.size(); ++t) {
        EXPECT_EQ(trades[t], 10'000U);
        EXPECT_EQ(engine.Book(ids[t]).OrderCount(), 0U);
    }
}

}  // namespace
}  // namespace flowex::matching
