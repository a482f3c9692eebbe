#include "flowex/http/client.hpp"

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <mutex>
#include <optional>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>

#include "parsers.hpp"

namespace flowex::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using common::Error;
using common::ErrorCode;
using common::Result;

namespace {

constexpr auto kUseAwaitable = asio::as_tuple(asio::use_awaitable);

struct Upstream {
    bool valid = false;
    std::string error;
    std::string host;
    std::uint16_t port = 80;
    std::string prefix;     // path prefix without trailing '/'
    std::string host_header;  // "host:port"
    std::string origin;       // "http://host:port"
};

Upstream ParseBaseUrl(std::string_view url) {
    Upstream u;
    constexpr std::string_view kScheme = "http://";
    if (url.substr(0, kScheme.size()) != kScheme) {
        u.error = "base URL must start with http://: " + std::string(url);
        return u;
    }
    std::string_view rest = url.substr(kScheme.size());
    std::size_t slash = rest.find('/');
    std::string_view authority = rest.substr(0, slash);
    std::string_view path = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
    while (!path.empty() && path.back() == '/') { path.remove_suffix(1); }
    std::string_view host = authority;
    std::string_view port_text;
    if (!authority.empty() && authority.front() == '[') {
        std::size_t close = authority.find(']');
        if (close == std::string_view::npos) {
            u.error = "bad IPv6 host in base URL: " + std::string(url);
            return u;
        }
        host = authority.substr(1, close - 1);
        if (close + 1 < authority.size() && authority[close + 1] == ':') {
            port_text = authority.substr(close + 2);
        }
    } else if (std::size_t colon = authority.rfind(':'); colon != std::string_view::npos) {
        host = authority.substr(0, colon);
        port_text = authority.substr(colon + 1);
    }
    if (host.empty()) {
        u.error = "no host in base URL: " + std::string(url);
        return u;
    }
    if (!port_text.empty()) {
        unsigned value = 0;
        auto res = std::from_chars(port_text.data(), port_text.data() + port_text.size(), value);
        if (res.ec != std::errc() || res.ptr != port_text.data() + port_text.size() || value == 0 ||
            value > 65535) {
            u.error = "bad port in base URL: " + std::string(url);
            return u;
        }
        u.port = static_cast<std::uint16_t>(value);
    }
    u.host = std::string(host);
    u.prefix = std::string(path);
    u.host_header = std::string(authority);
    u.origin = "http://" + u.host_header;
    u.valid = true;
    return u;
}

void AppendInt(std::string& out, std::uint64_t v) {
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof(buf), v);
    out.append(buf, res.ptr);
}

struct Connection {
    explicit Connection(asio::any_io_executor ex) : socket(std::move(ex)) {}
    tcp::socket socket;
    boost::beast::flat_buffer buffer;
    std::chrono::steady_clock::time_point idle_since;
};

// A pooled connection is reusable when the peer has neither closed it nor sent anything
// unasked (a non-blocking peek finds no data and no EOF).
bool LooksAlive(tcp::socket& socket) {
    if (!socket.is_open()) { return false; }
    char c;
    ssize_t n = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// Shared by one attempt and its deadline timer's handler (both on the call's strand).
struct Deadline {
    bool timed_out = false;
    bool active = true;
    tcp::socket* socket = nullptr;
};

// Arms `timer` so that at the deadline the socket in `state` is closed, which ends every
// pending operation on it.
void Arm(asio::steady_timer& timer, const std::shared_ptr<Deadline>& state) {
    timer.async_wait([state](error_code ec) {
        if (!ec && state->active) {
            state->timed_out = true;
            if (state->socket != nullptr) {
                error_code ignored;
                state->socket->close(ignored);
            }
        }
    });
}

}  // namespace

struct Client::Impl {
    asio::any_io_executor executor;
    ClientOptions options;
    Upstream upstream;
    std::shared_ptr<ClientObserver> observer;

    mutable std::mutex mu;
    std::vector<std::unique_ptr<Connection>> idle;
    std::atomic<std::uint64_t> opened{0};

    std::unique_ptr<Connection> TakeIdle() {
        auto now = std::chrono::steady_clock::now();
        std::lock_guard<std::mutex> lock(mu);
        while (!idle.empty()) {
            std::unique_ptr<Connection> c = std::move(idle.back());
            idle.pop_back();
            if (now - c->idle_since < options.idle_timeout && LooksAlive(c->socket)) { return c; }
        }
        return nullptr;
    }

    void GiveBack(std::unique_ptr<Connection> c) {
        c->idle_since = std::chrono::steady_clock::now();
        std::lock_guard<std::mutex> lock(mu);
        if (idle.size() < options.max_idle_connections) { idle.push_back(std::move(c)); }
    }

    awaitable<Result<ClientResponse>> Exchange(const ClientRequest& request, const Headers& inject,
                                               std::chrono::steady_clock::time_point deadline);
    awaitable<Result<std::unique_ptr<Connection>>> Connect(Deadline& deadline);
    awaitable<Result<ClientResponse>> RoundTrip(Connection& c, const ClientRequest& request,
                                                const Headers& inject, Deadline& deadline,
                                                bool& retryable, bool& keep_alive);
};

awaitable<Result<std::unique_ptr<Connection>>> Client::Impl::Connect(Deadline& deadline) {
    auto ex = co_await asio::this_coro::executor;
    auto conn = std::make_unique<Connection>(executor);
    deadline.socket = &conn->socket;
    std::string where = upstream.host_header;
    error_code ec;
    asio::ip::address address = asio::ip::make_address(upstream.host, ec);
    std::vector<tcp::endpoint> endpoints;
    if (!ec) {
        endpoints.emplace_back(address, upstream.port);
    } else {
        tcp::resolver resolver(ex);
        auto [rec, results] =
            co_await resolver.async_resolve(upstream.host, std::to_string(upstream.port),
                                            kUseAwaitable);
        if (deadline.timed_out) {
            co_return Error{ErrorCode::kUpstreamTimeout, "timed out resolving " + where};
        }
        if (rec) {
            co_return Error{ErrorCode::kUpstreamUnavailable,
                            "cannot resolve " + where + ": " + rec.message()};
        }
        for (const auto& r : results) { endpoints.push_back(r.endpoint()); }
    }
    auto [cec, endpoint] = co_await asio::async_connect(conn->socket, endpoints, kUseAwaitable);
    if (deadline.timed_out) {
        co_return Error{ErrorCode::kUpstreamTimeout, "timed out connecting to " + where};
    }
    if (cec) {
        co_return Error{ErrorCode::kUpstreamUnavailable,
                        "cannot connect to " + where + ": " + cec.message()};
    }
    error_code opt_ec;
    conn->socket.set_option(tcp::no_delay(true), opt_ec);
    opened.fetch_add(1);
    co_return std::move(conn);
}

awaitable<Result<ClientResponse>> Client::Impl::RoundTrip(Connection& c,
                                                          const ClientRequest& request,
                                                          const Headers& inject,
                                                          Deadline& deadline, bool& retryable,
                                                          bool& keep_alive) {
    retryable = false;
    keep_alive = false;
    std::string head;
    head.reserve(256);
    head += request.method == Method::kOther ? "GET" : ToString(request.method);
    head.push_back(' ');
    head += upstream.prefix;
    head += request.target.empty() ? std::string_view("/") : std::string_view(request.target);
    head += " HTTP/1.1\r\nHost: ";
    head += upstream.host_header;
    head += "\r\n";
    bool has_body = !request.body.empty() || request.method == Method::kPost ||
                    request.method == Method::kPut || request.method == Method::kPatch;
    if (!request.body.empty() && !request.content_type.empty()) {
        head += "Content-Type: ";
        head += request.content_type;
        head += "\r\n";
    }
    if (has_body) {
        head += "Content-Length: ";
        AppendInt(head, request.body.size());
        head += "\r\n";
    }
    for (const auto& [name, value] : request.headers) {
        head += name;
        head += ": ";
        head += value;
        head += "\r\n";
    }
    for (const auto& [name, value] : inject) {
        head += name;
        head += ": ";
        head += value;
        head += "\r\n";
    }
    head += "\r\n";
    std::string where = upstream.host_header;

    std::array<asio::const_buffer, 2> bufs{asio::buffer(head), asio::buffer(request.body)};
    auto [wec, wn] = co_await asio::async_write(c.socket, bufs, kUseAwaitable);
    if (deadline.timed_out) {
        co_return Error{ErrorCode::kUpstreamTimeout, "timed out sending to " + where};
    }
    if (wec) {
        retryable = true;  // nothing can have been answered yet
        co_return Error{ErrorCode::kUpstreamUnavailable,
                        "cannot send to " + where + ": " + wec.message()};
    }

    ClientResponse response;
    std::optional<detail::ResponseParser> parser;
    parser.emplace(response, options.max_response_bytes);
    if (request.method == Method::kHead) { parser->skip(true); }
    bool received = c.buffer.size() > 0;
    for (;;) {
        if (c.buffer.size() > 0) {
            error_code pec;
            std::size_t used = parser->put(c.buffer.data(), pec);
            c.buffer.consume(used);
            if (pec && pec != boost::beast::http::error::need_more) {
                co_return Error{ErrorCode::kUpstreamUnavailable,
                                "bad response from " + where + ": " + pec.message()};
            }
            if (parser->is_done()) {
                // 1xx interim answers (100 Continue) precede the real one.
                if (response.status >= 100 && response.status < 200) {
                    response = ClientResponse{};
                    parser.emplace(response, options.max_response_bytes);
                    continue;
                }
                keep_alive = parser->keep_alive();
                co_return std::move(response);
            }
            if (!pec && used > 0 && c.buffer.size() > 0) { continue; }
        }
        std::size_t want = detail::ReadSize(parser->BodyLeft(), c.buffer.capacity(), c.buffer.size());
        auto [rec, n] = co_await c.socket.async_read_some(c.buffer.prepare(want), kUseAwaitable);
        if (deadline.timed_out) {
            co_return Error{ErrorCode::kUpstreamTimeout, "timed out waiting for " + where};
        }
        if (rec == asio::error::eof && received) {
            error_code eec;
            parser->put_eof(eec);
            if (!eec && parser->is_done()) {
                keep_alive = false;
                co_return std::move(response);
            }
        }
        if (rec) {
            retryable = !received;
            co_return Error{ErrorCode::kUpstreamUnavailable,
                            "connection to " + where + " failed: " + rec.message()};
        }
        c.buffer.commit(n);
        received = true;
    }
}

awaitable<Result<ClientResponse>> Client::Impl::Exchange(
    const ClientRequest& request, const Headers& inject,
    std::chrono::steady_clock::time_point deadline) {
    auto ex = co_await asio::this_coro::executor;
    for (int attempt = 0;; ++attempt) {
        // One timer per attempt; at the deadline its handler closes the socket in use, so
        // every pending operation ends.
        auto state = std::make_shared<Deadline>();
        asio::steady_timer timer(ex, deadline);
        Arm(timer, state);
        std::unique_ptr<Connection> conn = TakeIdle();
        bool reused = conn != nullptr;
        if (!conn) {
            auto connected = co_await Connect(*state);
            if (!connected) {
                state->active = false;
                co_return std::move(connected).error();
            }
            conn = std::move(connected.value());
        }
        state->socket = &conn->socket;
        bool retryable = false;
        bool keep_alive = false;
        Result<ClientResponse> result =
            co_await RoundTrip(*conn, request, inject, *state, retryable, keep_alive);
        state->active = false;
        bool timed_out = state->timed_out;
        if (result.ok()) {
            if (keep_alive && !timed_out && conn->socket.is_open() && conn->buffer.size() == 0) {
                GiveBack(std::move(conn));
            }
            co_return result;
        }
        if (reused && retryable && !timed_out && attempt == 0 && IsIdempotent(request.method)) {
            continue;  // a stale pooled connection: once more on a fresh one
        }
        co_return result;
    }
}

Client::Client(asio::any_io_executor executor, ClientOptions options)
    : impl_(std::make_unique<Impl>()) {
    impl_->executor = std::move(executor);
    impl_->upstream = ParseBaseUrl(options.base_url);
    impl_->options = std::move(options);
}

Result<std::unique_ptr<Client>> Client::Create(asio::any_io_executor executor,
                                               ClientOptions options) {
    Upstream u = ParseBaseUrl(options.base_url);
    if (!u.valid) { return Error{ErrorCode::kValidation, u.error}; }
    return std::make_unique<Client>(std::move(executor), std::move(options));
}

Client::~Client() = default;

void Client::SetObserver(std::shared_ptr<ClientObserver> observer) {
    impl_->observer = std::move(observer);
}

awaitable<Result<ClientResponse>> Client::Call(ClientRequest request,
                                               const common::TraceContext& parent) {
    Impl& s = *impl_;
    if (!s.upstream.valid) { co_return Error{ErrorCode::kInternal, s.upstream.error}; }
    auto timeout = request.timeout.count() > 0 ? request.timeout : s.options.timeout;
    auto deadline = std::chrono::steady_clock::now() +
                    std::chrono::duration_cast<std::chrono::steady_clock::duration>(timeout);
    Headers inject;
    std::unique_ptr<ClientCallScope> scope;
    std::string url;
    if (s.observer) {
        url = s.upstream.origin + s.upstream.prefix + request.target;
        ClientCallInfo info{request.method, url, request.target, s.upstream.host,
                            s.upstream.port, parent};
        scope = s.observer->Start(info, inject);
    }
    // Each call runs on its own strand, so the deadline timer and the socket operations
    // never run concurrently, whatever executor the caller is on.
    std::optional<Result<ClientResponse>> out;
    co_await asio::co_spawn(
        asio::make_strand(s.executor),
        [&]() -> awaitable<void> { out.emplace(co_await s.Exchange(request, inject, deadline)); },
        asio::use_awaitable);
    Result<ClientResponse> result = std::move(*out);
    if (scope) {
        ClientCallResult end;
        if (result.ok()) {
            end.status = result->status;
        } else {
            end.error = &result.error();
        }
        scope->End(end);
    }
    co_return result;
}

awaitable<Result<ClientResponse>> Client::Get(std::string target,
                                              const common::TraceContext& parent,
                                              Headers headers) {
    ClientRequest r;
    r.method = Method::kGet;
    r.target = std::move(target);
    r.headers = std::move(headers);
    co_return co_await Call(std::move(r), parent);
}

awaitable<Result<ClientResponse>> Client::Post(std::string target, std::string body,
                                               const common::TraceContext& parent,
                                               Headers headers) {
    ClientRequest r;
    r.method = Method::kPost;
    r.target = std::move(target);
    r.body = std::move(body);
    r.headers = std::move(headers);
    co_return co_await Call(std::move(r), parent);
}

awaitable<Result<ClientResponse>> Client::Delete(std::string target,
                                                 const common::TraceContext& parent,
                                                 Headers headers) {
    ClientRequest r;
    r.method = Method::kDelete;
    r.target = std::move(target);
    r.headers = std::move(headers);
    co_return co_await Call(std::move(r), parent);
}

const ClientOptions& Client::options() const noexcept { return impl_->options; }

std::size_t Client::idle_connections() const noexcept {
    std::lock_guard<std::mutex> lock(impl_->mu);
    return impl_->idle.size();
}

std::uint64_t Client::connections_opened() const noexcept { return impl_->opened.load(); }

}  // namespace flowex::http
