#pragma once
/// Value types shared by the order book, the engine and their callers: identifiers, order
/// requests, events and depth levels. Prices are integer ticks and quantities integer units;
/// there is no floating point anywhere in libs/matching.
#include <cstddef>
#include <cstdint>
#include <type_traits>

namespace flowex::matching {

using OrderId = std::uint64_t;
using UserId = std::uint64_t;
using Price = std::int64_t;     ///< integer ticks
using Quantity = std::int64_t;  ///< integer units
using Sequence = std::uint64_t;

/// Largest accepted limit price (ticks) and order quantity (units). Bounds keep every sum a
/// book computes (level totals, price differences) far from int64 overflow.
inline constexpr Price kMaxPrice = Price{1} << 60;
inline constexpr Quantity kMaxQuantity = Quantity{1'000'000'000'000};

enum class Side : std::uint8_t { kBuy, kSell };
enum class OrderType : std::uint8_t { kLimit, kMarket };
/// kGtc rests until filled or cancelled; kIoc cancels whatever does not trade at once.
/// Market orders are always IOC.
enum class TimeInForce : std::uint8_t { kGtc, kIoc };

/// What happens when an incoming order would trade against a resting order of the same user.
enum class SelfTradePrevention : std::uint8_t {
    kNone,            ///< trade anyway (benchmark streams are specified this way)
    kCancelIncoming,  ///< cancel the incoming order's remainder (default)
    kCancelResting,   ///< cancel the resting order and keep matching
    kCancelBoth,      ///< cancel the resting order and the incoming remainder
};

/// A new order request. `price` is ignored for market orders and `tif` is forced to IOC.
struct NewOrder {
    OrderId id = 0;
    UserId user = 0;
    Side side = Side::kBuy;
    OrderType type = OrderType::kLimit;
    TimeInForce tif = TimeInForce::kGtc;
    Price price = 0;
    Quantity quantity = 0;
};

enum class EventType : std::uint8_t {
    kAccepted,   ///< a new order passed validation (before any of its trades)
    kRejected,   ///< a request was refused; the book is unchanged; see `reject_reason`
    kTrade,      ///< one fill between the incoming order and one resting (maker) order
    kCancelled,  ///< an order's open quantity was removed; see `cancel_reason`
    kAmended,    ///< a live order's price and/or open quantity changed; see `priority_kept`
    kDone,       ///< an order left the book for good (filled, or cancelled: `cancel_reason`)
};

enum class RejectReason : std::uint8_t {
    kNone,
    kInvalidQuantity,   ///< quantity <= 0 or > kMaxQuantity
    kInvalidPrice,      ///< limit price <= 0 or > kMaxPrice
    kDuplicateOrderId,  ///< the id belongs to an order that is live on this book
    kUnknownOrder,      ///< cancel/amend/move of an id that is not live on this book
    kPriceOutOfRange,   ///< resting there would spread the book over more than max_price_span
};

enum class CancelReason : std::uint8_t {
    kNone,
    kRequested,    ///< Cancel() was called
    kUnfilledIoc,  ///< the untraded remainder of an IOC or market order
    kSelfTrade,    ///< self-trade prevention
};

/// One outcome. Plain data with no padding, so identical event streams are identical byte for
/// byte (`std::memcmp` is a valid comparison). Field use by type:
/// - kAccepted: order_id, side, price (0 for market), quantity = leaves = requested quantity,
///   order_type, tif.
/// - kRejected: order_id, side (of the request, or of the live order; kBuy if unknown), price
///   and quantity as requested (0 when the request has none), reject_reason.
/// - kTrade: order_id/side of the incoming (taker) order, maker_order_id, price (the resting
///   order's price), quantity traded, leaves (taker's open quantity after the fill),
///   maker_leaves.
/// - kCancelled: order_id, side, price (the order's), quantity cancelled, cancel_reason.
/// - kAmended: order_id, side, price (new), quantity = leaves = new open quantity,
///   priority_kept.
/// - kDone: order_id, side, price (the order's); cancel_reason kNone when fully filled.
struct Event {
    Sequence sequence = 0;  ///< per book, starts at 1, +1 per event, never reused
    OrderId order_id = 0;
    OrderId maker_order_id = 0;
    Price price = 0;
    Quantity quantity = 0;
    Quantity leaves = 0;
    Quantity maker_leaves = 0;
    EventType type = EventType::kAccepted;
    Side side = Side::kBuy;
    RejectReason reject_reason = RejectReason::kNone;
    CancelReason cancel_reason = CancelReason::kNone;
    OrderType order_type = OrderType::kLimit;
    TimeInForce tif = TimeInForce::kGtc;
    bool priority_kept = false;
    std::uint8_t reserved = 0;

    friend bool operator==(const Event&, const Event&) = default;
};
static_assert(sizeof(Event) == 64);
static_assert(std::has_unique_object_representations_v<Event>);

/// One aggregated price level: total open quantity and number of orders at `price`.
struct DepthLevel {
    Price price = 0;
    Quantity quantity = 0;
    std::uint64_t order_count = 0;

    friend bool operator==(const DepthLevel&, const DepthLevel&) = default;
};

/// A live order as the book holds it.
struct OrderView {
    OrderId id = 0;
    UserId user = 0;
    Side side = Side::kBuy;
    Price price = 0;
    Quantity leaves = 0;

    friend bool operator==(const OrderView&, const OrderView&) = default;
};

/// Per-book settings; plain aggregate, fill with designated initialisers.
struct BookConfig {
    SelfTradePrevention self_trade_prevention = SelfTradePrevention::kCancelIncoming;
    /// Live orders the pools and the id index are sized for up front; more still work (the
    /// pools grow, which allocates), so size this for the busiest expected book.
    std::size_t expected_orders = 1024;
    /// Events one request may produce before the event buffer grows.
    std::size_t expected_events = 256;
    /// Width in ticks of the price ladder reserved up front.
    Price initial_price_window = 4096;
    /// Widest allowed distance (ticks, inclusive) between the lowest and the highest resting
    /// price. A resting order beyond it is rejected with kPriceOutOfRange; IOC and market orders
    /// never rest and are never rejected for range. The ladder costs 24 bytes per tick of the
    /// span actually used.
    Price max_price_span = Price{1} << 20;
};

}  // namespace flowex::matching
