#pragma once
/// client-gateway: the public API (DESIGN §4). It authenticates each call through
/// user-service, validates public bodies at the edge (nothing invalid travels inward),
/// converts dollars to the internal cents and back, forwards to the owning service with
/// the internal token and the caller's user id, and passes internal errors through
/// unchanged.
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "flowex/common/clock.hpp"
#include "flowex/http/context.hpp"
#include "flowex/http/router.hpp"
#include "flowex/service/upstream.hpp"
#include "flowex/telemetry/api/trace.hpp"

namespace flowex::gateway {

struct GatewayOptions {
    /// Requests per second per authenticated user (token bucket; burst = 2 s worth).
    double user_rate_per_second = 200;
};

/// Admission control for the whole exchange: at most `max_in_flight` public requests are
/// inside it at once (0: no limit). Past that, a request is answered at once with 503
/// `upstream_unavailable` and `Retry-After: 1`, before authentication and before anything
/// is written, instead of queueing behind the others until the upstream deadline. It bounds
/// the queue (and so the latency) at overload: 256 is about half a second of work at the
/// rate the whole stack sustains on two cores. It also bounds the work spent on requests
/// whose callers gave up (a request goes on after its client disconnects). /health and
/// /metrics are never refused. Metrics: `gateway_requests_in_flight` (gauge) and
/// `gateway_requests_shed_total` (counter).
http::Middleware ShedLoad(std::int64_t max_in_flight);

/// The public JSON of an internal one: every `<name>_cents` integer becomes `<name>` in
/// dollars with exactly two decimals (776.25); everything else is copied. Recursive.
std::string PublicJson(std::string_view internal_json);

/// Per-key token bucket. Thread-safe.
class RateLimiter {
public:
    RateLimiter(double rate_per_second, double burst, const common::Clock& clock)
        : rate_(rate_per_second), burst_(burst), clock_(clock) {}
    /// True when a request by `key` may proceed now.
    bool Allow(std::int64_t key);

private:
    struct Bucket {
        double tokens;
        std::int64_t last_nanos;
    };
    double rate_;
    double burst_;
    const common::Clock& clock_;
    std::mutex mu_;
    std::unordered_map<std::int64_t, Bucket> buckets_;
};

struct Upstreams {
    std::unique_ptr<service::Upstream> users;
    std::unique_ptr<service::Upstream> orders;
    std::unique_ptr<service::Upstream> wallet;
    std::unique_ptr<service::Upstream> reporting;
    std::unique_ptr<service::Upstream> risk;  // for /health only: order-manager calls it
};

class Gateway {
public:
    Gateway(Upstreams upstreams, telemetry::Tracer tracer, GatewayOptions options,
            const common::Clock& clock = common::SystemClock());

    /// Registers every public route on `router`.
    void Register(http::Router& router);

    /// GET /health: the gateway and each service's own /health.
    http::awaitable<http::Response> Health(http::RequestContext& ctx);

private:
    struct Caller {
        std::int64_t user_id = 0;
        std::string username;
        std::string tier;
    };
    /// Verifies the bearer token through user-service GET /me.
    http::awaitable<common::Result<Caller>> Authenticate(http::RequestContext& ctx,
                                                         const common::TraceContext& parent);
    /// Authenticate + rate limit, then forward to `upstream` and convert the answer.
    http::awaitable<http::Response> Forward(http::RequestContext& ctx, service::Upstream& upstream,
                                            http::Method method, std::string target,
                                            std::string body);

    http::awaitable<http::Response> RegisterUser(http::RequestContext& ctx);
    http::awaitable<http::Response> Login(http::RequestContext& ctx);
    http::awaitable<http::Response> Logout(http::RequestContext& ctx);
    http::awaitable<http::Response> Me(http::RequestContext& ctx);
    http::awaitable<http::Response> PlaceOrder(http::RequestContext& ctx);
    http::awaitable<http::Response> CancelOrder(http::RequestContext& ctx);
    http::awaitable<http::Response> AddFunds(http::RequestContext& ctx);

    Upstreams up_;
    telemetry::Tracer tracer_;
    GatewayOptions options_;
    RateLimiter limiter_;
};

}  // namespace flowex::gateway
