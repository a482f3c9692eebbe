#pragma once
/// The flowex HTTP/1.1 client: one keep-alive connection pool per upstream, a deadline per
/// call, errors as values, an observer hook for telemetry.
///
///     flowex::http::Client wallet(executor, {.base_url = "http://127.0.0.1:8104"});
///     auto r = co_await wallet.Post("/block-funds", body, ctx.trace);
///     if (!r) { co_return ctx.Error(r.error()); }      // upstream_unavailable / _timeout
///     if (r->status != 200) { … }                      // an HTTP answer is not an error
///
/// Retries: a call that fails on a *reused* pooled connection before any response byte
/// arrived is retried once on a fresh connection only when its method is idempotent
/// (GET, HEAD, PUT, DELETE, OPTIONS). A POST or PATCH is never sent twice.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "flowex/common/result.hpp"
#include "flowex/common/trace_context.hpp"
#include "flowex/http/message.hpp"

namespace flowex::http {

struct ClientOptions {
    /// "http://host:port" (an optional path prefix is prepended to every target).
    std::string base_url;
    /// Deadline of a call whose ClientRequest::timeout is zero: connect, write and read.
    std::chrono::nanoseconds timeout = std::chrono::seconds(5);
    /// Idle connections kept per upstream; more concurrent calls open extra connections
    /// that are closed after use.
    std::size_t max_idle_connections = 32;
    /// An idle pooled connection older than this is closed instead of reused (keep it
    /// below the upstream's idle timeout).
    std::chrono::nanoseconds idle_timeout = std::chrono::seconds(30);
    /// Largest accepted response body; above it the call fails with kUpstreamUnavailable.
    std::size_t max_response_bytes = 16 * 1024 * 1024;
};

struct ClientRequest {
    Method method = Method::kGet;
    std::string target = "/";  ///< path and query, e.g. "/orders?limit=5"
    Headers headers;
    std::string body;
    /// Sent as Content-Type when `body` is non-empty.
    std::string content_type = "application/json";
    /// Zero: ClientOptions::timeout.
    std::chrono::nanoseconds timeout{0};
};

struct ClientResponse {
    int status = 0;
    Headers headers;
    std::string body;
};

/// What an observer learns when a call starts.
struct ClientCallInfo {
    Method method;
    std::string_view url;          ///< full URL, e.g. "http://127.0.0.1:8104/block-funds"
    std::string_view target;       ///< path and query
    std::string_view peer_host;    ///< host as configured
    std::uint16_t peer_port;
    const common::TraceContext& parent;  ///< the caller's context (may be invalid)
};

/// What an observer learns when a call ends: an HTTP status, or an error (then status 0).
struct ClientCallResult {
    int status = 0;
    const common::Error* error = nullptr;
};

/// One call in flight, as seen by the observer (e.g. holding a CLIENT span). Destroyed
/// right after End().
class ClientCallScope {
public:
    virtual ~ClientCallScope() = default;
    virtual void End(const ClientCallResult& result) noexcept = 0;
};

/// Instrumentation hook (telemetry installs one). Called on the calling coroutine's
/// thread; must not block; may be called from several threads at once.
class ClientObserver {
public:
    virtual ~ClientObserver() = default;
    /// At call start. Headers added to `inject` (e.g. `traceparent`) are sent with the
    /// request. May return nullptr when there is nothing to end.
    virtual std::unique_ptr<ClientCallScope> Start(const ClientCallInfo& info,
                                                   Headers& inject) noexcept = 0;
};

class Client {
public:
    /// Connections run on `executor`. A bad base_url makes every call fail with kInternal
    /// (use Client::Create to check it up front).
    Client(boost::asio::any_io_executor executor, ClientOptions options);
    /// Validates options.base_url (kValidation when not http://host:port[/prefix]).
    static common::Result<std::unique_ptr<Client>> Create(boost::asio::any_io_executor executor,
                                                         ClientOptions options);
    ~Client();  ///< Closes pooled connections. No call may be in flight.
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    /// Sets the observer; call once before the first call (not synchronized with calls).
    void SetObserver(std::shared_ptr<ClientObserver> observer);

    /// One request/response. Never throws. Errors: kUpstreamUnavailable (resolve, connect,
    /// refused, reset, malformed or oversized response), kUpstreamTimeout (the deadline
    /// passed), kInternal (bad base_url). Thread-safe: calls may run concurrently.
    awaitable<common::Result<ClientResponse>> Call(ClientRequest request,
                                                   const common::TraceContext& parent);

    awaitable<common::Result<ClientResponse>> Get(std::string target,
                                                  const common::TraceContext& parent,
                                                  Headers headers = {});
    awaitable<common::Result<ClientResponse>> Post(std::string target, std::string body,
                                                   const common::TraceContext& parent,
                                                   Headers headers = {});
    awaitable<common::Result<ClientResponse>> Delete(std::string target,
                                                     const common::TraceContext& parent,
                                                     Headers headers = {});

    const ClientOptions& options() const noexcept;
    /// Idle pooled connections (for tests).
    std::size_t idle_connections() const noexcept;
    /// Connections opened since construction (for tests: keep-alive reuse).
    std::uint64_t connections_opened() const noexcept;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

}  // namespace flowex::http
