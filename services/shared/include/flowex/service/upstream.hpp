#pragma once
/// Calls from one flowex service to another: the internal token and user id are added to
/// every call, and an upstream's error answer can be passed through unchanged (DESIGN §4:
/// "The gateway passes an internal service's error code and status through unchanged").
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "flowex/common/result.hpp"
#include "flowex/common/trace_context.hpp"
#include "flowex/http/client.hpp"

namespace flowex::service {

class Upstream {
public:
    /// `base_url` like "http://127.0.0.1:8104"; kValidation when malformed.
    static common::Result<std::unique_ptr<Upstream>> Create(boost::asio::any_io_executor executor,
                                                           std::string base_url,
                                                           std::string internal_token,
                                                           std::chrono::nanoseconds timeout);

    /// One call. `user_id` (when set) travels as X-User-Id. Errors are transport errors
    /// only (upstream_unavailable / upstream_timeout); an HTTP error answer is a response.
    http::awaitable<common::Result<http::ClientResponse>> Call(
        http::Method method, std::string target, std::string body,
        const common::TraceContext& parent, std::optional<std::int64_t> user_id = std::nullopt,
        http::Headers extra = {});

    http::Client& client() noexcept { return *client_; }

private:
    Upstream(std::unique_ptr<http::Client> client, std::string token)
        : client_(std::move(client)), token_(std::move(token)) {}
    std::unique_ptr<http::Client> client_;
    std::string token_;
};

/// An upstream's answer turned into our response verbatim (status, JSON body).
http::Response PassThrough(const http::ClientResponse& upstream);

/// The `error.code` of an upstream's JSON error body as an Error (message kept); for a body
/// without the shape, a code derived from the status.
common::Error ErrorFromResponse(const http::ClientResponse& upstream);

}  // namespace flowex::service
