#include "flowex/http/message.hpp"

#include <array>

#include "flowex/common/json.hpp"

namespace flowex::http {
namespace {

char Lower(char c) noexcept { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c + 32) : c; }

int HexValue(char c) noexcept {
    if (c >= '0' && c <= '9') { return c - '0'; }
    if (c >= 'a' && c <= 'f') { return c - 'a' + 10; }
    if (c >= 'A' && c <= 'F') { return c - 'A' + 10; }
    return -1;
}

}  // namespace

std::string_view ToString(Method method) noexcept {
    switch (method) {
        case Method::kGet: return "GET";
        case Method::kHead: return "HEAD";
        case Method::kPost: return "POST";
        case Method::kPut: return "PUT";
        case Method::kDelete: return "DELETE";
        case Method::kPatch: return "PATCH";
        case Method::kOptions: return "OPTIONS";
        case Method::kOther: return "OTHER";
    }
    return "OTHER";
}

Method MethodFromString(std::string_view text) noexcept {
    static constexpr std::array kAll{Method::kGet,    Method::kHead,  Method::kPost,
                                     Method::kPut,    Method::kDelete, Method::kPatch,
                                     Method::kOptions};
    for (Method m : kAll) {
        if (ToString(m) == text) { return m; }
    }
    return Method::kOther;
}

bool IsIdempotent(Method method) noexcept {
    switch (method) {
        case Method::kGet:
        case Method::kHead:
        case Method::kPut:
        case Method::kDelete:
        case Method::kOptions: return true;
        case Method::kPost:
        case Method::kPatch:
        case Method::kOther: return false;
    }
    return false;
}

std::string_view StatusReason(int status) noexcept {
    switch (status) {
        case 100: return "Continue";
        case 101: return "Switching Protocols";
        case 200: return "OK";
        case 201: return "Created";
        case 202: return "Accepted";
        case 204: return "No Content";
        case 206: return "Partial Content";
        case 301: return "Moved Permanently";
        case 302: return "Found";
        case 303: return "See Other";
        case 304: return "Not Modified";
        case 307: return "Temporary Redirect";
        case 308: return "Permanent Redirect";
        case 400: return "Bad Request";
        case 401: return "Unauthorized";
        case 403: return "Forbidden";
        case 404: return "Not Found";
        case 405: return "Method Not Allowed";
        case 406: return "Not Acceptable";
        case 408: return "Request Timeout";
        case 409: return "Conflict";
        case 410: return "Gone";
        case 411: return "Length Required";
        case 413: return "Payload Too Large";
        case 414: return "URI Too Long";
        case 415: return "Unsupported Media Type";
        case 416: return "Range Not Satisfiable";
        case 422: return "Unprocessable Entity";
        case 429: return "Too Many Requests";
        case 431: return "Request Header Fields Too Large";
        case 500: return "Internal Server Error";
        case 501: return "Not Implemented";
        case 502: return "Bad Gateway";
        case 503: return "Service Unavailable";
        case 504: return "Gateway Timeout";
        default: return "Unknown";
    }
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) { return false; }
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (Lower(a[i]) != Lower(b[i])) { return false; }
    }
    return true;
}

std::optional<std::string_view> Headers::Get(std::string_view name) const noexcept {
    for (const Field& f : fields_) {
        if (EqualsIgnoreCase(f.first, name)) { return std::string_view(f.second); }
    }
    return std::nullopt;
}

void Headers::Set(std::string_view name, std::string_view value) {
    Remove(name);
    Add(name, value);
}

void Headers::Add(std::string_view name, std::string_view value) {
    fields_.emplace_back(std::string(name), std::string(value));
}

void Headers::Remove(std::string_view name) noexcept {
    std::size_t out = 0;
    for (std::size_t i = 0; i < fields_.size(); ++i) {
        if (!EqualsIgnoreCase(fields_[i].first, name)) {
            if (out != i) { fields_[out] = std::move(fields_[i]); }
            ++out;
        }
    }
    fields_.resize(out);
}

std::string_view Request::Path() const noexcept {
    std::string_view t(target);
    std::size_t q = t.find('?');
    return q == std::string_view::npos ? t : t.substr(0, q);
}

std::string_view Request::QueryString() const noexcept {
    std::string_view t(target);
    std::size_t q = t.find('?');
    return q == std::string_view::npos ? std::string_view() : t.substr(q + 1);
}

Response JsonResponse(int status, std::string body) {
    Response r;
    r.status = status;
    r.content_type = "application/json";
    r.body = std::move(body);
    return r;
}

Response TextResponse(int status, std::string body) {
    Response r;
    r.status = status;
    r.content_type = "text/plain; charset=utf-8";
    r.body = std::move(body);
    return r;
}

std::string ErrorBody(const common::Error& error, std::string_view trace_id) {
    std::string out;
    out.reserve(64 + error.message.size());
    out += R"({"error":{"code":")";
    out += common::ToString(error.code);
    out += R"(","message":")";
    common::AppendJsonEscaped(out, error.message);
    out += R"(","trace_id":")";
    common::AppendJsonEscaped(out, trace_id);
    out += R"("}})";
    return out;
}

Response ErrorResponse(const common::Error& error, std::string_view trace_id) {
    return JsonResponse(common::HttpStatus(error.code), ErrorBody(error, trace_id));
}

std::string PercentDecode(std::string_view text, bool plus_as_space) {
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (c == '%' && i + 2 < text.size()) {
            int hi = HexValue(text[i + 1]);
            int lo = HexValue(text[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        if (c == '+' && plus_as_space) {
            out.push_back(' ');
            continue;
        }
        out.push_back(c);
    }
    return out;
}

std::vector<std::pair<std::string, std::string>> ParseQuery(std::string_view query) {
    std::vector<std::pair<std::string, std::string>> out;
    while (!query.empty()) {
        std::size_t amp = query.find('&');
        std::string_view part = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
        if (part.empty()) { continue; }
        std::size_t eq = part.find('=');
        std::string_view name = part.substr(0, eq);
        std::string_view value =
            eq == std::string_view::npos ? std::string_view() : part.substr(eq + 1);
        out.emplace_back(PercentDecode(name, true), PercentDecode(value, true));
    }
    return out;
}

}  // namespace flowex::http
