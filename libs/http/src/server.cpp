#include "flowex/http/server.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <future>
#include <list>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <spdlog/spdlog.h>

#include "parsers.hpp"
#include "session_registry.hpp"

namespace flowex::http {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;

namespace {

constexpr auto kUseAwaitable = asio::as_tuple(asio::use_awaitable);
constexpr std::int64_t kNoDeadline = INT64_MAX;

// The server whose io_context this thread runs (to detect Stop() from inside).
thread_local const void* tls_io_server = nullptr;

std::int64_t NowNanos() noexcept {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

std::shared_ptr<spdlog::logger> LoggerFor(const std::string& name) {
    std::shared_ptr<spdlog::logger> l = spdlog::get(name);
    return l ? l : spdlog::default_logger();
}

void AppendInt(std::string& out, std::uint64_t v) {
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof(buf), v);
    out.append(buf, res.ptr);
}

void AppendHex(std::string& out, std::uint64_t v) {
    char buf[24];
    auto res = std::to_chars(buf, buf + sizeof(buf), v, 16);
    out.append(buf, res.ptr);
}

// Connection states; what Stop() and the overload logic may close at once.
enum class State : std::uint8_t {
    kIdle,       // waiting for the first byte of a request (closable at any time)
    kHeader,     // part of a header arrived (closable on Stop: nothing in flight)
    kBody,       // reading the body of a complete header (in flight)
    kHandling,   // the chain runs (in flight)
    kWriting,    // the response is being written (in flight)
    kStreaming,  // a streamed body is being written
    kClosing,    // lingering close after an error answer
};

}  // namespace

struct Session;

struct Server::Impl {
    explicit Impl(ServerOptions o)
        : options(std::move(o)),
          logger(LoggerFor(options.logger_name)),
          ioc(std::max(1, options.threads)),
          acceptor_executor(MakeExecutor()),
          acceptor(acceptor_executor),
          sweeper(acceptor_executor),
          drain_timer(acceptor_executor) {}

    asio::any_io_executor MakeExecutor() {
        // One thread needs no strands; several do (each connection is one strand).
        if (options.threads <= 1) { return ioc.get_executor(); }
        return asio::make_strand(ioc);
    }

    awaitable<void> Accept();
    awaitable<void> Sweep();
    void OnStopRequested();
    void SessionEnded();
    void Finish();
    void Register(Session* s);
    void Unregister(Session* s);
    bool EvictIdle();
    void RejectOverload(tcp::socket& socket);

    // Declared before the io_context so that they outlive it: coroutine frames destroyed
    // by the io_context's destructor still unregister their sessions.
    ServerOptions options;
    std::shared_ptr<spdlog::logger> logger;
    detail::SessionRegistry<Session> sessions;
    std::atomic<std::size_t> session_count{0};
    std::atomic<std::uint16_t> port{0};
    std::atomic<bool> started{false};
    std::atomic<bool> running{false};  // io threads were launched
    std::atomic<bool> stopping{false};
    std::atomic<bool> finished{false};

    // An io_context whose pending handlers can be destroyed before the Server is (shutdown()
    // is protected in asio; ~io_context calls it again, which is harmless).
    struct IoContext : asio::io_context {
        explicit IoContext(int concurrency_hint) : asio::io_context(concurrency_hint) {}
        using asio::execution_context::shutdown;
    };
    IoContext ioc;
    asio::any_io_executor acceptor_executor;
    tcp::acceptor acceptor;
    asio::steady_timer sweeper;
    asio::steady_timer drain_timer;
    std::optional<asio::signal_set> signals;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;

    Router router;
    std::vector<Middleware> middleware;
    Handler not_found;
    Handler method_not_allowed;
    Handler too_large;

    std::vector<std::thread> threads;
};

// One connection. Owned by its coroutine (shared_ptr, so Stop/sweeper can post to it).
struct Session : std::enable_shared_from_this<Session> {
    Session(Server::Impl& server, tcp::socket s)
        : srv(server), socket(std::move(s)) {}
    ~Session() { srv.Unregister(this); }

    awaitable<void> Run();
    enum class ReadOutcome { kRequest, kClosed, kBadRequest, kTooLarge };
    awaitable<ReadOutcome> ReadRequest();
    awaitable<Response> Handle(bool too_large);
    awaitable<bool> Write(Response& response, bool keep_alive);
    awaitable<bool> WriteStream(Response& response);
    awaitable<void> LingeringClose();
    void SetState(State s, std::chrono::nanoseconds timeout) {
        state.store(s, std::memory_order_relaxed);
        deadline.store(timeout.count() == 0 ? kNoDeadline : NowNanos() + timeout.count(),
                       std::memory_order_relaxed);
    }
    void SetStateNoDeadline(State s) {
        state.store(s, std::memory_order_relaxed);
        deadline.store(kNoDeadline, std::memory_order_relaxed);
    }
    // On the session's executor.
    void CloseSocket() {
        error_code ec;
        socket.shutdown(tcp::socket::shutdown_both, ec);
        socket.close(ec);
    }
    void OnExpired() {
        if (deadline.load(std::memory_order_relaxed) <= NowNanos()) { CloseSocket(); }
    }
    void OnStop() {
        State s = state.load(std::memory_order_relaxed);
        if (s == State::kIdle || s == State::kHeader) { CloseSocket(); }
    }
    void OnEvict() {
        if (state.load(std::memory_order_relaxed) == State::kIdle) { CloseSocket(); }
    }

    Server::Impl& srv;
    tcp::socket socket;
    boost::beast::flat_buffer buffer;
    RequestContext ctx;
    std::string head;  // serialized response head, reused
    std::atomic<State> state{State::kIdle};
    std::atomic<std::int64_t> deadline{kNoDeadline};
    detail::SessionRegistry<Session>::Position pos;
};

namespace {

// The streamed-body writer handed to Response::stream.
class ChunkWriter final : public BodyWriter {
public:
    explicit ChunkWriter(Session& s) : s_(s) {}
    awaitable<bool> Write(std::string_view chunk) override {
        if (chunk.empty()) { co_return s_.socket.is_open(); }
        if (!s_.socket.is_open()) { co_return false; }
        s_.head.clear();
        AppendHex(s_.head, chunk.size());
        s_.head += "\r\n";
        std::array<asio::const_buffer, 3> bufs{asio::buffer(s_.head), asio::buffer(chunk),
                                               asio::buffer("\r\n", 2)};
        s_.SetState(State::kStreaming, s_.srv.options.write_timeout);
        auto [ec, n] = co_await asio::async_write(s_.socket, bufs, kUseAwaitable);
        s_.SetStateNoDeadline(State::kStreaming);
        co_return !ec;
    }
    bool stopping() const noexcept override { return s_.srv.stopping.load(); }

private:
    Session& s_;
};

}  // namespace

void Server::Impl::Register(Session* s) {
    s->pos = sessions.Add(s);
    session_count.fetch_add(1);
}

void Server::Impl::Unregister(Session* s) {
    sessions.Remove(s->pos);
    if (session_count.fetch_sub(1) == 1 && stopping.load() && !finished.load()) {
        asio::post(acceptor_executor, [this] { Finish(); });
    }
}

bool Server::Impl::EvictIdle() {
    auto idle = sessions.Snapshot(
        [](const Session& s) { return s.state.load(std::memory_order_relaxed) == State::kIdle; }, 1);
    if (idle.empty()) { return false; }
    std::shared_ptr<Session>& sp = idle.front();
    // Mark it so that the next eviction picks another one.
    sp->state.store(State::kClosing, std::memory_order_relaxed);
    asio::post(sp->socket.get_executor(), [sp] { sp->CloseSocket(); });
    return true;
}

void Server::Impl::RejectOverload(tcp::socket& socket) {
    // Best effort, never blocking: the socket buffer of a fresh connection takes it.
    static const std::string kBody =
        ErrorBody(common::Error{common::ErrorCode::kUpstreamUnavailable,
                                "server overloaded: too many connections"},
                  "");
    static const std::string kText = "HTTP/1.1 503 Service Unavailable\r\n"
                                     "Content-Type: application/json\r\n"
                                     "Content-Length: " +
                                     std::to_string(kBody.size()) +
                                     "\r\nConnection: close\r\n\r\n" + kBody;
    error_code ec;
    socket.non_blocking(true, ec);
    socket.write_some(asio::buffer(kText), ec);
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
}

awaitable<void> Server::Impl::Accept() {
    for (;;) {
        asio::any_io_executor ex = MakeExecutor();
        auto [ec, socket] = co_await acceptor.async_accept(ex, kUseAwaitable);
        if (stopping.load()) { co_return; }
        if (ec) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) { co_return; }
            // Out of descriptors and the like: back off instead of spinning.
            logger->warn("http: accept failed: {}", ec.message());
            asio::steady_timer backoff(acceptor_executor, std::chrono::milliseconds(50));
            co_await backoff.async_wait(kUseAwaitable);
            continue;
        }
        if (session_count.load() >= options.max_connections && !EvictIdle()) {
            RejectOverload(socket);
            continue;
        }
        error_code opt_ec;
        socket.set_option(tcp::no_delay(true), opt_ec);
        auto session = std::make_shared<Session>(*this, std::move(socket));
        Register(session.get());
        asio::co_spawn(ex, session->Run(), [session](std::exception_ptr) {});
    }
}

awaitable<void> Server::Impl::Sweep() {
    // One timer for all connections: a deadline is a plain store per state change on the
    // hot path, and this sweep closes what expired (granularity: a quarter of the
    // shortest timeout).
    auto shortest = std::min({options.header_timeout, options.idle_timeout,
                              options.body_timeout, options.write_timeout});
    auto tick = std::clamp<std::chrono::nanoseconds>(shortest / 4, std::chrono::milliseconds(5),
                                                     std::chrono::milliseconds(500));
    while (!stopping.load() || session_count.load() > 0) {
        sweeper.expires_after(tick);
        auto waited = co_await sweeper.async_wait(kUseAwaitable);
        (void)waited;
        if (finished.load()) { co_return; }
        std::int64_t now = NowNanos();
        auto expired = sessions.Snapshot([now](const Session& s) {
            return s.deadline.load(std::memory_order_relaxed) <= now;
        });
        for (std::shared_ptr<Session>& sp : expired) {
            asio::post(sp->socket.get_executor(), [sp] { sp->OnExpired(); });
        }
    }
}

void Server::Impl::OnStopRequested() {
    // On the acceptor's executor.
    error_code ec;
    acceptor.close(ec);
    if (signals) { signals->cancel(ec); }
    for (std::shared_ptr<Session>& sp : sessions.Snapshot([](const Session&) { return true; })) {
        asio::post(sp->socket.get_executor(), [sp] { sp->OnStop(); });
    }
    if (session_count.load() == 0) {
        Finish();
        return;
    }
    drain_timer.expires_after(options.shutdown_timeout);
    drain_timer.async_wait([this](error_code wait_ec) {
        if (wait_ec) { return; }
        // In-flight requests took too long: close what is left, then finish.
        for (std::shared_ptr<Session>& sp : sessions.Snapshot([](const Session&) { return true; })) {
            asio::post(sp->socket.get_executor(), [sp] { sp->CloseSocket(); });
        }
        asio::post(acceptor_executor, [this] { Finish(); });
    });
}

void Server::Impl::Finish() {
    if (finished.exchange(true)) { return; }
    drain_timer.cancel();
    sweeper.cancel();
    work.reset();
    ioc.stop();
}

awaitable<Session::ReadOutcome> Session::ReadRequest() {
    detail::RequestParser parser(ctx.request, srv.options.max_header_bytes,
                                 srv.options.max_body_bytes);
    bool started = buffer.size() > 0;
    if (started) {
        SetState(State::kHeader, srv.options.header_timeout);
    } else {
        SetState(State::kIdle, srv.options.idle_timeout);
    }
    bool sent_continue = false;
    for (;;) {
        if (buffer.size() > 0) {
            error_code ec;
            std::size_t used = parser.put(buffer.data(), ec);
            buffer.consume(used);
            if (ec && ec != boost::beast::http::error::need_more) {
                if (ec == boost::beast::http::error::body_limit) { co_return ReadOutcome::kTooLarge; }
                co_return ReadOutcome::kBadRequest;
            }
            if (parser.is_done()) {
                ctx.request.keep_alive = parser.keep_alive();
                co_return ReadOutcome::kRequest;
            }
            if (parser.is_header_done() && state.load(std::memory_order_relaxed) != State::kBody) {
                SetState(State::kBody, srv.options.body_timeout);
                auto expect = ctx.request.headers.Get("Expect");
                if (expect && EqualsIgnoreCase(*expect, "100-continue") && !sent_continue) {
                    sent_continue = true;
                    static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
                    auto [wec, wn] = co_await asio::async_write(
                        socket, asio::buffer(kContinue.data(), kContinue.size()), kUseAwaitable);
                    if (wec) { co_return ReadOutcome::kClosed; }
                }
            }
            if (!ec && used > 0 && buffer.size() > 0) { continue; }
        }
        std::size_t want = detail::ReadSize(parser.BodyLeft(), buffer.capacity(), buffer.size());
        auto [ec, n] = co_await socket.async_read_some(buffer.prepare(want), kUseAwaitable);
        if (ec) {
            if (ec == asio::error::eof && started) {
                // A message delimited by EOF is not valid for requests: an incomplete one.
                co_return ReadOutcome::kBadRequest;
            }
            co_return ReadOutcome::kClosed;
        }
        buffer.commit(n);
        if (!started) {
            started = true;
            SetState(State::kHeader, srv.options.header_timeout);
        }
    }
}

awaitable<Response> Session::Handle(bool too_large) {
    Router::Match match = srv.router.Find(ctx.request.method, ctx.request.Path(), ctx);
    const Handler* handler = match.handler;
    if (too_large) {
        handler = &srv.too_large;
    } else if (match.kind == Router::MatchKind::kNotFound) {
        handler = &srv.not_found;
    } else if (match.kind == Router::MatchKind::kMethodNotAllowed) {
        handler = &srv.method_not_allowed;
    }
    Next::Chain chain{&srv.middleware, handler};
    try {
        co_return co_await Next(&chain, 0, &ctx)();
    } catch (const std::exception& e) {
        srv.logger->error("http: handler for {} {} threw: {}", ctx.request.method_text,
                          ctx.request.target, e.what());
    } catch (...) {
        srv.logger->error("http: handler for {} {} threw", ctx.request.method_text,
                          ctx.request.target);
    }
    Response r = ctx.Error(common::ErrorCode::kInternal, "internal error");
    r.close = true;
    co_return r;
}

awaitable<bool> Session::Write(Response& response, bool keep_alive) {
    head.clear();
    head += "HTTP/1.1 ";
    AppendInt(head, static_cast<std::uint64_t>(response.status));
    head.push_back(' ');
    head += StatusReason(response.status);
    head += "\r\n";
    if (!response.content_type.empty()) {
        head += "Content-Type: ";
        head += response.content_type;
        head += "\r\n";
    }
    for (const auto& [name, value] : response.headers) {
        head += name;
        head += ": ";
        head += value;
        head += "\r\n";
    }
    if (ctx.trace.valid() && !response.headers.Has("X-Trace-Id")) {
        head += "X-Trace-Id: ";
        common::AppendHex(head, ctx.trace.trace_id.data(), ctx.trace.trace_id.size());
        head += "\r\n";
    }
    bool no_body = response.status == 204 || response.status == 304 ||
                   (response.status >= 100 && response.status < 200);
    if (response.stream) {
        head += "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    } else {
        if (!no_body) {
            head += "Content-Length: ";
            AppendInt(head, response.body.size());
            head += "\r\n";
        }
        if (!keep_alive) {
            head += "Connection: close\r\n";
        } else if (ctx.request.version == 10) {
            head += "Connection: keep-alive\r\n";
        }
        head += "\r\n";
    }
    SetState(State::kWriting, srv.options.write_timeout);
    bool send_body = !no_body && ctx.request.method != Method::kHead && !response.stream;
    std::array<asio::const_buffer, 2> bufs{
        asio::buffer(head), send_body ? asio::buffer(response.body) : asio::const_buffer()};
    auto [ec, n] = co_await asio::async_write(socket, bufs, kUseAwaitable);
    if (ec) { co_return false; }
    if (response.stream) { co_return co_await WriteStream(response); }
    co_return true;
}

awaitable<bool> Session::WriteStream(Response& response) {
    SetStateNoDeadline(State::kStreaming);
    ChunkWriter writer(*this);
    try {
        co_await response.stream(writer);
    } catch (const std::exception& e) {
        srv.logger->error("http: stream for {} threw: {}", ctx.request.target, e.what());
        co_return false;
    }
    if (!socket.is_open()) { co_return false; }
    SetState(State::kWriting, srv.options.write_timeout);
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer("0\r\n\r\n", 5), kUseAwaitable);
    co_return !ec;
}

awaitable<void> Session::LingeringClose() {
    // After an error answer the peer may still be sending (an oversized body, garbage):
    // closing with unread data would reset the connection and could destroy the answer
    // before the peer read it. So: half-close, discard what still comes for a short
    // while, then close.
    SetState(State::kClosing, std::min<std::chrono::nanoseconds>(srv.options.header_timeout,
                                                                  std::chrono::seconds(2)));
    error_code ec;
    socket.shutdown(tcp::socket::shutdown_send, ec);
    std::size_t discarded = 0;
    while (!ec && discarded < 1024 * 1024 && socket.is_open()) {
        buffer.clear();
        auto [rec, n] = co_await socket.async_read_some(buffer.prepare(16384), kUseAwaitable);
        ec = rec;
        discarded += n;
    }
    CloseSocket();
}

awaitable<void> Session::Run() {
    // The connection loop: read a request (idle/header/body timeouts), run the chain,
    // write the answer; repeat while keep-alive. Every failure ends only this connection.
    ctx.executor = socket.get_executor();
    error_code ec;
    tcp::endpoint peer = socket.remote_endpoint(ec);
    if (!ec) {
        ctx.peer_address = peer.address().to_string();
        ctx.peer_port = peer.port();
    }
    tcp::endpoint local = socket.local_endpoint(ec);
    if (!ec) { ctx.local_port = local.port(); }
    for (;;) {
        ctx.Reset();
        if (srv.stopping.load()) { break; }
        ReadOutcome outcome = co_await ReadRequest();
        if (outcome == ReadOutcome::kClosed) { break; }
        if (outcome == ReadOutcome::kBadRequest) {
            Response r = ErrorResponse(
                common::Error{common::ErrorCode::kBadRequest, "malformed HTTP request"}, "");
            ctx.request.method = Method::kGet;  // never suppress the body of this answer
            co_await Write(r, false);
            co_await LingeringClose();
            co_return;
        }
        bool too_large = outcome == ReadOutcome::kTooLarge;
        SetStateNoDeadline(State::kHandling);
        Response response = co_await Handle(too_large);
        bool keep_alive = ctx.request.keep_alive && !response.close && !too_large &&
                          !srv.stopping.load() && !response.stream;
        bool ok = co_await Write(response, keep_alive);
        ctx.extensions.Clear();
        if (too_large && ok) {
            co_await LingeringClose();
            co_return;
        }
        if (!ok || !keep_alive) { break; }
    }
    CloseSocket();
}

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
    impl_->not_found = [](RequestContext& ctx) -> awaitable<Response> {
        co_return ctx.Error(common::ErrorCode::kNotFound,
                            "no route for " + std::string(ctx.request.Path()));
    };
    Impl* impl = impl_.get();
    impl_->method_not_allowed = [impl](RequestContext& ctx) -> awaitable<Response> {
        RequestContext probe;
        Router::Match m = impl->router.Find(ctx.request.method, ctx.request.Path(), probe);
        Response r = ctx.Error(common::ErrorCode::kMethodNotAllowed,
                               "method " + ctx.request.method_text + " not allowed for " +
                                   std::string(ctx.request.Path()));
        if (!m.allow.empty()) { r.headers.Set("Allow", m.allow); }
        co_return r;
    };
    impl_->too_large = [impl](RequestContext& ctx) -> awaitable<Response> {
        co_return ctx.Error(common::ErrorCode::kPayloadTooLarge,
                            "request body over " + std::to_string(impl->options.max_body_bytes) +
                                " bytes");
    };
}

Server::~Server() {
    Stop();
    Wait();
}

Router& Server::router() noexcept { return impl_->router; }

void Server::Use(Middleware middleware) { impl_->middleware.push_back(std::move(middleware)); }

common::Status Server::Start() {
    Impl& s = *impl_;
    if (s.started.exchange(true)) {
        return common::Error{common::ErrorCode::kInternal, "server already started"};
    }
    error_code ec;
    asio::ip::address address = asio::ip::make_address(s.options.listen.host, ec);
    if (ec) {
        tcp::resolver resolver(s.ioc);
        auto results = resolver.resolve(s.options.listen.host, "", ec);
        if (ec || results.empty()) {
            return common::Error{common::ErrorCode::kInternal,
                                 "cannot resolve listen host " + s.options.listen.host};
        }
        address = results.begin()->endpoint().address();
    }
    tcp::endpoint endpoint(address, s.options.listen.port);
    std::string where = s.options.listen.ToString();
    s.acceptor.open(endpoint.protocol(), ec);
    if (!ec) { s.acceptor.set_option(tcp::acceptor::reuse_address(true), ec); }
    if (!ec) { s.acceptor.bind(endpoint, ec); }
    if (!ec) { s.acceptor.listen(asio::socket_base::max_listen_connections, ec); }
    if (ec) {
        return common::Error{common::ErrorCode::kInternal,
                             "cannot listen on " + where + ": " + ec.message()};
    }
    s.port.store(s.acceptor.local_endpoint(ec).port());
    if (s.options.print_listening) {
        common::HostPort shown{s.options.listen.host, s.port.load()};
        std::printf("listening on %s\n", shown.ToString().c_str());
        std::fflush(stdout);
    }
    s.work.emplace(s.ioc.get_executor());
    auto on_exit = [&s](std::exception_ptr e) {
        if (e) { s.logger->critical("http: the accept loop failed; stopping"); }
    };
    asio::co_spawn(s.acceptor_executor, s.Accept(), on_exit);
    asio::co_spawn(s.acceptor_executor, s.Sweep(), on_exit);
    int n = std::max(1, s.options.threads);
    s.running.store(true);
    for (int i = 0; i < n; ++i) {
        s.threads.emplace_back([&s] {
            tls_io_server = &s;
            // Handlers do not throw (sessions catch); this is the last line of defence.
            for (;;) {
                try {
                    s.ioc.run();
                    return;
                } catch (const std::exception& e) {
                    s.logger->error("http: io thread caught: {}", e.what());
                } catch (...) {
                    s.logger->error("http: io thread caught an unknown exception");
                }
            }
        });
    }
    return common::Ok();
}

void Server::Wait() {
    for (std::thread& t : impl_->threads) {
        if (t.joinable()) { t.join(); }
    }
    impl_->threads.clear();
}

common::Status Server::Run() {
    common::Status st = Start();
    if (!st) { return st; }
    Wait();
    return common::Ok();
}

void Server::DestroyPendingWork() noexcept {
    Stop();
    Wait();
    impl_->ioc.shutdown();
}

void Server::Stop() noexcept {
    Impl& s = *impl_;
    if (s.stopping.exchange(true)) { return; }
    if (!s.running.load()) {
        s.finished.store(true);
        return;
    }
    if (tls_io_server == &s) {
        // From a handler or the signal handler: never block an io thread. With one thread
        // there are no strands, so the listener can be closed right here.
        if (s.options.threads <= 1) {
            s.OnStopRequested();
        } else {
            asio::post(s.acceptor_executor, [&s] { s.OnStopRequested(); });
        }
        return;
    }
    // From outside: wait (briefly) until the listener is closed, so that a caller that
    // connects after Stop() returned is refused.
    try {
        auto done = std::make_shared<std::promise<void>>();
        std::future<void> f = done->get_future();
        asio::post(s.acceptor_executor, [&s, done] {
            s.OnStopRequested();
            done->set_value();
        });
        f.wait_for(std::chrono::seconds(10));
    } catch (...) {
        // Out of memory while stopping: the io threads still stop at the drain deadline.
    }
}

void Server::StopOnSignals() {
    Impl& s = *impl_;
    s.signals.emplace(s.acceptor_executor, SIGINT, SIGTERM);
    s.signals->async_wait([this](error_code ec, int) {
        if (!ec) { Stop(); }
    });
}

std::uint16_t Server::port() const noexcept { return impl_->port.load(); }

boost::asio::io_context& Server::io_context() noexcept { return impl_->ioc; }

boost::asio::any_io_executor Server::executor() noexcept { return impl_->ioc.get_executor(); }

std::size_t Server::connection_count() const noexcept { return impl_->session_count.load(); }

}  // namespace flowex::http
