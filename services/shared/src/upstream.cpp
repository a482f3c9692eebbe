#include "flowex/service/upstream.hpp"

#include "flowex/common/json.hpp"
#include "flowex/service/internal_auth.hpp"

namespace flowex::service {

common::Result<std::unique_ptr<Upstream>> Upstream::Create(boost::asio::any_io_executor executor,
                                                           std::string base_url,
                                                           std::string internal_token,
                                                           std::chrono::nanoseconds timeout) {
    auto client = http::Client::Create(std::move(executor),
                                       http::ClientOptions{.base_url = std::move(base_url),
                                                           .timeout = timeout});
    if (!client) { return std::move(client).error(); }
    return std::unique_ptr<Upstream>(
        new Upstream(std::move(client).value(), std::move(internal_token)));
}

http::awaitable<common::Result<http::ClientResponse>> Upstream::Call(
    http::Method method, std::string target, std::string body, const common::TraceContext& parent,
    std::optional<std::int64_t> user_id, http::Headers extra) {
    http::ClientRequest req;
    req.method = method;
    req.target = std::move(target);
    req.body = std::move(body);
    req.headers = std::move(extra);
    req.headers.Set(kInternalTokenHeader, token_);
    if (user_id.has_value()) { req.headers.Set(kUserIdHeader, std::to_string(*user_id)); }
    co_return co_await client_->Call(std::move(req), parent);
}

http::Response PassThrough(const http::ClientResponse& upstream) {
    http::Response r;
    r.status = upstream.status;
    r.content_type = "application/json";
    r.body = upstream.body;
    if (auto replayed = upstream.headers.Get("Idempotent-Replayed")) {
        r.headers.Set("Idempotent-Replayed", *replayed);
    }
    return r;
}

common::Error ErrorFromResponse(const http::ClientResponse& upstream) {
    auto doc = common::ParseJson(upstream.body);
    if (doc) {
        if (const auto* err = doc->Find("error"); err != nullptr && err->is_object()) {
            const auto* code = err->Find("code");
            const auto* message = err->Find("message");
            if (code != nullptr && code->is_string()) {
                return common::Error{common::ErrorCodeFromString(code->as_string()),
                                     message != nullptr && message->is_string()
                                         ? message->as_string()
                                         : std::string()};
            }
        }
    }
    common::ErrorCode code = common::ErrorCode::kInternal;
    switch (upstream.status) {
        case 400: code = common::ErrorCode::kBadRequest; break;
        case 401: code = common::ErrorCode::kUnauthorized; break;
        case 403: code = common::ErrorCode::kForbidden; break;
        case 404: code = common::ErrorCode::kNotFound; break;
        case 409: code = common::ErrorCode::kConflict; break;
        case 413: code = common::ErrorCode::kPayloadTooLarge; break;
        case 422: code = common::ErrorCode::kValidation; break;
        case 429: code = common::ErrorCode::kRateLimited; break;
        case 504: code = common::ErrorCode::kUpstreamTimeout; break;
        default:
            code = upstream.status >= 500 ? common::ErrorCode::kUpstreamUnavailable
                                          : common::ErrorCode::kInternal;
    }
    return common::Error{code, "upstream answered " + std::to_string(upstream.status)};
}

}  // namespace flowex::service
