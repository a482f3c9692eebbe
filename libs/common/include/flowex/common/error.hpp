#pragma once
/// Protocol-neutral error codes shared by every flowex library and service.
/// One exhaustive mapping (`HttpStatus`) turns a code into an HTTP status; the wire
/// spelling (`ToString`) is DESIGN §4's `error.code`.
#include <string>
#include <string_view>

namespace flowex::common {

enum class ErrorCode {
    kInvalidJson,           // 400 invalid_json
    kBadRequest,            // 400 bad_request (malformed HTTP, bad query parameter)
    kValidation,            // 422 validation_error
    kUnauthorized,          // 401 unauthorized
    kForbidden,             // 403 forbidden
    kNotFound,              // 404 not_found
    kMethodNotAllowed,      // 405 method_not_allowed
    kConflict,              // 409 conflict
    kUnknownSymbol,         // 422 unknown_symbol
    kRiskRejected,          // 422 risk_rejected
    kInsufficientFunds,     // 422 insufficient_funds
    kInsufficientShares,    // 422 insufficient_shares
    kOrderNotCancellable,   // 409 order_not_cancellable
    kUsernameTaken,         // 409 username_taken
    kPayloadTooLarge,       // 413 payload_too_large
    kUnsupportedMediaType,  // 415 unsupported_media_type
    kRateLimited,           // 429 rate_limited
    kUpstreamUnavailable,   // 503 upstream_unavailable (a dependency is down, a pool is exhausted)
    kUpstreamTimeout,       // 504 upstream_timeout
    kInternal,              // 500 internal
};

/// The wire spelling, e.g. "insufficient_funds".
std::string_view ToString(ErrorCode code) noexcept;
/// The HTTP status that DESIGN §4 assigns to the code.
int HttpStatus(ErrorCode code) noexcept;
/// Inverse of ToString; kInternal for unknown spellings.
ErrorCode ErrorCodeFromString(std::string_view text) noexcept;

/// An error as a value. `message` is safe to show a client: never put secrets,
/// SQL or internals in it (log those separately).
struct Error {
    ErrorCode code = ErrorCode::kInternal;
    std::string message;

    static Error Make(ErrorCode c, std::string msg) { return Error{c, std::move(msg)}; }
};

}  // namespace flowex::common
