#pragma once
/// Account rules: credentials' shape, and what an order reserves in the wallet.
#include <cstdint>
#include <string_view>

#include "flowex/common/result.hpp"
#include "flowex/exchange/order.hpp"

namespace flowex::exchange {

/// 3–64 characters of A–Z a–z 0–9 _ . -; kValidation otherwise.
common::Status ValidateUsername(std::string_view username);
/// 8–128 bytes; kValidation otherwise. The message never contains the password.
common::Status ValidatePassword(std::string_view password);

/// What placing an order blocks: cash for a BUY (price × quantity, at the limit or, for a
/// MARKET order, at the band edge from risk-manager), shares for a SELL.
struct Reservation {
    std::int64_t cents = 0;
    std::int64_t quantity = 0;
};
/// Fails with kValidation when price × quantity overflows the money range.
common::Result<Reservation> ReservationFor(Side side, std::int64_t price_cents,
                                           std::int64_t quantity);

/// Cash released back to a buyer when `quantity` fills at `fill_price_cents` below the
/// price the cash was blocked at.
std::int64_t PriceImprovementCents(std::int64_t blocked_price_cents,
                                   std::int64_t fill_price_cents, std::int64_t quantity) noexcept;

}  // namespace flowex::exchange
