#pragma once
/// Pre-trade risk checks (risk-manager's `validate_order`). Pure: the caller supplies the
/// instrument's limits, its last or reference price, and the user's open-order count.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "flowex/exchange/order.hpp"

namespace flowex::exchange {

struct Instrument {
    std::string symbol;
    std::int64_t tick_size_cents = 1;
    std::int64_t reference_price_cents = 0;
    std::optional<std::int64_t> last_price_cents;
    std::int64_t price_band_bps = 1000;  // ±10 %
    std::int64_t max_order_quantity = 100000;
    std::int64_t max_order_notional_cents = 1'000'000'000;
};

struct PriceBand {
    std::int64_t low_cents = 0;   // inclusive
    std::int64_t high_cents = 0;  // inclusive
};

/// The band around the last trade price (or the reference price before the first trade),
/// rounded inward to whole ticks.
PriceBand BandOf(const Instrument& instrument) noexcept;

struct RiskLimits {
    std::int64_t max_open_orders_per_user = 200;
};

/// The order as risk-manager receives it (internal body: cents and shares).
struct RiskCheck {
    Side side = Side::kBuy;
    OrderType type = OrderType::kLimit;
    std::optional<std::int64_t> price_cents;
    std::int64_t quantity = 0;
};

struct RiskDecision {
    bool approved = false;
    /// Machine-readable reasons, e.g. "price_outside_band", "tick_size",
    /// "max_quantity", "max_notional", "open_order_limit".
    std::vector<std::string> reasons;
    /// The price the order is evaluated at: its limit, or for MARKET the band edge it may
    /// trade up (BUY) or down (SELL) to. Wallet blocks cash against this for MARKET BUYs.
    std::int64_t effective_price_cents = 0;
};

RiskDecision Validate(const Instrument& instrument, const RiskCheck& order,
                      std::int64_t open_orders_of_user, const RiskLimits& limits) noexcept;

}  // namespace flowex::exchange
