#pragma once
/// Orders as the public API and the services see them (DESIGN §4, §6): enums with their
/// wire spellings, and the parsing of a client's order request into a validated value.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "flowex/common/json.hpp"
#include "flowex/common/result.hpp"

namespace flowex::exchange {

enum class Side { kBuy, kSell };
enum class OrderType { kLimit, kMarket };
enum class TimeInForce { kGtc, kIoc };
enum class OrderStatus { kNew, kOpen, kPartiallyFilled, kFilled, kCancelled, kRejected };

std::string_view ToString(Side s) noexcept;
std::string_view ToString(OrderType t) noexcept;
std::string_view ToString(TimeInForce t) noexcept;
std::string_view ToString(OrderStatus s) noexcept;
std::optional<Side> ParseSide(std::string_view s) noexcept;
std::optional<OrderType> ParseOrderType(std::string_view s) noexcept;
std::optional<TimeInForce> ParseTimeInForce(std::string_view s) noexcept;
std::optional<OrderStatus> ParseOrderStatus(std::string_view s) noexcept;
/// An order in one of these statuses can still trade or be cancelled.
bool IsOpen(OrderStatus s) noexcept;

/// The maximum length of a client_order_id.
inline constexpr std::size_t kMaxClientOrderIdLength = 64;

/// A client's new-order request after validation. Prices are cents, quantities shares.
struct NewOrderRequest {
    std::string symbol;
    Side side = Side::kBuy;
    OrderType type = OrderType::kLimit;
    TimeInForce time_in_force = TimeInForce::kGtc;
    std::optional<std::int64_t> price_cents;  // set for LIMIT, absent for MARKET
    std::int64_t quantity = 0;
    std::optional<std::string> client_order_id;
};

/// Parses the public `POST /v1/order` body `{"symbol","side","quantity","price"?,"type"?,
/// "time_in_force"?,"client_order_id"?}`. Wrong JSON types → kInvalidJson; missing or
/// out-of-range values (quantity ≤ 0, > 2 decimals, bad side/type, LIMIT without price,
/// MARKET with GTC) → kValidation. Whether the symbol is listed is not checked here.
common::Result<NewOrderRequest> ParseNewOrderRequest(const common::JsonValue& body);

/// Upper-cases and checks a symbol's shape (1–10 of A–Z, 0–9, '.'); kValidation otherwise.
common::Result<std::string> NormalizeSymbol(std::string_view symbol);

}  // namespace flowex::exchange
