#include "flowex/matching/order_book.hpp"

#include <algorithm>
#include <limits>
#include <utility>

namespace flowex::matching {

namespace {

bool ValidQuantity(Quantity quantity) {
    return quantity > 0 && quantity <= kMaxQuantity;
}
bool ValidPrice(Price price) {
    return price > 0 && price <= kMaxPrice;
}

}  // namespace

OrderBook::OrderBook(BookConfig config) : config_(config), index_(config.expected_orders) {
    config_.max_price_span = std::max<Price>(config_.max_price_span, 1);
    config_.initial_price_window =
        std::clamp<Price>(config_.initial_price_window, 1, config_.max_price_span);
    nodes_.reserve(config_.expected_orders);
    levels_.assign(static_cast<std::size_t>(config_.initial_price_window), Level{});
    spare_levels_.reserve(levels_.size());
    bid_bits_.Reset(levels_.size());
    ask_bits_.Reset(levels_.size());
    events_.reserve(std::max<std::size_t>(config_.expected_events, 16));
}

// ---------------------------------------------------------------------------------------------
// Requests

std::span<const Event> OrderBook::Submit(const NewOrder& order) {
    events_.clear();
    const bool market = order.type == OrderType::kMarket;
    if (!ValidQuantity(order.quantity)) {
        Reject(RejectReason::kInvalidQuantity, order.id, order.side, order.price, order.quantity);
        return events_;
    }
    if (!market && !ValidPrice(order.price)) {
        Reject(RejectReason::kInvalidPrice, order.id, order.side, order.price, order.quantity);
        return events_;
    }
    if (index_.Find(order.id) != detail::OrderIndex::kMissing) {
        Reject(RejectReason::kDuplicateOrderId, order.id, order.side, order.price, order.quantity);
        return events_;
    }
    const bool may_rest = !market && order.tif == TimeInForce::kGtc;
    // Checked before any trade so that a rejection leaves the book untouched.
    if (may_rest && !EnsureWindow(order.price)) {
        Reject(RejectReason::kPriceOutOfRange, order.id, order.side, order.price, order.quantity);
        return events_;
    }

    const Price shown_price = market ? 0 : order.price;
    {
        Event& accepted = Emit(EventType::kAccepted, order.id, order.side, shown_price);
        accepted.quantity = order.quantity;
        accepted.leaves = order.quantity;
        accepted.order_type = order.type;
        accepted.tif = market ? TimeInForce::kIoc : order.tif;
    }

    Price limit = order.price;
    if (market) {
        limit = order.side == Side::kBuy ? std::numeric_limits<Price>::max()
                                         : std::numeric_limits<Price>::min();
    }
    bool stopped = false;
    const Quantity leaves =
        MatchAny(order.side, order.id, order.user, limit, order.quantity, stopped);

    if (leaves == 0) {
        Emit(EventType::kDone, order.id, order.side, shown_price);
    } else if (stopped || !may_rest) {
        const CancelReason reason = stopped ? CancelReason::kSelfTrade : CancelReason::kUnfilledIoc;
        Event& cancelled = Emit(EventType::kCancelled, order.id, order.side, shown_price);
        cancelled.quantity = leaves;
        cancelled.cancel_reason = reason;
        Emit(EventType::kDone, order.id, order.side, shown_price).cancel_reason = reason;
    } else {
        const std::uint32_t n = AllocateNode();
        OrderNode& node = nodes_[n];
        node.id = order.id;
        node.user = order.user;
        node.price = order.price;
        node.leaves = leaves;
        node.side = order.side;
        index_.Insert(order.id, n);
        Link(n);
    }
    return events_;
}

std::span<const Event> OrderBook::Cancel(OrderId id) {
    events_.clear();
    const std::uint32_t n = index_.Find(id);
    if (n == detail::OrderIndex::kMissing) {
        Reject(RejectReason::kUnknownOrder, id, Side::kBuy, 0, 0);
        return events_;
    }
    const OrderNode& node = nodes_[n];
    Event& cancelled = Emit(EventType::kCancelled, id, node.side, node.price);
    cancelled.quantity = node.leaves;
    cancelled.cancel_reason = CancelReason::kRequested;
    Emit(EventType::kDone, id, node.side, node.price).cancel_reason = CancelReason::kRequested;
    Unlink(n);
    Retire(n);
    return events_;
}

std::span<const Event> OrderBook::Amend(OrderId id, Price new_price, Quantity new_quantity) {
    events_.clear();
    const std::uint32_t n = index_.Find(id);
    if (n == detail::OrderIndex::kMissing) {
        Reject(RejectReason::kUnknownOrder, id, Side::kBuy, new_price, new_quantity);
        return events_;
    }
    const Side side = nodes_[n].side;
    if (!ValidQuantity(new_quantity)) {
        Reject(RejectReason::kInvalidQuantity, id, side, new_price, new_quantity);
        return events_;
    }
    if (!ValidPrice(new_price)) {
        Reject(RejectReason::kInvalidPrice, id, side, new_price, new_quantity);
        return events_;
    }
    OrderNode& node = nodes_[n];
    if (new_price == node.price) {
        // Same price cannot cross. Shrinking in place keeps the queue position; growing is a
        // new claim on liquidity and goes to the back.
        const bool keep = new_quantity <= node.leaves;
        if (keep) {
            levels_[static_cast<std::size_t>(node.price - base_)].total -=
                node.leaves - new_quantity;
            node.leaves = new_quantity;
        } else {
            Unlink(n);
            nodes_[n].leaves = new_quantity;
            Link(n);
        }
        Event& amended = Emit(EventType::kAmended, id, side, new_price);
        amended.quantity = new_quantity;
        amended.leaves = new_quantity;
        amended.priority_kept = keep;
        return events_;
    }
    if (!EnsureWindow(new_price)) {
        Reject(RejectReason::kPriceOutOfRange, id, side, new_price, new_quantity);
        return events_;
    }
    Reprice(n, new_price, new_quantity);
    return events_;
}

std::span<const Event> OrderBook::Move(OrderId id, Price new_price) {
    events_.clear();
    const std::uint32_t n = index_.Find(id);
    if (n == detail::OrderIndex::kMissing) {
        Reject(RejectReason::kUnknownOrder, id, Side::kBuy, new_price, 0);
        return events_;
    }
    const Side side = nodes_[n].side;
    if (!ValidPrice(new_price)) {
        Reject(RejectReason::kInvalidPrice, id, side, new_price, 0);
        return events_;
    }
    if (!EnsureWindow(new_price)) {
        Reject(RejectReason::kPriceOutOfRange, id, side, new_price, 0);
        return events_;
    }
    Reprice(n, new_price, nodes_[n].leaves);
    return events_;
}

void OrderBook::Reprice(std::uint32_t n, Price new_price, Quantity new_quantity) {
    Unlink(n);
    const OrderId id = nodes_[n].id;
    const Side side = nodes_[n].side;
    const UserId user = nodes_[n].user;
    nodes_[n].price = new_price;
    {
        Event& amended = Emit(EventType::kAmended, id, side, new_price);
        amended.quantity = new_quantity;
        amended.leaves = new_quantity;
        amended.priority_kept = false;
    }
    bool stopped = false;
    const Quantity leaves = MatchAny(side, id, user, new_price, new_quantity, stopped);
    nodes_[n].leaves = leaves;
    if (leaves == 0) {
        Emit(EventType::kDone, id, side, new_price);
        Retire(n);
    } else if (stopped) {
        Event& cancelled = Emit(EventType::kCancelled, id, side, new_price);
        cancelled.quantity = leaves;
        cancelled.cancel_reason = CancelReason::kSelfTrade;
        Emit(EventType::kDone, id, side, new_price).cancel_reason = CancelReason::kSelfTrade;
        Retire(n);
    } else {
        Link(n);
    }
}

// ---------------------------------------------------------------------------------------------
// Matching

Quantity OrderBook::MatchAny(Side side, OrderId taker, UserId user, Price limit, Quantity leaves,
                             bool& stopped) {
    if (side == Side::kBuy) { return Match<Side::kBuy>(taker, user, limit, leaves, stopped); }
    return Match<Side::kSell>(taker, user, limit, leaves, stopped);
}

template <Side kTakerSide>
Quantity OrderBook::Match(OrderId taker, UserId user, Price limit, Quantity leaves, bool& stopped) {
    constexpr bool kBuy = kTakerSide == Side::kBuy;
    const SelfTradePrevention stp = config_.self_trade_prevention;
    while (leaves > 0) {
        const std::size_t best = kBuy ? best_ask_ : best_bid_;
        if (best == kNoLevel) { break; }
        const Price level_price = base_ + static_cast<Price>(best);
        if (kBuy ? level_price > limit : level_price < limit) { break; }
        Level& level = levels_[best];
        // The level is non-empty here; leave the loop once it empties (Unlink then moved best).
        while (leaves > 0) {
            const std::uint32_t m = level.head;
            OrderNode& maker = nodes_[m];
            const bool last = level.count == 1;
            if (stp != SelfTradePrevention::kNone && maker.user == user) {
                if (stp == SelfTradePrevention::kCancelIncoming) {
                    stopped = true;
                    return leaves;
                }
                Event& cancelled = Emit(EventType::kCancelled, maker.id, maker.side, maker.price);
                cancelled.quantity = maker.leaves;
                cancelled.cancel_reason = CancelReason::kSelfTrade;
                Emit(EventType::kDone, maker.id, maker.side, maker.price).cancel_reason =
                    CancelReason::kSelfTrade;
                Unlink(m);
                Retire(m);
                if (stp == SelfTradePrevention::kCancelBoth) {
                    stopped = true;
                    return leaves;
                }
                if (last) { break; }
                continue;
            }
            const Quantity traded = std::min(leaves, maker.leaves);
            leaves -= traded;
            maker.leaves -= traded;
            level.total -= traded;
            Event& trade = Emit(EventType::kTrade, taker, kTakerSide, level_price);
            trade.maker_order_id = maker.id;
            trade.quantity = traded;
            trade.leaves = leaves;
            trade.maker_leaves = maker.leaves;
            if (maker.leaves == 0) {
                Emit(EventType::kDone, maker.id, maker.side, maker.price);
                Unlink(m);
                Retire(m);
                if (last) { break; }
            }
        }
    }
    return leaves;
}

template Quantity OrderBook::Match<Side::kBuy>(OrderId, UserId, Price, Quantity, bool&);
template Quantity OrderBook::Match<Side::kSell>(OrderId, UserId, Price, Quantity, bool&);

// ---------------------------------------------------------------------------------------------
// Pool, levels and ladder

Event& OrderBook::Emit(EventType type, OrderId id, Side side, Price price) {
    Event& event = events_.emplace_back();
    event.sequence = ++sequence_;
    event.type = type;
    event.order_id = id;
    event.side = side;
    event.price = price;
    return event;
}

void OrderBook::Reject(RejectReason reason, OrderId id, Side side, Price price, Quantity quantity) {
    Event& rejected = Emit(EventType::kRejected, id, side, price);
    rejected.quantity = quantity;
    rejected.reject_reason = reason;
}

std::uint32_t OrderBook::AllocateNode() {
    if (free_head_ != kNil) {
        const std::uint32_t n = free_head_;
        free_head_ = nodes_[n].next;
        return n;
    }
    nodes_.emplace_back();
    return static_cast<std::uint32_t>(nodes_.size() - 1);
}

void OrderBook::FreeNode(std::uint32_t n) noexcept {
    nodes_[n].next = free_head_;
    free_head_ = n;
}

void OrderBook::Retire(std::uint32_t n) noexcept {
    index_.Erase(nodes_[n].id);
    FreeNode(n);
}

void OrderBook::Link(std::uint32_t n) noexcept {
    OrderNode& node = nodes_[n];
    const auto i = static_cast<std::size_t>(node.price - base_);
    Level& level = levels_[i];
    node.prev = level.tail;
    node.next = kNil;
    if (level.tail != kNil) {
        nodes_[level.tail].next = n;
    } else {
        level.head = n;
    }
    level.tail = n;
    level.total += node.leaves;
    ++order_count_;
    if (++level.count == 1) {
        if (node.side == Side::kBuy) {
            bid_bits_.Set(i);
            ++bid_levels_;
            if (best_bid_ == kNoLevel || i > best_bid_) { best_bid_ = i; }
        } else {
            ask_bits_.Set(i);
            ++ask_levels_;
            if (best_ask_ == kNoLevel || i < best_ask_) { best_ask_ = i; }
        }
    }
}

void OrderBook::Unlink(std::uint32_t n) noexcept {
    OrderNode& node = nodes_[n];
    const auto i = static_cast<std::size_t>(node.price - base_);
    Level& level = levels_[i];
    if (node.prev != kNil) {
        nodes_[node.prev].next = node.next;
    } else {
        level.head = node.next;
    }
    if (node.next != kNil) {
        nodes_[node.next].prev = node.prev;
    } else {
        level.tail = node.prev;
    }
    level.total -= node.leaves;
    --order_count_;
    if (--level.count == 0) {
        if (node.side == Side::kBuy) {
            bid_bits_.Clear(i);
            --bid_levels_;
            if (i == best_bid_) { best_bid_ = i == 0 ? kNoLevel : bid_bits_.FindPrev(i - 1); }
        } else {
            ask_bits_.Clear(i);
            --ask_levels_;
            if (i == best_ask_) { best_ask_ = ask_bits_.FindNext(i + 1); }
        }
    }
}

bool OrderBook::EnsureWindow(Price price) {
    if (InWindow(price)) { return true; }
    // Every resting price lies inside the ladder, so it suffices to widen or shift it when a
    // price falls outside; the span rule then reads: lowest..highest resting price with `price`
    // must fit in max_price_span.
    Price low = price;
    Price high = price;
    if (bid_levels_ > 0) {
        low = std::min(low, base_ + static_cast<Price>(bid_bits_.FindNext(0)));
        high = std::max(high, base_ + static_cast<Price>(best_bid_));
    }
    if (ask_levels_ > 0) {
        low = std::min(low, base_ + static_cast<Price>(best_ask_));
        high = std::max(high, base_ + static_cast<Price>(ask_bits_.FindPrev(levels_.size() - 1)));
    }
    const Price span = high - low + 1;
    if (span > config_.max_price_span) { return false; }
    // Leave as much room again as the book spans so that drifting prices re-base rarely.
    const Price wanted = std::min(config_.max_price_span, std::max(2 * span, Price{64}));
    const auto width = std::max(levels_.size(), static_cast<std::size_t>(wanted));
    const Price new_base = low - (static_cast<Price>(width) - span) / 2;
    Rebase(new_base, width);
    return true;
}

void OrderBook::Rebase(Price new_base, std::size_t new_width) {
    spare_levels_.assign(new_width, Level{});
    const Price shift = base_ - new_base;
    for (std::size_t i = bid_bits_.FindNext(0); i != kNoLevel; i = bid_bits_.FindNext(i + 1)) {
        spare_levels_[static_cast<std::size_t>(static_cast<Price>(i) + shift)] = levels_[i];
    }
    for (std::size_t i = ask_bits_.FindNext(0); i != kNoLevel; i = ask_bits_.FindNext(i + 1)) {
        spare_levels_[static_cast<std::size_t>(static_cast<Price>(i) + shift)] = levels_[i];
    }
    const std::size_t old_best_bid = best_bid_;
    const std::size_t old_best_ask = best_ask_;
    levels_.swap(spare_levels_);
    base_ = new_base;
    bid_bits_.Reset(new_width);
    ask_bits_.Reset(new_width);
    for (std::size_t i = 0; i < new_width; ++i) {
        const Level& level = levels_[i];
        if (level.count == 0) { continue; }
        if (nodes_[level.head].side == Side::kBuy) {
            bid_bits_.Set(i);
        } else {
            ask_bits_.Set(i);
        }
    }
    best_bid_ = old_best_bid == kNoLevel
                    ? kNoLevel
                    : static_cast<std::size_t>(static_cast<Price>(old_best_bid) + shift);
    best_ask_ = old_best_ask == kNoLevel
                    ? kNoLevel
                    : static_cast<std::size_t>(static_cast<Price>(old_best_ask) + shift);
}

// ---------------------------------------------------------------------------------------------
// Queries

DepthLevel OrderBook::LevelAt(std::size_t index) const noexcept {
    const Level& level = levels_[index];
    return DepthLevel{base_ + static_cast<Price>(index), level.total, level.count};
}

std::optional<DepthLevel> OrderBook::Best(Side side) const noexcept {
    const std::size_t best = side == Side::kBuy ? best_bid_ : best_ask_;
    if (best == kNoLevel) { return std::nullopt; }
    return LevelAt(best);
}

TopOfBook OrderBook::Top() const noexcept {
    return TopOfBook{Best(Side::kBuy), Best(Side::kSell)};
}

std::size_t OrderBook::Depth(Side side, std::span<DepthLevel> out) const noexcept {
    std::size_t filled = 0;
    const std::size_t best = side == Side::kBuy ? best_bid_ : best_ask_;
    if (out.empty() || best == kNoLevel) { return 0; }
    auto take = [&](std::size_t i) {
        out[filled++] = LevelAt(i);
        return filled < out.size();
    };
    if (side == Side::kBuy) {
        bid_bits_.VisitDown(best, take);
    } else {
        ask_bits_.VisitUp(best, take);
    }
    return filled;
}

std::vector<DepthLevel> OrderBook::Depth(Side side, std::size_t levels) const {
    std::vector<DepthLevel> out(std::min(levels, LevelCount(side)));
    out.resize(Depth(side, std::span<DepthLevel>(out)));
    return out;
}

std::optional<OrderView> OrderBook::Find(OrderId id) const noexcept {
    const std::uint32_t n = index_.Find(id);
    if (n == detail::OrderIndex::kMissing) { return std::nullopt; }
    const OrderNode& node = nodes_[n];
    return OrderView{node.id, node.user, node.side, node.price, node.leaves};
}

std::vector<OrderView> OrderBook::Orders(Side side) const {
    std::vector<OrderView> out;
    out.reserve(order_count_);
    std::size_t i = side == Side::kBuy ? best_bid_ : best_ask_;
    while (i != kNoLevel) {
        for (std::uint32_t n = levels_[i].head; n != kNil; n = nodes_[n].next) {
            const OrderNode& node = nodes_[n];
            out.push_back(OrderView{node.id, node.user, node.side, node.price, node.leaves});
        }
        if (side == Side::kBuy) {
            i = i == 0 ? kNoLevel : bid_bits_.FindPrev(i - 1);
        } else {
            i = ask_bits_.FindNext(i + 1);
        }
    }
    return out;
}

}  // namespace flowex::matching
