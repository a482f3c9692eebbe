#include "flowex/exchange/order.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "flowex/common/money.hpp"

namespace flowex::exchange {

using common::Error;
using common::ErrorCode;

namespace {

template <class E, std::size_t N>
std::optional<E> Lookup(const std::array<std::pair<E, std::string_view>, N>& table,
                        std::string_view s) {
    for (const auto& [e, name] : table) {
        if (name.size() == s.size() &&
            std::equal(name.begin(), name.end(), s.begin(), [](char a, char b) {
                return a == std::toupper(static_cast<unsigned char>(b));
            })) {
            return e;
        }
    }
    return std::nullopt;
}

template <class E, std::size_t N>
std::string_view Name(const std::array<std::pair<E, std::string_view>, N>& table, E e) {
    for (const auto& [k, name] : table) {
        if (k == e) { return name; }
    }
    return "?";
}

constexpr std::array<std::pair<Side, std::string_view>, 2> kSides{
    {{Side::kBuy, "BUY"}, {Side::kSell, "SELL"}}};
constexpr std::array<std::pair<OrderType, std::string_view>, 2> kTypes{
    {{OrderType::kLimit, "LIMIT"}, {OrderType::kMarket, "MARKET"}}};
constexpr std::array<std::pair<TimeInForce, std::string_view>, 2> kTifs{
    {{TimeInForce::kGtc, "GTC"}, {TimeInForce::kIoc, "IOC"}}};
constexpr std::array<std::pair<OrderStatus, std::string_view>, 6> kStatuses{
    {{OrderStatus::kNew, "NEW"},
     {OrderStatus::kOpen, "OPEN"},
     {OrderStatus::kPartiallyFilled, "PARTIALLY_FILLED"},
     {OrderStatus::kFilled, "FILLED"},
     {OrderStatus::kCancelled, "CANCELLED"},
     {OrderStatus::kRejected, "REJECTED"}}};

Error Invalid(std::string msg) { return Error{ErrorCode::kValidation, std::move(msg)}; }

}  // namespace

std::string_view ToString(Side s) noexcept { return Name(kSides, s); }
std::string_view ToString(OrderType t) noexcept { return Name(kTypes, t); }
std::string_view ToString(TimeInForce t) noexcept { return Name(kTifs, t); }
std::string_view ToString(OrderStatus s) noexcept { return Name(kStatuses, s); }
std::optional<Side> ParseSide(std::string_view s) noexcept { return Lookup(kSides, s); }
std::optional<OrderType> ParseOrderType(std::string_view s) noexcept { return Lookup(kTypes, s); }
std::optional<TimeInForce> ParseTimeInForce(std::string_view s) noexcept {
    return Lookup(kTifs, s);
}
std::optional<OrderStatus> ParseOrderStatus(std::string_view s) noexcept {
    return Lookup(kStatuses, s);
}

bool IsOpen(OrderStatus s) noexcept {
    return s == OrderStatus::kNew || s == OrderStatus::kOpen || s == OrderStatus::kPartiallyFilled;
}

common::Result<std::string> NormalizeSymbol(std::string_view symbol) {
    if (symbol.empty() || symbol.size() > 10) {
        return Invalid("field 'symbol' must be 1 to 10 characters");
    }
    std::string out;
    out.reserve(symbol.size());
    for (char c : symbol) {
        auto u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        if (!((u >= 'A' && u <= 'Z') || (u >= '0' && u <= '9') || u == '.')) {
            return Invalid("field 'symbol' may contain only letters, digits and '.'");
        }
        out.push_back(u);
    }
    return out;
}

common::Result<NewOrderRequest> ParseNewOrderRequest(const common::JsonValue& body) {
    common::JsonObjectReader r(body);
    NewOrderRequest req;

    auto symbol = r.String("symbol");
    if (!symbol) { return std::move(symbol).error(); }
    auto side = r.String("side");
    if (!side) { return std::move(side).error(); }
    auto quantity = r.Int("quantity", 1, common::kMaxQuantity);
    if (!quantity) { return std::move(quantity).error(); }
    auto type = r.OptString("type");
    if (!type) { return std::move(type).error(); }
    auto tif = r.OptString("time_in_force");
    if (!tif) { return std::move(tif).error(); }
    auto price = r.OptCents("price", 1, common::kMaxCents);
    if (!price) { return std::move(price).error(); }
    auto client_order_id = r.OptString("client_order_id");
    if (!client_order_id) { return std::move(client_order_id).error(); }

    auto normalized = NormalizeSymbol(*symbol);
    if (!normalized) { return std::move(normalized).error(); }
    req.symbol = std::move(normalized).value();

    auto parsed_side = ParseSide(*side);
    if (!parsed_side) { return Invalid("field 'side' must be BUY or SELL"); }
    req.side = *parsed_side;
    req.quantity = *quantity;

    if (type->has_value()) {
        auto t = ParseOrderType(**type);
        if (!t) { return Invalid("field 'type' must be LIMIT or MARKET"); }
        req.type = *t;
    }
    if (tif->has_value()) {
        auto t = ParseTimeInForce(**tif);
        if (!t) { return Invalid("field 'time_in_force' must be GTC or IOC"); }
        req.time_in_force = *t;
    } else if (req.type == OrderType::kMarket) {
        req.time_in_force = TimeInForce::kIoc;  // MARKET orders are IOC (DESIGN §6)
    }

    if (req.type == OrderType::kLimit) {
        if (!price->has_value()) { return Invalid("missing field 'price' (required for LIMIT)"); }
        req.price_cents = **price;
    } else {
        if (price->has_value()) { return Invalid("a MARKET order takes no 'price'"); }
        if (req.time_in_force != TimeInForce::kIoc) {
            return Invalid("a MARKET order is IOC; 'time_in_force' GTC is not allowed");
        }
    }

    if (client_order_id->has_value()) {
        const std::string& id = **client_order_id;
        if (id.empty() || id.size() > kMaxClientOrderIdLength) {
            return Invalid("field 'client_order_id' must be 1 to 64 characters");
        }
        for (char c : id) {
            if (static_cast<unsigned char>(c) < 0x21 || static_cast<unsigned char>(c) > 0x7e) {
                return Invalid("field 'client_order_id' must be printable ASCII without spaces");
            }
        }
        req.client_order_id = id;
    }
    return req;
}

}  // namespace flowex::exchange
