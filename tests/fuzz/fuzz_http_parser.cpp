// libFuzzer target: the bytes of an HTTP/1.1 connection through libs/http's request parser
// (Beast's parser filling flowex's Request, with the server's header and body limits) and its
// response parser (what a client reads). The first byte picks how the rest is cut into reads
// (1 to 64 bytes at a time), as a socket delivers it; pipelined messages are parsed one after
// another. Beyond not crashing:
//  - a complete message's body is exactly its Content-Length when it announced one (a 1xx, 204
//    or 304 response has none), and never over the parser's body limit;
//  - BodyLeft() (what the next read asks for) never exceeds the announced length;
//  - a complete request has a method and a target.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // Beast under GCC, see parsers_test.cpp
#include <boost/asio/buffer.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "../../libs/http/src/parsers.hpp"

namespace {

namespace fh = flowex::http;
namespace fd = flowex::http::detail;

constexpr std::size_t kMaxHeader = 8192;
constexpr std::size_t kMaxBody = 16384;

void Check(bool condition) {
    if (!condition) { __builtin_trap(); }
}

// Feeds `data` to fresh parsers of type P, `step` bytes at a time at most (the parser may take
// fewer: what it leaves is offered again with the next bytes), one message after another.
template <class P, class Message, class Make, class OnDone>
void ParseAll(std::string_view data, std::size_t step, Make make, OnDone on_done) {
    std::string buffered;
    std::size_t offset = 0;
    for (int messages = 0; messages < 16; ++messages) {
        Message message;
        P parser = make(message);
        while (!parser.is_done()) {
            const std::size_t before = offset;
            if (offset < data.size()) {
                const std::size_t n = std::min(step, data.size() - offset);
                buffered.append(data.substr(offset, n));
                offset += n;
            } else if (buffered.empty()) {
                return;  // the connection ends mid-message
            }
            boost::beast::error_code ec;
            const std::size_t used = parser.put(boost::asio::buffer(buffered), ec);
            if (ec == boost::beast::http::error::need_more) {
                if (offset >= data.size()) { return; }
                buffered.erase(0, used);
                continue;
            }
            if (ec) { return; }  // a bad message: the connection is closed
            if (used == 0 && offset == before) { return; }  // no progress: never spin
            buffered.erase(0, used);
            Check(parser.BodyLeft() <= kMaxBody);
        }
        on_done(message, parser);
        if (offset >= data.size() && buffered.empty()) { return; }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) { return 0; }
    const std::size_t step = 1 + data[0] % 64;
    const std::string_view bytes(reinterpret_cast<const char*>(data) + 1, size - 1);

    ParseAll<fd::RequestParser, fh::Request>(
        bytes, step, [](fh::Request& r) { return fd::RequestParser(r, kMaxHeader, kMaxBody); },
        [](const fh::Request& r, const fd::RequestParser& p) {
            Check(!r.method_text.empty() && !r.target.empty());
            Check(r.body.size() <= kMaxBody);
            if (p.content_length()) { Check(r.body.size() == *p.content_length()); }
        });
    ParseAll<fd::ResponseParser, fh::ClientResponse>(
        bytes, step, [](fh::ClientResponse& r) { return fd::ResponseParser(r, kMaxBody); },
        [](const fh::ClientResponse& r, const fd::ResponseParser& p) {
            Check(r.status >= 100 && r.status <= 999);
            Check(r.body.size() <= kMaxBody);
            // 1xx, 204 and 304 have no body whatever Content-Length says (RFC 9112 §6.3).
            const bool bodiless = r.status < 200 || r.status == 204 || r.status == 304;
            if (p.content_length() && !bodiless) { Check(r.body.size() == *p.content_length()); }
            if (bodiless) { Check(r.body.empty()); }
        });
    return 0;
}
