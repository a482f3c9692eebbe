#pragma once
// Beast parsers that fill flowex's own message types directly (no intermediate
// beast::http::message, so no copy and no Beast in public headers). Internal to libs/http.
#include <algorithm>
#include <charconv>
#include <cstdint>
#include <system_error>

#include <boost/beast/http/basic_parser.hpp>
#include <boost/beast/http/error.hpp>

#include "flowex/http/client.hpp"
#include "flowex/http/message.hpp"

namespace flowex::http::detail {

namespace beast_http = boost::beast::http;

inline Method FromVerb(beast_http::verb v) noexcept {
    switch (v) {
        case beast_http::verb::get: return Method::kGet;
        case beast_http::verb::head: return Method::kHead;
        case beast_http::verb::post: return Method::kPost;
        case beast_http::verb::put: return Method::kPut;
        case beast_http::verb::delete_: return Method::kDelete;
        case beast_http::verb::patch: return Method::kPatch;
        case beast_http::verb::options: return Method::kOptions;
        default: return Method::kOther;
    }
}

/// How many bytes the next read should ask for: what is left of a body of known length (so a
/// 50 KB body is one read, not a dozen of the buffer's size), otherwise the buffer's free room;
/// between 4 KiB and 64 KiB either way, which bounds what an idle connection keeps. `body_left`
/// is the parser's BodyLeft() (0 before the body or when its length is unknown); `buffered`
/// the bytes read but not yet parsed.
inline std::size_t ReadSize(std::uint64_t body_left, std::size_t capacity, std::size_t buffered) {
    constexpr std::size_t kMin = 4096;
    constexpr std::size_t kMax = 65536;
    if (body_left > buffered) {
        return static_cast<std::size_t>(std::clamp<std::uint64_t>(body_left - buffered, kMin, kMax));
    }
    return std::clamp<std::size_t>(capacity - buffered, kMin, kMax);
}

/// The Content-Length a header announces, or 0 (absent, or not a number: Beast rejects it).
inline std::uint64_t AnnouncedLength(const Headers& headers) noexcept {
    std::uint64_t n = 0;
    if (auto v = headers.Get("Content-Length")) {
        if (std::from_chars(v->data(), v->data() + v->size(), n).ec != std::errc()) {
            n = 0;
        }
    }
    return n;
}

/// What the request and response parsers share: header fields and body (Content-Length or
/// chunked) go into `message.headers` and `message.body`. The message must outlive the parser;
/// one parser per message, as Beast requires.
template <bool IsRequest, class Message>
class MessageParser : public beast_http::basic_parser<IsRequest> {
public:
    MessageParser(Message& message, std::size_t max_header, std::size_t max_body)
        : message_(message) {
        this->header_limit(static_cast<std::uint32_t>(max_header));
        this->body_limit(static_cast<std::uint64_t>(max_body));
        this->eager(true);
    }

    /// Bytes of a Content-Length body still to come (0 before it, when chunked, when the body
    /// has no length and runs to the end of the connection, and once the message is complete,
    /// as a 1xx, 204 or 304 response is whatever its Content-Length says).
    std::uint64_t BodyLeft() const noexcept {
        return !this->is_done() && body_received_ < body_length_ ? body_length_ - body_received_
                                                                 : 0;
    }

protected:
    Message& message_;

private:
    void on_field_impl(beast_http::field, boost::beast::string_view name,
                       boost::beast::string_view value, boost::beast::error_code&) final {
        message_.headers.Add(std::string_view(name.data(), name.size()),
                             std::string_view(value.data(), value.size()));
    }
    // The length is known here already: a head read on its own makes the next read the body's.
    void on_header_impl(boost::beast::error_code&) final {
        body_length_ = AnnouncedLength(message_.headers);
    }
    void on_body_init_impl(const boost::optional<std::uint64_t>& length,
                           boost::beast::error_code&) final {
        if (length) {
            message_.body.reserve(static_cast<std::size_t>(*length));
            body_length_ = *length;
        }
    }
    std::size_t on_body_impl(boost::beast::string_view body, boost::beast::error_code&) final {
        message_.body.append(body.data(), body.size());
        body_received_ += body.size();
        return body.size();
    }
    void on_chunk_header_impl(std::uint64_t, boost::beast::string_view,
                              boost::beast::error_code&) final {}
    std::size_t on_chunk_body_impl(std::uint64_t, boost::beast::string_view body,
                                   boost::beast::error_code&) final {
        message_.body.append(body.data(), body.size());
        return body.size();
    }
    void on_finish_impl(boost::beast::error_code&) final {}

    std::uint64_t body_length_ = 0;
    std::uint64_t body_received_ = 0;
};

/// Parses one request into a Request.
class RequestParser final : public MessageParser<true, Request> {
public:
    RequestParser(Request& request, std::size_t max_header, std::size_t max_body)
        : MessageParser(request, max_header, max_body) {}

private:
    void on_request_impl(beast_http::verb method, boost::beast::string_view method_str,
                         boost::beast::string_view target, int version,
                         boost::beast::error_code&) override {
        message_.method = FromVerb(method);
        message_.method_text.assign(method_str.data(), method_str.size());
        message_.target.assign(target.data(), target.size());
        message_.version = version;
    }
    void on_response_impl(int, boost::beast::string_view, int, boost::beast::error_code&) override {
    }
};

/// Parses one response into a ClientResponse.
class ResponseParser final : public MessageParser<false, ClientResponse> {
public:
    ResponseParser(ClientResponse& response, std::size_t max_body)
        : MessageParser(response, 64 * 1024, max_body) {}

private:
    void on_request_impl(beast_http::verb, boost::beast::string_view, boost::beast::string_view, int,
                         boost::beast::error_code&) override {}
    // Beast takes any three digits; a status below 100 is not HTTP (RFC 9110 §15), and the
    // caller would have no class to treat it as: the response is refused.
    void on_response_impl(int code, boost::beast::string_view, int,
                          boost::beast::error_code& ec) override {
        if (code < 100) {
            ec = beast_http::error::bad_status;
            return;
        }
        message_.status = code;
    }
};

}  // namespace flowex::http::detail
