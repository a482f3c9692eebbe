#pragma once
/// HTTP/1.1 messages as plain flowex types, so that code using libs/http never includes
/// Boost.Beast (it lives only in libs/http's own .cpp files).
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "flowex/common/error.hpp"

namespace flowex::http {

using boost::asio::awaitable;

enum class Method : std::uint8_t { kGet, kHead, kPost, kPut, kDelete, kPatch, kOptions, kOther };

/// "GET", "POST", …; "OTHER" for kOther (the request keeps the text it was sent with).
std::string_view ToString(Method method) noexcept;
/// Exact, case-sensitive ("GET" → kGet); kOther for anything else.
Method MethodFromString(std::string_view text) noexcept;
/// GET, HEAD, PUT, DELETE, OPTIONS (RFC 9110 §9.2.2): safe to send twice.
bool IsIdempotent(Method method) noexcept;
/// The reason phrase of a status ("Created" for 201); "Unknown" for unlisted codes.
std::string_view StatusReason(int status) noexcept;

/// Header fields in arrival order. Names compare case-insensitively. Not thread-safe.
class Headers {
public:
    using Field = std::pair<std::string, std::string>;

    /// The value of the first field called `name`; nullopt when absent. The view lives as
    /// long as the field.
    std::optional<std::string_view> Get(std::string_view name) const noexcept;
    bool Has(std::string_view name) const noexcept { return Get(name).has_value(); }
    /// Replaces every field called `name` with one field.
    void Set(std::string_view name, std::string_view value);
    /// Appends a field (repeated names are allowed).
    void Add(std::string_view name, std::string_view value);
    void Remove(std::string_view name) noexcept;
    void Clear() noexcept { fields_.clear(); }

    const std::vector<Field>& fields() const noexcept { return fields_; }
    std::size_t size() const noexcept { return fields_.size(); }
    bool empty() const noexcept { return fields_.empty(); }
    auto begin() const noexcept { return fields_.begin(); }
    auto end() const noexcept { return fields_.end(); }

private:
    std::vector<Field> fields_;
};

/// Case-insensitive ASCII comparison (header names, tokens).
bool EqualsIgnoreCase(std::string_view a, std::string_view b) noexcept;

/// A received request. The server fills it; handlers read it.
struct Request {
    Method method = Method::kGet;
    std::string method_text;  ///< as sent, e.g. "GET" (useful for kOther)
    std::string target;       ///< origin-form as sent: path and query, e.g. "/v1/orders?limit=5"
    int version = 11;         ///< 10 for HTTP/1.0, 11 for HTTP/1.1
    Headers headers;
    std::string body;  ///< the whole body (the server enforces its size limit before)
    bool keep_alive = true;

    /// The path part of `target` (before '?'), still percent-encoded.
    std::string_view Path() const noexcept;
    /// The query part of `target` (after '?', without it); empty when none.
    std::string_view QueryString() const noexcept;
};

/// Writes a streamed response body (chunked transfer coding), e.g. server-sent events.
/// Used only from the coroutine given in `Response::stream`, on the connection's executor.
class BodyWriter {
public:
    virtual ~BodyWriter() = default;
    /// Sends one chunk (empty chunks are skipped). Returns false when the peer is gone, the
    /// write timed out or the server is shutting down: the stream should then return.
    virtual boost::asio::awaitable<bool> Write(std::string_view chunk) = 0;
    /// True once the server is shutting down (a long stream should finish).
    virtual bool stopping() const noexcept = 0;
};

/// A response. `body` is sent with Content-Length; `Content-Type` comes from
/// `content_type` (omitted when empty). Extra fields go in `headers` (the server writes
/// Content-Length, Connection and Date-free framing itself; do not set them).
struct Response {
    int status = 200;
    std::string content_type;
    Headers headers;
    std::string body;
    /// Close the connection after this response (the server also closes on errors that
    /// leave the stream in an unknown state and when it is shutting down).
    bool close = false;
    /// When set, the body is produced by this coroutine after the header was sent (chunked
    /// transfer coding) and `body` is ignored. The connection closes afterwards.
    std::function<boost::asio::awaitable<void>(BodyWriter&)> stream;
};

/// `status` with `body` (already serialized JSON) and Content-Type application/json.
Response JsonResponse(int status, std::string body);
/// DESIGN §4's one error shape: status HttpStatus(error.code), body
/// {"error":{"code":"…","message":"…","trace_id":"…"}} (trace_id "" when unknown).
Response ErrorResponse(const common::Error& error, std::string_view trace_id);
/// The error body alone (for tests and for clients that forward errors).
std::string ErrorBody(const common::Error& error, std::string_view trace_id);
/// `text/plain; charset=utf-8`.
Response TextResponse(int status, std::string body);

/// Percent-decoding of one path segment or query component (`+` → space only when
/// `plus_as_space`). Invalid escapes are kept literally; never fails.
std::string PercentDecode(std::string_view text, bool plus_as_space);
/// Query string → decoded (name, value) pairs in order; "a&b=" gives ("a",""),("b","").
std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query);

}  // namespace flowex::http
