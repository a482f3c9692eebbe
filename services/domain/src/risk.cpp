#include "flowex/exchange/risk.hpp"

namespace flowex::exchange {

PriceBand BandOf(const Instrument& instrument) noexcept {
    const std::int64_t mid = instrument.last_price_cents.value_or(instrument.reference_price_cents);
    const std::int64_t width = mid * instrument.price_band_bps / 10000;
    const std::int64_t tick = instrument.tick_size_cents > 0 ? instrument.tick_size_cents : 1;
    PriceBand band;
    // Round inward so every price inside the band is a whole number of ticks.
    band.low_cents = ((mid - width + tick - 1) / tick) * tick;
    band.high_cents = ((mid + width) / tick) * tick;
    if (band.low_cents < tick) { band.low_cents = tick; }
    return band;
}

RiskDecision Validate(const Instrument& instrument, const RiskCheck& order,
                      std::int64_t open_orders_of_user, const RiskLimits& limits) noexcept {
    RiskDecision d;
    const PriceBand band = BandOf(instrument);
    if (order.type == OrderType::kLimit && order.price_cents.has_value()) {
        d.effective_price_cents = *order.price_cents;
        if (*order.price_cents % instrument.tick_size_cents != 0) {
            d.reasons.emplace_back("tick_size");
        }
        if (*order.price_cents < band.low_cents || *order.price_cents > band.high_cents) {
            d.reasons.emplace_back("price_outside_band");
        }
    } else if (order.type == OrderType::kMarket) {
        d.effective_price_cents = order.side == Side::kBuy ? band.high_cents : band.low_cents;
    } else {
        d.reasons.emplace_back("missing_price");
    }
    if (order.quantity <= 0 || order.quantity > instrument.max_order_quantity) {
        d.reasons.emplace_back("max_quantity");
    }
    // Notional at the effective price; quantities and prices are bounded, so no overflow
    // (≤ 10^9 shares × ≤ 10^15 cents is guarded by checking quantity first).
    if (order.quantity > 0 && order.quantity <= instrument.max_order_quantity &&
        d.effective_price_cents > instrument.max_order_notional_cents / order.quantity) {
        d.reasons.emplace_back("max_notional");
    }
    if (open_orders_of_user >= limits.max_open_orders_per_user) {
        d.reasons.emplace_back("open_order_limit");
    }
    d.approved = d.reasons.empty();
    return d;
}

}  // namespace flowex::exchange
