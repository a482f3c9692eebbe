#include "flowex/exchange/accounts.hpp"

#include "flowex/common/money.hpp"

namespace flowex::exchange {

using common::Error;
using common::ErrorCode;

common::Status ValidateUsername(std::string_view username) {
    if (username.size() < 3 || username.size() > 64) {
        return Error{ErrorCode::kValidation, "username must be 3 to 64 characters"};
    }
    for (char c : username) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        if (!ok) {
            return Error{ErrorCode::kValidation,
                         "username may contain only letters, digits, '_', '.' and '-'"};
        }
    }
    return common::Ok();
}

common::Status ValidatePassword(std::string_view password) {
    if (password.size() < 8 || password.size() > 128) {
        return Error{ErrorCode::kValidation, "password must be 8 to 128 characters"};
    }
    return common::Ok();
}

common::Result<Reservation> ReservationFor(Side side, std::int64_t price_cents,
                                           std::int64_t quantity) {
    if (quantity <= 0 || price_cents <= 0) {
        return Error{ErrorCode::kValidation, "price and quantity must be positive"};
    }
    if (side == Side::kSell) { return Reservation{0, quantity}; }
    if (price_cents > common::kMaxCents / quantity) {
        return Error{ErrorCode::kValidation, "order value is too large"};
    }
    return Reservation{price_cents * quantity, 0};
}

std::int64_t PriceImprovementCents(std::int64_t blocked_price_cents,
                                   std::int64_t fill_price_cents, std::int64_t quantity) noexcept {
    if (fill_price_cents >= blocked_price_cents) { return 0; }
    return (blocked_price_cents - fill_price_cents) * quantity;
}

}  // namespace flowex::exchange
