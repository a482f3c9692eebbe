#include "flowex/service/internal_auth.hpp"

#include <charconv>

namespace flowex::service {

bool SecretEquals(std::string_view a, std::string_view b) noexcept {
    // Length is not secret (it is fixed per deployment); the content comparison is.
    if (a.size() != b.size()) { return false; }
    unsigned char diff = 0;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    }
    return diff == 0;
}

http::Middleware RequireInternalToken(std::string token) {
    return [token = std::move(token)](http::RequestContext& ctx,
                                      http::Next next) -> http::awaitable<http::Response> {
        std::string_view path = ctx.request.Path();
        if (path == "/health" || path == "/metrics") { co_return co_await next(); }
        auto given = ctx.request.headers.Get(kInternalTokenHeader);
        if (!given.has_value() || token.empty() || !SecretEquals(*given, token)) {
            co_return ctx.Error(common::ErrorCode::kForbidden,
                                "this internal endpoint needs a valid X-Internal-Token");
        }
        co_return co_await next();
    };
}

common::Result<std::int64_t> CallerUserId(const http::RequestContext& ctx) {
    auto v = ctx.request.headers.Get(kUserIdHeader);
    std::int64_t id = 0;
    if (v.has_value()) {
        auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), id);
        if (ec == std::errc() && p == v->data() + v->size() && id > 0) { return id; }
    }
    return common::Error{common::ErrorCode::kUnauthorized, "no authenticated user"};
}

}  // namespace flowex::service
