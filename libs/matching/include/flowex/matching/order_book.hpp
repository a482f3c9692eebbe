#pragma once
/// A price-time priority limit order book for one symbol.
///
/// Threading: an OrderBook is single-writer and not synchronised. Every call — mutating or
/// query — on one book must come from one thread at a time (the owner serialises them); distinct
/// books share nothing and may be driven from different threads concurrently. No call blocks,
/// performs I/O or reads a clock.
///
/// Events: each mutating call returns the events it produced, in order, as a span into a buffer
/// the book owns. The span is handed out only after the book is consistent again and stays valid
/// until the next mutating call on the same book. The same sequence of calls on a book built
/// with the same BookConfig yields the same events, byte for byte.
///
/// Allocation: after warm-up (pools sized by BookConfig, or grown once to the busiest point),
/// mutating calls do not allocate: orders live in an index-linked pool, the id index is an
/// open-addressing table and price levels sit in a dense ladder with a hierarchical bitmap.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "flowex/matching/detail/level_bitmap.hpp"
#include "flowex/matching/detail/order_index.hpp"
#include "flowex/matching/types.hpp"

namespace flowex::matching {

/// Best bid and best offer; an empty side is std::nullopt.
struct TopOfBook {
    std::optional<DepthLevel> bid;
    std::optional<DepthLevel> ask;
};

class OrderBook {
public:
    explicit OrderBook(BookConfig config = {});

    OrderBook(const OrderBook&) = delete;
    OrderBook& operator=(const OrderBook&) = delete;
    OrderBook(OrderBook&&) noexcept = default;
    OrderBook& operator=(OrderBook&&) noexcept = default;
    ~OrderBook() = default;

    /// A new limit or market order. Emits kAccepted then its trades, then kCancelled (IOC or
    /// market remainder, or self-trade prevention) and/or kDone, or nothing more if it rests;
    /// or a single kRejected.
    std::span<const Event> Submit(const NewOrder& order);

    /// Cancels a live order: kCancelled + kDone, or kRejected (kUnknownOrder).
    std::span<const Event> Cancel(OrderId id);

    /// Changes a live order's price and open quantity. Keeping the price and not raising the
    /// quantity keeps time priority; any other change sends the order to the back of its new
    /// level, and a new price that crosses the book trades at once (as the incoming side).
    /// Emits kAmended (then any trades, kCancelled, kDone) or kRejected.
    std::span<const Event> Amend(OrderId id, Price new_price, Quantity new_quantity);

    /// Moves a live order to `new_price` keeping its open quantity; it always loses time
    /// priority (even at the same price) and may trade at once. Same events as Amend.
    std::span<const Event> Move(OrderId id, Price new_price);

    /// Best bid and offer with their aggregated quantity and order count.
    TopOfBook Top() const noexcept;
    std::optional<DepthLevel> Best(Side side) const noexcept;

    /// Aggregated depth, best level first: fills at most out.size() levels and returns how many.
    /// Level totals are maintained on every change, so this only walks the top levels.
    std::size_t Depth(Side side, std::span<DepthLevel> out) const noexcept;
    /// Same as above into a new vector (allocates; for cold paths).
    std::vector<DepthLevel> Depth(Side side, std::size_t levels) const;

    /// The live order with this id, if any.
    std::optional<OrderView> Find(OrderId id) const noexcept;

    /// Live (resting) orders on the book, both sides.
    std::size_t OrderCount() const noexcept { return order_count_; }
    /// Non-empty price levels on one side.
    std::size_t LevelCount(Side side) const noexcept {
        return side == Side::kBuy ? bid_levels_ : ask_levels_;
    }
    /// Sequence number of the last event emitted (0 before any).
    Sequence LastSequence() const noexcept { return sequence_; }
    const BookConfig& Config() const noexcept { return config_; }

    /// Every live order of one side in priority order (best price first, then time). Walks the
    /// whole side and allocates: for tests, snapshots and diagnostics.
    std::vector<OrderView> Orders(Side side) const;

private:
    static constexpr std::uint32_t kNil = UINT32_MAX;
    static constexpr std::size_t kNoLevel = detail::LevelBitmap::kNone;

    struct OrderNode {
        OrderId id = 0;
        UserId user = 0;
        Price price = 0;
        Quantity leaves = 0;
        std::uint32_t prev = kNil;
        std::uint32_t next = kNil;  // also the free-list link
        Side side = Side::kBuy;
    };

    struct Level {
        Quantity total = 0;
        std::uint32_t count = 0;
        std::uint32_t head = kNil;
        std::uint32_t tail = kNil;
    };

    Event& Emit(EventType type, OrderId id, Side side, Price price);
    void Reject(RejectReason reason, OrderId id, Side side, Price price, Quantity quantity);

    bool InWindow(Price price) const noexcept {
        return price >= base_ && price - base_ < static_cast<Price>(levels_.size());
    }
    /// Makes the ladder cover `price` (re-basing or widening it if needed); false when that would
    /// spread resting prices over more than max_price_span.
    bool EnsureWindow(Price price);
    void Rebase(Price new_base, std::size_t new_width);

    std::uint32_t AllocateNode();
    void FreeNode(std::uint32_t n) noexcept;
    void Link(std::uint32_t n) noexcept;    // to the back of its price level
    void Unlink(std::uint32_t n) noexcept;  // from its price level
    void Retire(std::uint32_t n) noexcept;  // drop from the index and free

    /// Trades `leaves` of an incoming order against the opposite side up to `limit`. Returns the
    /// quantity left; sets `stopped` when self-trade prevention cancels the remainder.
    template <Side kTakerSide>
    Quantity Match(OrderId taker, UserId user, Price limit, Quantity leaves, bool& stopped);
    Quantity MatchAny(Side side, OrderId taker, UserId user, Price limit, Quantity leaves,
                      bool& stopped);
    /// Shared by Amend and Move once validated: reprices node `n`, matches, rests or retires.
    void Reprice(std::uint32_t n, Price new_price, Quantity new_quantity);

    DepthLevel LevelAt(std::size_t index) const noexcept;

    BookConfig config_;
    std::vector<OrderNode> nodes_;
    std::uint32_t free_head_ = kNil;
    detail::OrderIndex index_;

    Price base_ = 0;  // price of ladder slot 0
    std::vector<Level> levels_;
    std::vector<Level> spare_levels_;  // reused by Rebase
    detail::LevelBitmap bid_bits_;
    detail::LevelBitmap ask_bits_;
    std::size_t best_bid_ = kNoLevel;
    std::size_t best_ask_ = kNoLevel;
    std::size_t bid_levels_ = 0;
    std::size_t ask_levels_ = 0;
    std::size_t order_count_ = 0;

    std::vector<Event> events_;
    Sequence sequence_ = 0;
};

}  // namespace flowex::matching
