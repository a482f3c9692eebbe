#pragma once
// A deliberately simple order book used as the oracle in property tests: each side is one
// vector kept in priority order (best price first, then arrival), searched linearly. It follows
// the documented semantics of OrderBook (same events, same reject rules) with none of its
// data structures.
#include <algorithm>
#include <limits>
#include <vector>

#include "flowex/matching/types.hpp"

namespace flowex::matching::testing {

class ReferenceBook {
public:
    explicit ReferenceBook(BookConfig config) : config_(config) {}

    const std::vector<Event>& Submit(const NewOrder& order) {
        events_.clear();
        const bool market = order.type == OrderType::kMarket;
        if (!ValidQuantity(order.quantity)) {
            Reject(RejectReason::kInvalidQuantity, order.id, order.side, order.price,
                   order.quantity);
        } else if (!market && !ValidPrice(order.price)) {
            Reject(RejectReason::kInvalidPrice, order.id, order.side, order.price, order.quantity);
        } else if (FindOrder(order.id) != nullptr) {
            Reject(RejectReason::kDuplicateOrderId, order.id, order.side, order.price,
                   order.quantity);
        } else if (!market && order.tif == TimeInForce::kGtc && !Fits(order.price)) {
            Reject(RejectReason::kPriceOutOfRange, order.id, order.side, order.price,
                   order.quantity);
        } else {
            const Price shown = market ? 0 : order.price;
            Event& accepted = Emit(EventType::kAccepted, order.id, order.side, shown);
            accepted.quantity = order.quantity;
            accepted.leaves = order.quantity;
            accepted.order_type = order.type;
            accepted.tif = market ? TimeInForce::kIoc : order.tif;
            Price limit = order.price;
            if (market) {
                limit = order.side == Side::kBuy ? std::numeric_limits<Price>::max()
                                                 : std::numeric_limits<Price>::min();
            }
            bool stopped = false;
            const Quantity leaves =
                Match(order.side, order.id, order.user, limit, order.quantity, stopped);
            if (leaves == 0) {
                Emit(EventType::kDone, order.id, order.side, shown);
            } else if (stopped || market || order.tif == TimeInForce::kIoc) {
                CancelOut(order.id, order.side, shown, leaves,
                          stopped ? CancelReason::kSelfTrade : CancelReason::kUnfilledIoc);
            } else {
                Insert(Order{order.id, order.user, order.side, order.price, leaves});
            }
        }
        return events_;
    }

    const std::vector<Event>& Cancel(OrderId id) {
        events_.clear();
        const Order* found = FindOrder(id);
        if (found == nullptr) {
            Reject(RejectReason::kUnknownOrder, id, Side::kBuy, 0, 0);
            return events_;
        }
        const Order order = Remove(id);
        CancelOut(order.id, order.side, order.price, order.leaves, CancelReason::kRequested);
        return events_;
    }

    const std::vector<Event>& Amend(OrderId id, Price price, Quantity quantity) {
        events_.clear();
        const Order* found = FindOrder(id);
        if (found == nullptr) {
            Reject(RejectReason::kUnknownOrder, id, Side::kBuy, price, quantity);
            return events_;
        }
        const Side side = found->side;
        if (!ValidQuantity(quantity)) {
            Reject(RejectReason::kInvalidQuantity, id, side, price, quantity);
            return events_;
        }
        if (!ValidPrice(price)) {
            Reject(RejectReason::kInvalidPrice, id, side, price, quantity);
            return events_;
        }
        if (price == found->price) {
            const bool keep = quantity <= found->leaves;
            if (keep) {
                FindOrder(id)->leaves = quantity;
            } else {
                Order order = Remove(id);
                order.leaves = quantity;
                Insert(order);
            }
            Event& amended = Emit(EventType::kAmended, id, side, price);
            amended.quantity = quantity;
            amended.leaves = quantity;
            amended.priority_kept = keep;
            return events_;
        }
        if (!Fits(price)) {
            Reject(RejectReason::kPriceOutOfRange, id, side, price, quantity);
            return events_;
        }
        Reprice(id, price, quantity);
        return events_;
    }

    const std::vector<Event>& Move(OrderId id, Price price) {
        events_.clear();
        const Order* found = FindOrder(id);
        if (found == nullptr) {
            Reject(RejectReason::kUnknownOrder, id, Side::kBuy, price, 0);
        } else if (!ValidPrice(price)) {
            Reject(RejectReason::kInvalidPrice, id, found->side, price, 0);
        } else if (!Fits(price)) {
            Reject(RejectReason::kPriceOutOfRange, id, found->side, price, 0);
        } else {
            Reprice(id, price, found->leaves);
        }
        return events_;
    }

    /// Every level of one side, best first.
    std::vector<DepthLevel> Depth(Side side) const {
        std::vector<DepthLevel> levels;
        for (const Order& order : SideOf(side)) {
            if (levels.empty() || levels.back().price != order.price) {
                levels.push_back(DepthLevel{order.price, 0, 0});
            }
            levels.back().quantity += order.leaves;
            ++levels.back().order_count;
        }
        return levels;
    }

    std::vector<OrderView> Orders(Side side) const {
        std::vector<OrderView> out;
        for (const Order& order : SideOf(side)) {
            out.push_back(OrderView{order.id, order.user, order.side, order.price, order.leaves});
        }
        return out;
    }

    std::size_t OrderCount() const { return bids_.size() + asks_.size(); }

private:
    struct Order {
        OrderId id;
        UserId user;
        Side side;
        Price price;
        Quantity leaves;
    };

    static bool ValidQuantity(Quantity q) { return q > 0 && q <= kMaxQuantity; }
    static bool ValidPrice(Price p) { return p > 0 && p <= kMaxPrice; }

    std::vector<Order>& SideOf(Side side) { return side == Side::kBuy ? bids_ : asks_; }
    const std::vector<Order>& SideOf(Side side) const { return side == Side::kBuy ? bids_ : asks_; }

    // `a` has strictly better price than `b` for this side.
    static bool Better(Side side, Price a, Price b) { return side == Side::kBuy ? a > b : a < b; }

    Order* FindOrder(OrderId id) {
        for (auto* side : {&bids_, &asks_}) {
            for (Order& order : *side) {
                if (order.id == id) { return &order; }
            }
        }
        return nullptr;
    }

    Order Remove(OrderId id) {
        for (auto* side : {&bids_, &asks_}) {
            for (auto it = side->begin(); it != side->end(); ++it) {
                if (it->id == id) {
                    Order order = *it;
                    side->erase(it);
                    return order;
                }
            }
        }
        return Order{};
    }

    // Behind every order with the same or a better price.
    void Insert(const Order& order) {
        auto& side = SideOf(order.side);
        auto it = side.begin();
        while (it != side.end() && !Better(order.side, order.price, it->price)) { ++it; }
        side.insert(it, order);
    }

    bool Fits(Price price) const {
        Price low = price;
        Price high = price;
        for (const auto* side : {&bids_, &asks_}) {
            for (const Order& order : *side) {
                low = std::min(low, order.price);
                high = std::max(high, order.price);
            }
        }
        return high - low + 1 <= config_.max_price_span;
    }

    Quantity Match(Side side, OrderId taker, UserId user, Price limit, Quantity leaves,
                   bool& stopped) {
        auto& opposite = side == Side::kBuy ? asks_ : bids_;
        const auto stp = config_.self_trade_prevention;
        while (leaves > 0 && !opposite.empty()) {
            Order& maker = opposite.front();
            if (side == Side::kBuy ? maker.price > limit : maker.price < limit) { break; }
            if (stp != SelfTradePrevention::kNone && maker.user == user) {
                if (stp == SelfTradePrevention::kCancelIncoming) {
                    stopped = true;
                    return leaves;
                }
                const Order gone = maker;
                opposite.erase(opposite.begin());
                CancelOut(gone.id, gone.side, gone.price, gone.leaves, CancelReason::kSelfTrade);
                if (stp == SelfTradePrevention::kCancelBoth) {
                    stopped = true;
                    return leaves;
                }
                continue;
            }
            const Quantity traded = std::min(leaves, maker.leaves);
            leaves -= traded;
            maker.leaves -= traded;
            Event& trade = Emit(EventType::kTrade, taker, side, maker.price);
            trade.maker_order_id = maker.id;
            trade.quantity = traded;
            trade.leaves = leaves;
            trade.maker_leaves = maker.leaves;
            if (maker.leaves == 0) {
                const Order gone = maker;
                opposite.erase(opposite.begin());
                Emit(EventType::kDone, gone.id, gone.side, gone.price);
            }
        }
        return leaves;
    }

    void Reprice(OrderId id, Price price, Quantity quantity) {
        Order order = Remove(id);
        order.price = price;
        Event& amended = Emit(EventType::kAmended, id, order.side, price);
        amended.quantity = quantity;
        amended.leaves = quantity;
        bool stopped = false;
        order.leaves = Match(order.side, id, order.user, price, quantity, stopped);
        if (order.leaves == 0) {
            Emit(EventType::kDone, id, order.side, price);
        } else if (stopped) {
            CancelOut(id, order.side, price, order.leaves, CancelReason::kSelfTrade);
        } else {
            Insert(order);
        }
    }

    void CancelOut(OrderId id, Side side, Price price, Quantity quantity, CancelReason reason) {
        Event& cancelled = Emit(EventType::kCancelled, id, side, price);
        cancelled.quantity = quantity;
        cancelled.cancel_reason = reason;
        Emit(EventType::kDone, id, side, price).cancel_reason = reason;
    }

    void Reject(RejectReason reason, OrderId id, Side side, Price price, Quantity quantity) {
        Event& rejected = Emit(EventType::kRejected, id, side, price);
        rejected.quantity = quantity;
        rejected.reject_reason = reason;
    }

    Event& Emit(EventType type, OrderId id, Side side, Price price) {
        Event& event = events_.emplace_back();
        event.sequence = ++sequence_;
        event.type = type;
        event.order_id = id;
        event.side = side;
        event.price = price;
        return event;
    }

    BookConfig config_;
    std::vector<Order> bids_;
    std::vector<Order> asks_;
    std::vector<Event> events_;
    Sequence sequence_ = 0;
};

}  // namespace flowex::matching::testing
