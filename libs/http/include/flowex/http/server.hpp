#pragma once
/// The flowex HTTP/1.1 server: Boost.Beast on C++20 coroutines, one coroutine per
/// connection, a router, a middleware chain, limits and timeouts.
///
///     flowex::http::Server server({.listen = listen});
///     server.Use(flowex::http::AccessLog());
///     server.router().Get("/v1/orders/{order_id}", GetOrder);
///     server.StopOnSignals();              // SIGTERM/SIGINT → graceful Stop()
///     if (auto st = server.Run(); !st) { … exit 2 … }   // prints "listening on HOST:PORT"
///
/// Each connection is its own failure boundary: malformed input gets 400 `bad_request`
/// and a close, an oversized body 413 `payload_too_large`, a slow peer is cut off by the
/// header/idle timeouts; none of it affects other connections or the listener.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "flowex/common/config.hpp"
#include "flowex/common/result.hpp"
#include "flowex/http/context.hpp"
#include "flowex/http/router.hpp"

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace flowex::http {

struct ServerOptions {
    /// Address to bind; port 0 picks a free port (see Server::port()).
    common::HostPort listen{"127.0.0.1", 0};
    /// Threads running the server's io_context (Run/Start).
    int threads = 1;
    /// Largest accepted request body; above it: 413 payload_too_large and close.
    std::size_t max_body_bytes = 64 * 1024;
    /// Largest request line + header fields; above it: 431-like 400 bad_request and close.
    std::size_t max_header_bytes = 16 * 1024;
    /// From the first byte of a request until its header is complete (slowloris guard).
    std::chrono::nanoseconds header_timeout = std::chrono::seconds(10);
    /// From the header until the whole body has arrived.
    std::chrono::nanoseconds body_timeout = std::chrono::seconds(30);
    /// A keep-alive connection waiting for its next request (and a new connection waiting
    /// for its first byte) is closed after this.
    std::chrono::nanoseconds idle_timeout = std::chrono::seconds(60);
    /// Writing one response (or one streamed chunk).
    std::chrono::nanoseconds write_timeout = std::chrono::seconds(30);
    /// Stop(): how long in-flight requests may take before their connections are closed.
    std::chrono::nanoseconds shutdown_timeout = std::chrono::seconds(10);
    /// Open connections. At the limit an idle keep-alive connection is closed to make
    /// room; when none is idle the new connection gets 503 upstream_unavailable and a close.
    std::size_t max_connections = 10000;
    /// Print "listening on HOST:PORT" to stdout once serving.
    bool print_listening = true;
    /// Name of the spdlog logger for the server's own warnings (accept errors, handler
    /// exceptions); spdlog's default logger when not registered.
    std::string logger_name = "http";
};

class Server {
public:
    explicit Server(ServerOptions options = {});
    ~Server();  ///< Stops (as Stop()) and joins the threads.
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Routes; register before Start().
    Router& router() noexcept;
    /// Appends a middleware; the first one added is the outermost. Before Start().
    void Use(Middleware middleware);

    /// Binds, listens, prints "listening on HOST:PORT" and starts the io threads; returns
    /// at once. Errors: kInternal with a message naming the address (e.g. in use).
    common::Status Start();
    /// Blocks until the server has stopped (after Stop() or a signal) and its threads
    /// ended. Do not call from an io thread.
    void Wait();
    /// Start() then Wait().
    common::Status Run();
    /// Graceful shutdown, from any thread (including handlers), idempotent, non-blocking:
    /// stop accepting (new connects are refused), close idle connections, let in-flight
    /// requests finish (answered with Connection: close) up to shutdown_timeout, then
    /// close the rest and stop the io_context.
    void Stop() noexcept;
    /// Stops (as Stop()), waits for the io threads, then destroys every handler still queued
    /// or waiting on the io_context: the frames of coroutines suspended when the server
    /// stopped (detached work, a pool lease, a lock's waiter). Call it while what those frames
    /// refer to is alive; ~Server would destroy them too, but only after the objects declared
    /// after the server are gone. Nothing runs on the io_context afterwards; objects bound to
    /// it may still be destroyed. Not from an io thread.
    void DestroyPendingWork() noexcept;
    /// Installs SIGTERM and SIGINT handling that calls Stop(). Before or after Start().
    void StopOnSignals();

    /// The bound port (the real one when asked for 0); 0 before Start().
    std::uint16_t port() const noexcept;
    /// The io_context the server runs on: other components (storage pools, timers, HTTP
    /// clients) can share its threads. Valid for the server's lifetime.
    boost::asio::io_context& io_context() noexcept;
    boost::asio::any_io_executor executor() noexcept;

    /// Open connections right now (for tests and metrics). Thread-safe.
    std::size_t connection_count() const noexcept;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace flowex::http
