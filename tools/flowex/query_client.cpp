#include "query_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include "flowex/http/client.hpp"

namespace flowex::cli {

common::Result<HttpReply> HttpGet(const std::string& base_url, const std::string& target, std::chrono::seconds timeout) {
    boost::asio::io_context ioc;
    http::ClientOptions opts;
    opts.base_url = base_url;
    opts.timeout = timeout;
    opts.max_response_bytes = 256 << 20;
    auto client = http::Client::Create(ioc.get_executor(), opts);
    if (!client) {
        return std::move(client).error();
    }
    common::Result<HttpReply> out = common::Error{common::ErrorCode::kInternal, "no answer"};
    http::Client* c = client->get();
    boost::asio::co_spawn(
        ioc,
        [&]() -> boost::asio::awaitable<void> {
            auto r = co_await c->Get(target, common::TraceContext{});
            if (!r) {
                out = std::move(r).error();
            } else {
                out = HttpReply{r->status, std::move(r->body)};
            }
        },
        boost::asio::detached);
    ioc.run();
    return out;
}

std::string UrlEncode(std::string_view s) {
    static constexpr char kHex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(kHex[c >> 4]);
            out.push_back(kHex[c & 15]);
        }
    }
    return out;
}

}  // namespace flowex::cli
