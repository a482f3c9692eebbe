#pragma once
/// Internal-route protection (DESIGN §4): every route of an internal service except
/// /health and /metrics needs `X-Internal-Token` equal to the shared secret; the gateway
/// passes the authenticated user as `X-User-Id`, trusted only together with that token.
#include <cstdint>
#include <string>

#include "flowex/common/result.hpp"
#include "flowex/http/context.hpp"

namespace flowex::service {

inline constexpr std::string_view kInternalTokenHeader = "X-Internal-Token";
inline constexpr std::string_view kUserIdHeader = "X-User-Id";

/// 403 `forbidden` unless the request carries the token (compared in constant time).
/// The token never appears in a log line, span or error message.
http::Middleware RequireInternalToken(std::string token);

/// The caller's user id from X-User-Id (set by the gateway); 401 `unauthorized` when
/// missing or malformed.
common::Result<std::int64_t> CallerUserId(const http::RequestContext& ctx);

/// Constant-time equality of two secrets.
bool SecretEquals(std::string_view a, std::string_view b) noexcept;

}  // namespace flowex::service
