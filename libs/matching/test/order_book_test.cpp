// Scenario tests for OrderBook: one TEST per behaviour, named for the scenario.
#include "flowex/matching/order_book.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace flowex::matching {
namespace {

// Unless a test says otherwise every order has its own user (user = 1000 + id), so self-trade
// prevention (on by default) stays out of the way.
constexpr UserId kOwnUser = UINT64_MAX;

NewOrder Limit(OrderId id, Side side, Price price, Quantity quantity, UserId user = kOwnUser,
               TimeInForce tif = TimeInForce::kGtc) {
    return NewOrder{.id = id,
                    .user = user == kOwnUser ? 1000 + id : user,
                    .side = side,
                    .type = OrderType::kLimit,
                    .tif = tif,
                    .price = price,
                    .quantity = quantity};
}

NewOrder Market(OrderId id, Side side, Quantity quantity, UserId user = kOwnUser) {
    return NewOrder{.id = id,
                    .user = user == kOwnUser ? 1000 + id : user,
                    .side = side,
                    .type = OrderType::kMarket,
                    .tif = TimeInForce::kIoc,
                    .price = 0,
                    .quantity = quantity};
}

std::vector<Event> Copy(std::span<const Event> events) {
    return {events.begin(), events.end()};
}

std::vector<EventType> Types(std::span<const Event> events) {
    std::vector<EventType> types;
    for (const Event& event : events) { types.push_back(event.type); }
    return types;
}

std::vector<Event> Trades(std::span<const Event> events) {
    std::vector<Event> trades;
    for (const Event& event : events) {
        if (event.type == EventType::kTrade) { trades.push_back(event); }
    }
    return trades;
}

BookConfig NoStp() {
    return BookConfig{.self_trade_prevention = SelfTradePrevention::kNone};
}

using ET = EventType;

TEST(OrderBook, EmptyBookHasNoBestBidOrOffer) {
    OrderBook book;
    TopOfBook top = book.Top();
    EXPECT_FALSE(top.bid.has_value());
    EXPECT_FALSE(top.ask.has_value());
    EXPECT_EQ(book.OrderCount(), 0U);
    EXPECT_TRUE(book.Depth(Side::kBuy, 5).empty());
}

TEST(OrderBook, RestingLimitOrdersFormBestBidAndOffer) {
    OrderBook book;
    auto events = Copy(book.Submit(Limit(1, Side::kBuy, 100, 10)));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kAccepted}));
    EXPECT_EQ(events[0].quantity, 10);
    EXPECT_EQ(events[0].leaves, 10);
    book.Submit(Limit(2, Side::kSell, 105, 7));
    TopOfBook top = book.Top();
    ASSERT_TRUE(top.bid && top.ask);
    EXPECT_EQ(*top.bid, (DepthLevel{100, 10, 1}));
    EXPECT_EQ(*top.ask, (DepthLevel{105, 7, 1}));
    EXPECT_EQ(book.OrderCount(), 2U);
}

TEST(OrderBook, CrossingLimitBuyTradesAtRestingAskPrice) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 100, 5));
    auto events = Copy(book.Submit(Limit(2, Side::kBuy, 103, 5)));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kAccepted, ET::kTrade, ET::kDone, ET::kDone}));
    const Event& trade = events[1];
    EXPECT_EQ(trade.order_id, 2U);
    EXPECT_EQ(trade.maker_order_id, 1U);
    EXPECT_EQ(trade.price, 100);
    EXPECT_EQ(trade.quantity, 5);
    EXPECT_EQ(trade.leaves, 0);
    EXPECT_EQ(trade.maker_leaves, 0);
    EXPECT_EQ(events[2].order_id, 1U);  // maker done first, then the taker
    EXPECT_EQ(events[3].order_id, 2U);
    EXPECT_EQ(events[3].cancel_reason, CancelReason::kNone);
    EXPECT_EQ(book.OrderCount(), 0U);
}

TEST(OrderBook, CrossingLimitSellTradesAtRestingBidPrice) {
    OrderBook book;
    book.Submit(Limit(1, Side::kBuy, 100, 5));
    auto trades = Trades(book.Submit(Limit(2, Side::kSell, 90, 3)));
    ASSERT_EQ(trades.size(), 1U);
    EXPECT_EQ(trades[0].price, 100);
    EXPECT_EQ(trades[0].side, Side::kSell);
    EXPECT_EQ(book.Best(Side::kBuy), (DepthLevel{100, 2, 1}));
}

TEST(OrderBook, MarketBuySweepsTwoAskLevels) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 101, 4));
    book.Submit(Limit(2, Side::kSell, 102, 4));
    book.Submit(Limit(3, Side::kSell, 103, 4));
    auto events = Copy(book.Submit(Market(4, Side::kBuy, 6)));
    auto trades = Trades(events);
    ASSERT_EQ(trades.size(), 2U);
    EXPECT_EQ(trades[0].maker_order_id, 1U);
    EXPECT_EQ(trades[0].price, 101);
    EXPECT_EQ(trades[0].quantity, 4);
    EXPECT_EQ(trades[1].maker_order_id, 2U);
    EXPECT_EQ(trades[1].price, 102);
    EXPECT_EQ(trades[1].quantity, 2);
    EXPECT_EQ(events.back().type, ET::kDone);
    EXPECT_EQ(events.front().tif, TimeInForce::kIoc);
    EXPECT_EQ(book.Best(Side::kSell), (DepthLevel{102, 2, 1}));
    EXPECT_EQ(book.LevelCount(Side::kSell), 2U);
}

TEST(OrderBook, MarketSellLargerThanBookCancelsRemainder) {
    OrderBook book;
    book.Submit(Limit(1, Side::kBuy, 99, 3));
    book.Submit(Limit(2, Side::kBuy, 98, 3));
    auto events = Copy(book.Submit(Market(3, Side::kSell, 10)));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kAccepted, ET::kTrade, ET::kDone, ET::kTrade,
                                              ET::kDone, ET::kCancelled, ET::kDone}));
    EXPECT_EQ(events[5].quantity, 4);
    EXPECT_EQ(events[5].cancel_reason, CancelReason::kUnfilledIoc);
    EXPECT_EQ(book.OrderCount(), 0U);
}

TEST(OrderBook, MarketOrderOnEmptyBookIsCancelled) {
    OrderBook book;
    auto events = Copy(book.Submit(Market(1, Side::kBuy, 5)));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kAccepted, ET::kCancelled, ET::kDone}));
    EXPECT_EQ(events[1].quantity, 5);
}

TEST(OrderBook, PartialFillLeavesIncomingRemainderResting) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 100, 3));
    auto events = Copy(book.Submit(Limit(2, Side::kBuy, 100, 10)));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kAccepted, ET::kTrade, ET::kDone}));
    EXPECT_EQ(events[1].leaves, 7);
    EXPECT_EQ(book.Best(Side::kBuy), (DepthLevel{100, 7, 1}));
    EXPECT_FALSE(book.Best(Side::kSell).has_value());
    EXPECT_EQ(book.Find(2)->leaves, 7);
}

TEST(OrderBook, PartialFillOfRestingOrderKeepsItAtFront) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 100, 10));
    book.Submit(Limit(2, Side::kSell, 100, 10));
    book.Submit(Limit(3, Side::kBuy, 100, 4));
    auto trades = Trades(book.Submit(Limit(4, Side::kBuy, 100, 4)));
    ASSERT_EQ(trades.size(), 1U);
    EXPECT_EQ(trades[0].maker_order_id, 1U);
    EXPECT_EQ(trades[0].maker_leaves, 2);
    EXPECT_EQ(book.Best(Side::kSell), (DepthLevel{100, 12, 2}));
}

TEST(OrderBook, EarlierOrderAtSameLevelFillsFirst) {
    OrderBook book;
    book.Submit(Limit(1, Side::kBuy, 50, 2));
    book.Submit(Limit(2, Side::kBuy, 50, 2));
    book.Submit(Limit(3, Side::kBuy, 50, 2));
    auto trades = Trades(book.Submit(Limit(4, Side::kSell, 50, 5)));
    ASSERT_EQ(trades.size(), 3U);
    EXPECT_EQ(trades[0].maker_order_id, 1U);
    EXPECT_EQ(trades[1].maker_order_id, 2U);
    EXPECT_EQ(trades[2].maker_order_id, 3U);
    EXPECT_EQ(trades[2].quantity, 1);
}

TEST(OrderBook, BetterPriceBeatsEarlierTime) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 102, 5));
    book.Submit(Limit(2, Side::kSell, 101, 5));
    auto trades = Trades(book.Submit(Limit(3, Side::kBuy, 105, 5)));
    ASSERT_EQ(trades.size(), 1U);
    EXPECT_EQ(trades[0].maker_order_id, 2U);
    EXPECT_EQ(trades[0].price, 101);
}

TEST(OrderBook, LimitBuyStopsAtItsLimitAndRestsRemainder) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 100, 5));
    book.Submit(Limit(2, Side::kSell, 101, 5));
    auto trades = Trades(book.Submit(Limit(3, Side::kBuy, 100, 8)));
    ASSERT_EQ(trades.size(), 1U);
    EXPECT_EQ(book.Best(Side::kBuy), (DepthLevel{100, 3, 1}));
    EXPECT_EQ(book.Best(Side::kSell), (DepthLevel{101, 5, 1}));
}

TEST(OrderBook, IocLimitRemainderIsCancelledNotRested) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 100, 2));
    auto events = Copy(book.Submit(Limit(2, Side::kBuy, 100, 5, kOwnUser, TimeInForce::kIoc)));
    ASSERT_EQ(Types(events),
              (std::vector<ET>{ET::kAccepted, ET::kTrade, ET::kDone, ET::kCancelled, ET::kDone}));
    EXPECT_EQ(events[3].quantity, 3);
    EXPECT_EQ(events[3].cancel_reason, CancelReason::kUnfilledIoc);
    EXPECT_EQ(events[4].cancel_reason, CancelReason::kUnfilledIoc);
    EXPECT_FALSE(book.Best(Side::kBuy).has_value());
}

TEST(OrderBook, IocThatDoesNotCrossIsCancelledWhole) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 100, 2));
    auto events = Copy(book.Submit(Limit(2, Side::kBuy, 99, 5, kOwnUser, TimeInForce::kIoc)));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kAccepted, ET::kCancelled, ET::kDone}));
    EXPECT_EQ(book.OrderCount(), 1U);
}

TEST(OrderBook, CancelRemovesOrderAndEmptyLevel) {
    OrderBook book;
    book.Submit(Limit(1, Side::kBuy, 100, 5));
    book.Submit(Limit(2, Side::kBuy, 99, 5));
    auto events = Copy(book.Cancel(1));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kCancelled, ET::kDone}));
    EXPECT_EQ(events[0].quantity, 5);
    EXPECT_EQ(events[0].cancel_reason, CancelReason::kRequested);
    EXPECT_EQ(events[0].price, 100);
    EXPECT_EQ(book.Best(Side::kBuy), (DepthLevel{99, 5, 1}));
    EXPECT_FALSE(book.Find(1).has_value());
    EXPECT_EQ(book.LevelCount(Side::kBuy), 1U);
}

TEST(OrderBook, CancelUnknownOrderIsRejected) {
    OrderBook book;
    auto events = Copy(book.Cancel(42));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kRejected}));
    EXPECT_EQ(events[0].reject_reason, RejectReason::kUnknownOrder);
    EXPECT_EQ(events[0].order_id, 42U);
}

TEST(OrderBook, CancelOfFilledOrderIsRejected) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 100, 1));
    book.Submit(Limit(2, Side::kBuy, 100, 1));
    EXPECT_EQ(book.Cancel(1)[0].reject_reason, RejectReason::kUnknownOrder);
}

TEST(OrderBook, DuplicateLiveOrderIdIsRejected) {
    OrderBook book;
    book.Submit(Limit(1, Side::kBuy, 100, 5));
    auto events = Copy(book.Submit(Limit(1, Side::kSell, 200, 5)));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kRejected}));
    EXPECT_EQ(events[0].reject_reason, RejectReason::kDuplicateOrderId);
    EXPECT_EQ(book.OrderCount(), 1U);
}

TEST(OrderBook, InvalidQuantitiesAndPricesAreRejected) {
    OrderBook book;
    EXPECT_EQ(book.Submit(Limit(1, Side::kBuy, 100, 0))[0].reject_reason,
              RejectReason::kInvalidQuantity);
    EXPECT_EQ(book.Submit(Limit(2, Side::kBuy, 100, -3))[0].reject_reason,
              RejectReason::kInvalidQuantity);
    EXPECT_EQ(book.Submit(Limit(3, Side::kBuy, 100, kMaxQuantity + 1))[0].reject_reason,
              RejectReason::kInvalidQuantity);
    EXPECT_EQ(book.Submit(Limit(4, Side::kBuy, 0, 5))[0].reject_reason,
              RejectReason::kInvalidPrice);
    EXPECT_EQ(book.Submit(Limit(5, Side::kSell, -7, 5))[0].reject_reason,
              RejectReason::kInvalidPrice);
    EXPECT_EQ(book.Submit(Limit(6, Side::kSell, kMaxPrice + 1, 5))[0].reject_reason,
              RejectReason::kInvalidPrice);
    EXPECT_EQ(book.Submit(Market(7, Side::kSell, 0))[0].reject_reason,
              RejectReason::kInvalidQuantity);
    EXPECT_EQ(book.OrderCount(), 0U);
}

TEST(OrderBook, RejectionLeavesBookUnchanged) {
    OrderBook book;
    book.Submit(Limit(1, Side::kBuy, 100, 5));
    book.Submit(Limit(2, Side::kSell, 101, 5));
    auto before_bids = book.Orders(Side::kBuy);
    auto before_asks = book.Orders(Side::kSell);
    book.Submit(Limit(1, Side::kSell, 100, 5));
    book.Amend(2, 100, 0);
    book.Move(2, -1);
    book.Cancel(77);
    EXPECT_EQ(book.Orders(Side::kBuy), before_bids);
    EXPECT_EQ(book.Orders(Side::kSell), before_asks);
}

TEST(OrderBook, AmendQuantityDownKeepsTimePriority) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 100, 10));
    book.Submit(Limit(2, Side::kSell, 100, 10));
    auto events = Copy(book.Amend(1, 100, 4));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kAmended}));
    EXPECT_TRUE(events[0].priority_kept);
    EXPECT_EQ(events[0].leaves, 4);
    EXPECT_EQ(book.Best(Side::kSell), (DepthLevel{100, 14, 2}));
    auto trades = Trades(book.Submit(Limit(3, Side::kBuy, 100, 4)));
    ASSERT_EQ(trades.size(), 1U);
    EXPECT_EQ(trades[0].maker_order_id, 1U);
}

TEST(OrderBook, AmendQuantityUpLosesTimePriority) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 100, 10));
    book.Submit(Limit(2, Side::kSell, 100, 10));
    auto events = Copy(book.Amend(1, 100, 12));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kAmended}));
    EXPECT_FALSE(events[0].priority_kept);
    auto trades = Trades(book.Submit(Limit(3, Side::kBuy, 100, 1)));
    ASSERT_EQ(trades.size(), 1U);
    EXPECT_EQ(trades[0].maker_order_id, 2U);
    EXPECT_EQ(book.Best(Side::kSell), (DepthLevel{100, 21, 2}));
}

TEST(OrderBook, AmendPriceLosesTimePriority) {
    OrderBook book;
    book.Submit(Limit(1, Side::kBuy, 100, 5));
    book.Submit(Limit(2, Side::kBuy, 99, 5));
    auto events = Copy(book.Amend(1, 99, 5));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kAmended}));
    EXPECT_FALSE(events[0].priority_kept);
    EXPECT_EQ(events[0].price, 99);
    auto trades = Trades(book.Submit(Limit(3, Side::kSell, 99, 5)));
    ASSERT_EQ(trades.size(), 1U);
    EXPECT_EQ(trades[0].maker_order_id, 2U);
}

TEST(OrderBook, AmendPriceAcrossSpreadTradesAtOnce) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 105, 5));
    book.Submit(Limit(2, Side::kBuy, 100, 8));
    auto events = Copy(book.Amend(2, 106, 8));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kAmended, ET::kTrade, ET::kDone}));
    EXPECT_EQ(events[1].order_id, 2U);
    EXPECT_EQ(events[1].price, 105);
    EXPECT_EQ(events[1].leaves, 3);
    EXPECT_EQ(book.Best(Side::kBuy), (DepthLevel{106, 3, 1}));
}

TEST(OrderBook, AmendOfUnknownOrderIsRejected) {
    OrderBook book;
    auto events = Copy(book.Amend(5, 100, 5));
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].reject_reason, RejectReason::kUnknownOrder);
}

TEST(OrderBook, MoveToSamePriceLosesTimePriority) {
    OrderBook book;
    book.Submit(Limit(1, Side::kBuy, 100, 5));
    book.Submit(Limit(2, Side::kBuy, 100, 5));
    auto events = Copy(book.Move(1, 100));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kAmended}));
    EXPECT_FALSE(events[0].priority_kept);
    auto trades = Trades(book.Submit(Limit(3, Side::kSell, 100, 5)));
    ASSERT_EQ(trades.size(), 1U);
    EXPECT_EQ(trades[0].maker_order_id, 2U);
}

TEST(OrderBook, MoveKeepsRemainingQuantityAfterPartialFill) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 100, 10));
    book.Submit(Limit(2, Side::kBuy, 100, 4));
    auto events = Copy(book.Move(1, 103));
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].leaves, 6);
    EXPECT_EQ(book.Best(Side::kSell), (DepthLevel{103, 6, 1}));
}

TEST(OrderBook, MoveAcrossSpreadSweepsAndRestsRemainder) {
    OrderBook book;
    book.Submit(Limit(1, Side::kBuy, 100, 3));
    book.Submit(Limit(2, Side::kBuy, 99, 3));
    book.Submit(Limit(3, Side::kSell, 110, 10));
    auto events = Copy(book.Move(3, 99));
    ASSERT_EQ(Types(events),
              (std::vector<ET>{ET::kAmended, ET::kTrade, ET::kDone, ET::kTrade, ET::kDone}));
    EXPECT_EQ(events[1].price, 100);
    EXPECT_EQ(events[3].price, 99);
    EXPECT_EQ(book.Best(Side::kSell), (DepthLevel{99, 4, 1}));
    EXPECT_FALSE(book.Best(Side::kBuy).has_value());
}

TEST(OrderBook, MoveThatFillsCompletelyRemovesTheOrder) {
    OrderBook book;
    book.Submit(Limit(1, Side::kBuy, 100, 10));
    book.Submit(Limit(2, Side::kSell, 101, 4));
    auto events = Copy(book.Move(2, 100));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kAmended, ET::kTrade, ET::kDone}));
    EXPECT_EQ(events[2].order_id, 2U);
    EXPECT_FALSE(book.Find(2).has_value());
    EXPECT_EQ(book.Best(Side::kBuy), (DepthLevel{100, 6, 1}));
}

TEST(OrderBook, SelfTradeByDefaultCancelsIncomingRemainder) {
    OrderBook book;  // default: kCancelIncoming
    book.Submit(Limit(1, Side::kSell, 100, 3, /*user=*/8));
    book.Submit(Limit(2, Side::kSell, 100, 3, /*user=*/7));
    book.Submit(Limit(3, Side::kSell, 100, 3, /*user=*/9));
    auto events = Copy(book.Submit(Limit(4, Side::kBuy, 100, 9, /*user=*/7)));
    ASSERT_EQ(Types(events),
              (std::vector<ET>{ET::kAccepted, ET::kTrade, ET::kDone, ET::kCancelled, ET::kDone}));
    EXPECT_EQ(events[1].maker_order_id, 1U);
    EXPECT_EQ(events[3].order_id, 4U);
    EXPECT_EQ(events[3].quantity, 6);
    EXPECT_EQ(events[3].cancel_reason, CancelReason::kSelfTrade);
    EXPECT_EQ(book.Best(Side::kSell), (DepthLevel{100, 6, 2}));
    EXPECT_FALSE(book.Best(Side::kBuy).has_value());
}

TEST(OrderBook, SelfTradeCancelRestingRemovesOwnOrderAndKeepsMatching) {
    OrderBook book(BookConfig{.self_trade_prevention = SelfTradePrevention::kCancelResting});
    book.Submit(Limit(1, Side::kSell, 100, 3, 7));
    book.Submit(Limit(2, Side::kSell, 100, 3, 9));
    auto events = Copy(book.Submit(Limit(3, Side::kBuy, 100, 3, 7)));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kAccepted, ET::kCancelled, ET::kDone, ET::kTrade,
                                              ET::kDone, ET::kDone}));
    EXPECT_EQ(events[1].order_id, 1U);
    EXPECT_EQ(events[1].cancel_reason, CancelReason::kSelfTrade);
    EXPECT_EQ(events[3].maker_order_id, 2U);
    EXPECT_EQ(book.OrderCount(), 0U);
}

TEST(OrderBook, SelfTradeCancelBothRemovesBoth) {
    OrderBook book(BookConfig{.self_trade_prevention = SelfTradePrevention::kCancelBoth});
    book.Submit(Limit(1, Side::kSell, 100, 3, 7));
    book.Submit(Limit(2, Side::kSell, 100, 3, 9));
    auto events = Copy(book.Submit(Limit(3, Side::kBuy, 100, 3, 7)));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kAccepted, ET::kCancelled, ET::kDone,
                                              ET::kCancelled, ET::kDone}));
    EXPECT_EQ(events[3].order_id, 3U);
    EXPECT_EQ(book.Best(Side::kSell), (DepthLevel{100, 3, 1}));
}

TEST(OrderBook, SelfTradePreventionOffTradesWithOwnOrder) {
    OrderBook book(NoStp());
    book.Submit(Limit(1, Side::kSell, 100, 3, 7));
    auto trades = Trades(book.Submit(Limit(2, Side::kBuy, 100, 3, 7)));
    EXPECT_EQ(trades.size(), 1U);
}

TEST(OrderBook, SelfTradePreventionAppliesToMovedOrder) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 100, 3, 7));
    book.Submit(Limit(2, Side::kBuy, 95, 3, 7));
    auto events = Copy(book.Move(2, 100));
    ASSERT_EQ(Types(events), (std::vector<ET>{ET::kAmended, ET::kCancelled, ET::kDone}));
    EXPECT_FALSE(book.Find(2).has_value());
    EXPECT_TRUE(book.Find(1).has_value());
}

TEST(OrderBook, SequenceNumbersIncreaseByOneAcrossRequests) {
    OrderBook book;
    Sequence expected = 1;
    auto check = [&](std::span<const Event> events) {
        for (const Event& event : events) { EXPECT_EQ(event.sequence, expected++); }
    };
    check(book.Submit(Limit(1, Side::kSell, 100, 3)));
    check(book.Submit(Limit(2, Side::kSell, 101, 3)));
    check(book.Cancel(9));
    check(book.Submit(Market(3, Side::kBuy, 10)));
    check(book.Submit(Limit(4, Side::kBuy, 90, 3)));
    check(book.Move(4, 91));
    EXPECT_EQ(book.LastSequence(), expected - 1);
}

TEST(OrderBook, DepthAggregatesLevelsBestFirst) {
    OrderBook book;
    book.Submit(Limit(1, Side::kBuy, 100, 5));
    book.Submit(Limit(2, Side::kBuy, 100, 7));
    book.Submit(Limit(3, Side::kBuy, 98, 1));
    book.Submit(Limit(4, Side::kBuy, 99, 2));
    book.Submit(Limit(5, Side::kSell, 103, 4));
    book.Submit(Limit(6, Side::kSell, 102, 6));
    book.Submit(Limit(7, Side::kSell, 500, 6));
    EXPECT_EQ(book.Depth(Side::kBuy, 10),
              (std::vector<DepthLevel>{{100, 12, 2}, {99, 2, 1}, {98, 1, 1}}));
    EXPECT_EQ(book.Depth(Side::kSell, 2), (std::vector<DepthLevel>{{102, 6, 1}, {103, 4, 1}}));
    DepthLevel out[1];
    EXPECT_EQ(book.Depth(Side::kSell, std::span<DepthLevel>(out)), 1U);
    EXPECT_EQ(out[0], (DepthLevel{102, 6, 1}));
}

TEST(OrderBook, DepthFollowsFillsAmendsAndCancels) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 100, 5));
    book.Submit(Limit(2, Side::kSell, 100, 5));
    book.Submit(Limit(3, Side::kSell, 101, 5));
    book.Submit(Limit(4, Side::kBuy, 100, 7));
    EXPECT_EQ(book.Depth(Side::kSell, 5), (std::vector<DepthLevel>{{100, 3, 1}, {101, 5, 1}}));
    book.Amend(3, 101, 2);
    EXPECT_EQ(book.Depth(Side::kSell, 5), (std::vector<DepthLevel>{{100, 3, 1}, {101, 2, 1}}));
    book.Cancel(2);
    EXPECT_EQ(book.Depth(Side::kSell, 5), (std::vector<DepthLevel>{{101, 2, 1}}));
}

TEST(OrderBook, FindReportsLiveOrdersOnly) {
    OrderBook book;
    book.Submit(Limit(1, Side::kSell, 100, 5, 33));
    EXPECT_EQ(book.Find(1), (OrderView{1, 33, Side::kSell, 100, 5}));
    book.Submit(Limit(2, Side::kBuy, 100, 5));
    EXPECT_FALSE(book.Find(1).has_value());
    EXPECT_FALSE(book.Find(2).has_value());
}

TEST(OrderBook, OrderIdCanBeReusedAfterOrderLeavesTheBook) {
    OrderBook book;
    book.Submit(Limit(1, Side::kBuy, 100, 5));
    book.Cancel(1);
    auto events = Copy(book.Submit(Limit(1, Side::kBuy, 101, 5)));
    EXPECT_EQ(events[0].type, ET::kAccepted);
}

TEST(OrderBook, PricesFarApartShiftAndWidenTheLadder) {
    OrderBook book(BookConfig{.initial_price_window = 64});
    book.Submit(Limit(1, Side::kBuy, 1'000, 1));
    book.Submit(Limit(2, Side::kBuy, 10, 1));
    book.Submit(Limit(3, Side::kSell, 5'000, 1));
    book.Submit(Limit(4, Side::kSell, 2'000, 1));
    book.Submit(Limit(5, Side::kBuy, 1'500, 1));
    EXPECT_EQ(book.Depth(Side::kBuy, 10),
              (std::vector<DepthLevel>{{1'500, 1, 1}, {1'000, 1, 1}, {10, 1, 1}}));
    EXPECT_EQ(book.Depth(Side::kSell, 10), (std::vector<DepthLevel>{{2'000, 1, 1}, {5'000, 1, 1}}));
    auto trades = Trades(book.Submit(Market(6, Side::kSell, 3)));
    ASSERT_EQ(trades.size(), 3U);
    EXPECT_EQ(trades[2].price, 10);
}

TEST(OrderBook, EmptyBookRecentresOnAnyPrice) {
    OrderBook book(BookConfig{.initial_price_window = 64, .max_price_span = 128});
    book.Submit(Limit(1, Side::kBuy, 1'000'000'000, 1));
    book.Cancel(1);
    auto events = Copy(book.Submit(Limit(2, Side::kBuy, 7, 1)));
    EXPECT_EQ(events[0].type, ET::kAccepted);
    EXPECT_EQ(book.Best(Side::kBuy), (DepthLevel{7, 1, 1}));
}

TEST(OrderBook, RestingPriceBeyondMaxSpanIsRejected) {
    OrderBook book(BookConfig{.initial_price_window = 64, .max_price_span = 1'000});
    book.Submit(Limit(1, Side::kBuy, 10'000, 1));
    auto events = Copy(book.Submit(Limit(2, Side::kSell, 11'000, 1)));
    ASSERT_EQ(events.size(), 1U);
    EXPECT_EQ(events[0].reject_reason, RejectReason::kPriceOutOfRange);
    EXPECT_EQ(book.Submit(Limit(3, Side::kSell, 10'999, 1))[0].type, ET::kAccepted);
    EXPECT_EQ(book.Move(1, 9'999)[0].reject_reason, RejectReason::kPriceOutOfRange);
    // IOC orders never rest, so they are not bound by the span.
    EXPECT_EQ(book.Submit(Limit(4, Side::kSell, 1, 1, kOwnUser, TimeInForce::kIoc))[1].type,
              ET::kTrade);
}

}  // namespace
}  // namespace flowex::matching
