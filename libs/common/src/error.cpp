#include "flowex/common/error.hpp"

#include <array>
#include <utility>

namespace flowex::common {
namespace {

struct Entry {
    ErrorCode code;
    std::string_view name;
    int status;
};

constexpr std::array kEntries{
    Entry{ErrorCode::kInvalidJson, "invalid_json", 400},
    Entry{ErrorCode::kBadRequest, "bad_request", 400},
    Entry{ErrorCode::kValidation, "validation_error", 422},
    Entry{ErrorCode::kUnauthorized, "unauthorized", 401},
    Entry{ErrorCode::kForbidden, "forbidden", 403},
    Entry{ErrorCode::kNotFound, "not_found", 404},
    Entry{ErrorCode::kMethodNotAllowed, "method_not_allowed", 405},
    Entry{ErrorCode::kConflict, "conflict", 409},
    Entry{ErrorCode::kUnknownSymbol, "unknown_symbol", 422},
    Entry{ErrorCode::kRiskRejected, "risk_rejected", 422},
    Entry{ErrorCode::kInsufficientFunds, "insufficient_funds", 422},
    Entry{ErrorCode::kInsufficientShares, "insufficient_shares", 422},
    Entry{ErrorCode::kOrderNotCancellable, "order_not_cancellable", 409},
    Entry{ErrorCode::kUsernameTaken, "username_taken", 409},
    Entry{ErrorCode::kPayloadTooLarge, "payload_too_large", 413},
    Entry{ErrorCode::kUnsupportedMediaType, "unsupported_media_type", 415},
    Entry{ErrorCode::kRateLimited, "rate_limited", 429},
    Entry{ErrorCode::kUpstreamUnavailable, "upstream_unavailable", 503},
    Entry{ErrorCode::kUpstreamTimeout, "upstream_timeout", 504},
    Entry{ErrorCode::kInternal, "internal", 500},
};

const Entry& Find(ErrorCode code) noexcept {
    for (const auto& e : kEntries) {
        if (e.code == code) { return e; }
    }
    return kEntries.back();
}

}  // namespace

std::string_view ToString(ErrorCode code) noexcept { return Find(code).name; }
int HttpStatus(ErrorCode code) noexcept { return Find(code).status; }

ErrorCode ErrorCodeFromString(std::string_view text) noexcept {
    for (const auto& e : kEntries) {
        if (e.name == text) { return e.code; }
    }
    return ErrorCode::kInternal;
}

}  // namespace flowex::common
