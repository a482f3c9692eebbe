#pragma once
/// The per-request context that handlers and middleware share, and the handler and
/// middleware types.
///
///     server.Use([](RequestContext& ctx, Next next) -> awaitable<Response> {
///         // before: ctx.route, ctx.request, ctx.peer_address are known
///         Response r = co_await next();
///         // after: r.status is known
///         co_return r;
///     });
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "flowex/common/json.hpp"
#include "flowex/common/result.hpp"
#include "flowex/common/trace_context.hpp"
#include "flowex/http/message.hpp"

namespace flowex::http {

/// A small type-erased per-request slot: at most one value per type T. Middleware puts
/// things here (e.g. telemetry's server span) that handlers may look up. Values are
/// destroyed when the request ends, in reverse order of insertion. Not thread-safe.
class Extensions {
public:
    Extensions() = default;
    Extensions(const Extensions&) = delete;
    Extensions& operator=(const Extensions&) = delete;
    ~Extensions() { Clear(); }

    /// Stores a T (replacing a previous T) and returns it.
    template <class T, class... Args>
    T& Emplace(Args&&... args) {
        Erase<T>();
        T* p = new T(std::forward<Args>(args)...);
        slots_.push_back(Slot{Key<T>(), p, [](void* v) { delete static_cast<T*>(v); }});
        return *p;
    }
    /// The stored T, or nullptr.
    template <class T>
    T* Get() const noexcept {
        for (const Slot& s : slots_) {
            if (s.key == Key<T>()) { return static_cast<T*>(s.value); }
        }
        return nullptr;
    }
    template <class T>
    void Erase() noexcept {
        for (auto it = slots_.begin(); it != slots_.end(); ++it) {
            if (it->key == Key<T>()) {
                it->destroy(it->value);
                slots_.erase(it);
                return;
            }
        }
    }
    void Clear() noexcept {
        while (!slots_.empty()) {
            Slot s = slots_.back();
            slots_.pop_back();
            s.destroy(s.value);
        }
    }

private:
    struct Slot {
        const void* key;
        void* value;
        void (*destroy)(void*);
    };
    template <class T>
    static const void* Key() noexcept {
        static const char key = 0;
        return &key;
    }
    std::vector<Slot> slots_;
};

/// Everything known about one request while it is handled. The server owns it; it stays
/// valid (and at the same address) until the response has been produced by the chain, so
/// handlers may keep references across `co_await`. Used from one coroutine at a time.
class RequestContext {
public:
    Request request;

    /// The matched route pattern, e.g. "/v1/orders/{order_id}"; empty when no route matched
    /// (404/405, or a request refused before routing such as 413).
    std::string_view route;
    /// Path parameters of the matched route, percent-decoded, in pattern order.
    std::vector<std::pair<std::string_view, std::string>> path_params;

    /// The peer's IP address (no brackets for IPv6) and port.
    std::string peer_address;
    std::uint16_t peer_port = 0;
    /// The local (server) port the connection arrived on.
    std::uint16_t local_port = 0;

    /// The request's trace context. A telemetry middleware fills it (from `traceparent`, or a
    /// new root); handlers read it and pass it to client calls. Invalid (all zero) when no
    /// middleware set it.
    common::TraceContext trace;

    /// Type-erased per-request extras (see Extensions).
    Extensions extensions;

    /// The executor of the connection (for timers and client calls).
    boost::asio::any_io_executor executor;

    /// The value of path parameter `name` ("" when absent).
    std::string_view Param(std::string_view name) const noexcept;
    /// The first query parameter `name`, percent-decoded; nullopt when absent.
    std::optional<std::string> Query(std::string_view name) const;
    /// All query parameters, decoded, in order.
    std::vector<std::pair<std::string, std::string>> QueryParams() const;

    /// The trace id for error bodies and logs: 32 lowercase hex when `trace` is valid,
    /// else "".
    std::string TraceId() const;

    /// The body parsed as JSON (whatever the Content-Type says); errors are kInvalidJson.
    common::Result<common::JsonValue> JsonBody(const common::JsonLimits& limits = {}) const;

    /// ErrorResponse(error, TraceId()).
    Response Error(const common::Error& error) const;
    Response Error(common::ErrorCode code, std::string message) const;

    /// Resets everything for the next request on the same connection (keeps capacity).
    void Reset() noexcept;
};

class Next;

/// A route handler. Runs on the connection's executor; must not throw (an escaped
/// exception is answered with 500 `internal` and the connection closed).
using Handler = std::function<awaitable<Response>(RequestContext&)>;
/// A middleware: do something before and/or after `co_await next()`, or answer without
/// calling it. Same threading and exception rules as Handler.
using Middleware = std::function<awaitable<Response>(RequestContext&, Next)>;

/// Calls the rest of the chain: the next middleware, or finally the route handler (or the
/// server's 404/405/413 answer). Call at most once.
class Next {
public:
    awaitable<Response> operator()() const;

    /// Internal: the chain is built by the server.
    struct Chain {
        const std::vector<Middleware>* middleware = nullptr;
        const Handler* handler = nullptr;
    };
    Next(const Chain* chain, std::size_t index, RequestContext* ctx) noexcept
        : chain_(chain), index_(index), ctx_(ctx) {}

private:
    const Chain* chain_;
    std::size_t index_;
    RequestContext* ctx_;
};

/// Adapts a synchronous function `Response(RequestContext&)` into a Handler.
Handler Sync(std::function<Response(RequestContext&)> fn);

}  // namespace flowex::http
