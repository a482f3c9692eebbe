#include "gateway.hpp"

#include <algorithm>

#include "flowex/common/ids.hpp"
#include "flowex/common/json.hpp"
#include "flowex/common/money.hpp"
#include "flowex/exchange/order.hpp"
#include "flowex/service/trace_bridge.hpp"
#include "flowex/telemetry/metrics/metrics.hpp"

namespace flowex::gateway {

using common::Error;
using common::ErrorCode;
using http::Method;
using http::RequestContext;
using http::Response;

namespace {

constexpr std::string_view kCentsSuffix = "_cents";
constexpr std::int64_t kMaxDepositCents = 1'000'000'000;  // $10,000,000 per call

void WritePublic(common::JsonWriter& w, const common::JsonValue& v) {
    if (v.is_object()) {
        w.BeginObject();
        for (const auto& [key, value] : v.as_object()) {
            std::string_view k = key;
            if (k.size() > kCentsSuffix.size() && k.ends_with(kCentsSuffix)) {
                const std::string_view dollars = k.substr(0, k.size() - kCentsSuffix.size());
                if (auto cents = value.is_number() ? value.ToInt64() : std::nullopt) {
                    w.Key(dollars).Cents(*cents);
                    continue;
                }
                if (value.is_null()) {  // e.g. no last price yet: the public name, still null
                    w.Key(dollars).Null();
                    continue;
                }
            }
            w.Key(k);
            WritePublic(w, value);
        }
        w.EndObject();
    } else if (v.is_array()) {
        w.BeginArray();
        for (const auto& e : v.as_array()) { WritePublic(w, e); }
        w.EndArray();
    } else {
        w.Value(v);
    }
}

std::optional<std::string_view> BearerToken(const RequestContext& ctx) {
    auto auth = ctx.request.headers.Get("Authorization");
    if (!auth.has_value()) { return std::nullopt; }
    constexpr std::string_view kBearer = "Bearer ";
    if (auth->size() <= kBearer.size() ||
        !http::EqualsIgnoreCase(auth->substr(0, kBearer.size()), kBearer)) {
        return std::nullopt;
    }
    return auth->substr(kBearer.size());
}

Response Converted(const http::ClientResponse& upstream) {
    if (upstream.status >= 400 || upstream.body.empty()) { return service::PassThrough(upstream); }
    Response r = service::PassThrough(upstream);
    r.body = PublicJson(upstream.body);
    return r;
}

double Dollars(std::int64_t cents) { return static_cast<double>(cents) / 100.0; }

}  // namespace

std::string PublicJson(std::string_view internal_json) {
    auto doc = common::ParseJson(internal_json);
    if (!doc) { return std::string(internal_json); }
    common::JsonWriter w;
    w.Reserve(internal_json.size());
    WritePublic(w, *doc);
    return w.Take();
}

http::Middleware ShedLoad(std::int64_t max_in_flight) {
    auto& registry = telemetry::metrics::Registry::Default();
    auto& in_flight = registry
                          .AddGauge("gateway_requests_in_flight",
                                    "Public requests inside the exchange now (health and "
                                    "metrics excluded)")
                          .Get();
    auto& shed = registry
                     .AddCounter("gateway_requests_shed_total",
                                 "Public requests refused with 503 because the exchange "
                                 "already held the maximum in flight")
                     .Get();
    return [&in_flight, &shed, max_in_flight](RequestContext& ctx,
                                              http::Next next) -> http::awaitable<Response> {
        const std::string_view path = ctx.request.Path();
        if (path == "/health" || path == "/metrics") { co_return co_await next(); }
        if (max_in_flight > 0 && in_flight.Value() >= static_cast<double>(max_in_flight)) {
            shed.Inc();
            Response r = ctx.Error(ErrorCode::kUpstreamUnavailable,
                                   "the exchange is at capacity; retry in a second");
            r.headers.Set("Retry-After", "1");
            co_return r;
        }
        in_flight.Inc();
        struct Leave {
            telemetry::metrics::Gauge& gauge;
            ~Leave() { gauge.Dec(); }
        } leave{in_flight};
        co_return co_await next();
    };
}

bool RateLimiter::Allow(std::int64_t key) {
    const std::int64_t now = clock_.UnixNanos();
    std::lock_guard lock(mu_);
    auto [it, inserted] = buckets_.try_emplace(key, Bucket{burst_, now});
    Bucket& b = it->second;
    if (!inserted) {
        double elapsed = static_cast<double>(now - b.last_nanos) / 1e9;
        b.tokens = std::min(burst_, b.tokens + std::max(0.0, elapsed) * rate_);
        b.last_nanos = now;
    }
    if (b.tokens < 1.0) { return false; }
    b.tokens -= 1.0;
    return true;
}

Gateway::Gateway(Upstreams upstreams, telemetry::Tracer tracer, GatewayOptions options,
                 const common::Clock& clock)
    : up_(std::move(upstreams)),
      tracer_(tracer),
      options_(options),
      limiter_(options.user_rate_per_second, options.user_rate_per_second * 2, clock) {}

void Gateway::Register(http::Router& router) {
    auto bind = [this](auto method) {
        return [this, method](RequestContext& ctx) { return (this->*method)(ctx); };
    };
    router.Post("/auth/register", bind(&Gateway::RegisterUser));
    router.Post("/auth/login", bind(&Gateway::Login));
    router.Post("/auth/logout", bind(&Gateway::Logout));
    router.Get("/v1/me", bind(&Gateway::Me));
    router.Post("/v1/order", bind(&Gateway::PlaceOrder));
    router.Delete("/v1/order/{order_id}", bind(&Gateway::CancelOrder));
    router.Get("/v1/orders", [this](RequestContext& ctx) {
        std::string target = "/orders";
        if (!ctx.request.QueryString().empty()) {
            target += "?" + std::string(ctx.request.QueryString());
        }
        return Forward(ctx, *up_.orders, Method::kGet, std::move(target), {});
    });
    router.Get("/v1/orders/{order_id}", [this](RequestContext& ctx) {
        return Forward(ctx, *up_.orders, Method::kGet,
                       "/orders/" + std::string(ctx.Param("order_id")), {});
    });
    router.Get("/v1/orderbook/{symbol}", [this](RequestContext& ctx) -> http::awaitable<Response> {
        std::string target = "/orderbook/" + std::string(ctx.Param("symbol"));
        if (!ctx.request.QueryString().empty()) {
            target += "?" + std::string(ctx.request.QueryString());
        }
        auto r = co_await up_.orders->Call(Method::kGet, std::move(target), {}, ctx.trace);
        if (!r) { co_return ctx.Error(r.error()); }
        co_return Converted(*r);
    });
    router.Get("/v1/symbols", [this](RequestContext& ctx) -> http::awaitable<Response> {
        auto r = co_await up_.orders->Call(Method::kGet, "/symbols", {}, ctx.trace);
        if (!r) { co_return ctx.Error(r.error()); }
        co_return Converted(*r);
    });
    router.Post("/wallet/add-funds", bind(&Gateway::AddFunds));
    router.Get("/wallet/balance", [this](RequestContext& ctx) {
        return Forward(ctx, *up_.wallet, Method::kGet, "/balance", {});
    });
    router.Get("/wallet/transactions", [this](RequestContext& ctx) {
        std::string target = "/transactions";
        if (!ctx.request.QueryString().empty()) {
            target += "?" + std::string(ctx.request.QueryString());
        }
        return Forward(ctx, *up_.wallet, Method::kGet, std::move(target), {});
    });
    router.Get("/reports/positions", [this](RequestContext& ctx) {
        return Forward(ctx, *up_.reporting, Method::kGet, "/positions", {});
    });
    router.Get("/reports/trades", [this](RequestContext& ctx) {
        std::string target = "/trades";
        if (!ctx.request.QueryString().empty()) {
            target += "?" + std::string(ctx.request.QueryString());
        }
        return Forward(ctx, *up_.reporting, Method::kGet, std::move(target), {});
    });
    router.Get("/health", bind(&Gateway::Health));
}

http::awaitable<common::Result<Gateway::Caller>> Gateway::Authenticate(
    RequestContext& ctx, const common::TraceContext& parent) {
    auto token = BearerToken(ctx);
    if (!token.has_value()) {
        co_return Error{ErrorCode::kUnauthorized, "missing bearer token (Authorization: Bearer …)"};
    }
    http::Headers headers;
    headers.Set("Authorization", "Bearer " + std::string(*token));
    auto r = co_await up_.users->Call(Method::kGet, "/me", {}, parent, std::nullopt,
                                      std::move(headers));
    if (!r) { co_return std::move(r).error(); }
    if (r->status != 200) { co_return service::ErrorFromResponse(*r); }
    auto doc = common::ParseJson(r->body);
    if (!doc) { co_return Error{ErrorCode::kInternal, "user-service answered malformed JSON"}; }
    common::JsonObjectReader reader(*doc);
    auto id = reader.Int("user_id", 1, INT64_MAX);
    if (!id) { co_return Error{ErrorCode::kInternal, "user-service answered without user_id"}; }
    Caller caller;
    caller.user_id = *id;
    caller.username = reader.OptString("username").value_or(std::nullopt).value_or("");
    caller.tier = reader.OptString("tier").value_or(std::nullopt).value_or("standard");
    co_return caller;
}

http::awaitable<Response> Gateway::Forward(RequestContext& ctx, service::Upstream& upstream,
                                           Method method, std::string target, std::string body) {
    auto caller = co_await Authenticate(ctx, ctx.trace);
    if (!caller) { co_return ctx.Error(caller.error()); }
    if (!limiter_.Allow(caller->user_id)) {
        co_return ctx.Error(ErrorCode::kRateLimited, "too many requests; slow down");
    }
    auto r = co_await upstream.Call(method, std::move(target), std::move(body), ctx.trace,
                                    caller->user_id);
    if (!r) { co_return ctx.Error(r.error()); }
    co_return Converted(*r);
}

http::awaitable<Response> Gateway::RegisterUser(RequestContext& ctx) {
    auto r = co_await up_.users->Call(Method::kPost, "/register", ctx.request.body, ctx.trace);
    if (!r) { co_return ctx.Error(r.error()); }
    co_return service::PassThrough(*r);
}

http::awaitable<Response> Gateway::Login(RequestContext& ctx) {
    http::Headers headers;
    headers.Set("X-Forwarded-For", ctx.peer_address);
    auto r = co_await up_.users->Call(Method::kPost, "/login", ctx.request.body, ctx.trace,
                                      std::nullopt, std::move(headers));
    if (!r) { co_return ctx.Error(r.error()); }
    co_return service::PassThrough(*r);
}

http::awaitable<Response> Gateway::Logout(RequestContext& ctx) {
    auto token = BearerToken(ctx);
    if (!token.has_value()) {
        co_return ctx.Error(ErrorCode::kUnauthorized, "missing bearer token");
    }
    http::Headers headers;
    headers.Set("Authorization", "Bearer " + std::string(*token));
    auto r = co_await up_.users->Call(Method::kPost, "/logout", {}, ctx.trace, std::nullopt,
                                      std::move(headers));
    if (!r) { co_return ctx.Error(r.error()); }
    co_return service::PassThrough(*r);
}

http::awaitable<Response> Gateway::Me(RequestContext& ctx) {
    auto caller = co_await Authenticate(ctx, ctx.trace);
    if (!caller) { co_return ctx.Error(caller.error()); }
    common::JsonWriter w;
    w.BeginObject()
        .Field("user_id", caller->user_id)
        .Field("username", caller->username)
        .Field("tier", caller->tier)
        .EndObject();
    co_return http::JsonResponse(200, w.Take());
}

http::awaitable<Response> Gateway::PlaceOrder(RequestContext& ctx) {
    telemetry::Span span = service::StartChild(tracer_, "place_order", ctx.trace);
    const common::TraceContext inner = service::ToPlain(span.GetContext());
    auto fail = [&](const Error& e) {
        service::MarkError(span, e);
        return ctx.Error(e);
    };

    auto caller = co_await Authenticate(ctx, inner);
    if (!caller) { co_return fail(caller.error()); }
    span.SetAttribute("user_id", caller->user_id);
    span.SetAttribute("user.tier", caller->tier);
    if (!limiter_.Allow(caller->user_id)) {
        co_return fail(Error{ErrorCode::kRateLimited, "too many requests; slow down"});
    }

    auto body = ctx.JsonBody();
    if (!body) { co_return fail(body.error()); }
    auto order = exchange::ParseNewOrderRequest(*body);
    if (!order) { co_return fail(order.error()); }

    span.SetAttribute("symbol", order->symbol);
    span.SetAttribute("side", exchange::ToString(order->side));
    span.SetAttribute("quantity", order->quantity);
    span.SetAttribute("order.type", exchange::ToString(order->type));
    if (order->price_cents.has_value()) {
        span.SetAttribute("price", Dollars(*order->price_cents));
        span.SetAttribute("order.value", Dollars(*order->price_cents * order->quantity));
    }

    common::JsonWriter w;
    w.BeginObject()
        .Field("symbol", order->symbol)
        .Field("side", exchange::ToString(order->side))
        .Field("type", exchange::ToString(order->type))
        .Field("time_in_force", exchange::ToString(order->time_in_force))
        .Field("quantity", order->quantity);
    if (order->price_cents.has_value()) { w.Field("price_cents", *order->price_cents); }
    if (order->client_order_id.has_value()) {
        w.Field("client_order_id", *order->client_order_id);
    }
    w.EndObject();

    auto r = co_await up_.orders->Call(Method::kPost, "/order", w.Take(), inner, caller->user_id);
    if (!r) { co_return fail(r.error()); }
    if (r->status >= 400) {
        service::MarkError(span, service::ErrorFromResponse(*r));
        co_return service::PassThrough(*r);
    }
    if (auto doc = common::ParseJson(r->body); doc) {
        if (const auto* id = doc->Find("order_id"); id != nullptr && id->is_string()) {
            span.SetAttribute("order_id", id->as_string());
        }
        if (const auto* st = doc->Find("status"); st != nullptr && st->is_string()) {
            span.SetAttribute("order.status", st->as_string());
        }
    }
    co_return Converted(*r);
}

http::awaitable<Response> Gateway::CancelOrder(RequestContext& ctx) {
    std::string id(ctx.Param("order_id"));
    if (!common::IsUuid(id)) {
        co_return ctx.Error(ErrorCode::kNotFound, "no such order");
    }
    std::string target = "/order/" + id;
    co_return co_await Forward(ctx, *up_.orders, Method::kDelete, std::move(target), {});
}

http::awaitable<Response> Gateway::AddFunds(RequestContext& ctx) {
    telemetry::Span span = service::StartChild(tracer_, "add_funds", ctx.trace);
    const common::TraceContext inner = service::ToPlain(span.GetContext());
    auto fail = [&](const Error& e) {
        service::MarkError(span, e);
        return ctx.Error(e);
    };
    auto caller = co_await Authenticate(ctx, inner);
    if (!caller) { co_return fail(caller.error()); }
    span.SetAttribute("user_id", caller->user_id);
    if (!limiter_.Allow(caller->user_id)) {
        co_return fail(Error{ErrorCode::kRateLimited, "too many requests; slow down"});
    }
    auto body = ctx.JsonBody();
    if (!body) { co_return fail(body.error()); }
    auto amount = common::JsonObjectReader(*body).Cents("amount", 1, kMaxDepositCents);
    if (!amount) { co_return fail(amount.error()); }
    span.SetAttribute("amount", Dollars(*amount));

    // Idempotency-Key: a retry with the same key and amount is applied once; the same key
    // with another amount is 409. A key that cannot be honoured is refused rather than
    // ignored, since ignoring it would apply a retry twice.
    std::string request_id;
    if (auto key = ctx.request.headers.Get("Idempotency-Key"); key.has_value()) {
        if (key->empty() || key->size() > 64) {
            co_return fail(Error{ErrorCode::kValidation, "Idempotency-Key must be 1 to 64 characters"});
        }
        request_id = "user-" + std::to_string(caller->user_id) + ":" + std::string(*key);
    } else {
        request_id = common::DefaultIdGenerator().NewUuid();
    }

    // The brief's flow: look at the existing wallet, then update it.
    auto balance = co_await up_.wallet->Call(Method::kGet, "/balance", {}, inner, caller->user_id);
    if (!balance) { co_return fail(balance.error()); }
    if (balance->status >= 400) {
        service::MarkError(span, service::ErrorFromResponse(*balance));
        co_return service::PassThrough(*balance);
    }
    common::JsonWriter w;
    w.BeginObject()
        .Field("amount_cents", *amount)
        .Field("request_id", request_id)
        .EndObject();
    auto r = co_await up_.wallet->Call(Method::kPost, "/update-balance", w.Take(), inner,
                                       caller->user_id);
    if (!r) { co_return fail(r.error()); }
    if (r->status >= 400) {
        service::MarkError(span, service::ErrorFromResponse(*r));
        co_return service::PassThrough(*r);
    }
    span.AddEvent("funds_added", {{"amount", Dollars(*amount)}});
    co_return Converted(*r);
}

http::awaitable<Response> Gateway::Health(RequestContext& ctx) {
    struct Probe {
        const char* name;
        service::Upstream* upstream;
    };
    const Probe probes[] = {{"user-service", up_.users.get()},
                            {"order-manager", up_.orders.get()},
                            {"risk-manager", up_.risk.get()},
                            {"wallet-service", up_.wallet.get()},
                            {"reporting-service", up_.reporting.get()}};
    bool all_ok = true;
    std::string postgres = "unknown";
    std::string redis = "unknown";
    common::JsonWriter w;
    w.BeginObject().Key("services").BeginObject();
    w.Field("client-gateway", "ok");
    for (const auto& p : probes) {
        if (p.upstream == nullptr) { continue; }
        auto r = co_await p.upstream->Call(Method::kGet, "/health", {}, ctx.trace);
        // A service answers 200 while it runs; its "status" says whether it can serve
        // ("degraded": its PostgreSQL or Redis is down, order-manager's books not loaded).
        std::string state = "down";
        if (r.ok() && r->status == 200) {
            auto doc = common::ParseJson(r->body);
            const auto* status = doc ? doc->Find("status") : nullptr;
            state = status != nullptr && status->is_string() ? status->as_string() : "ok";
            if (doc && std::string_view(p.name) == "user-service") {
                if (const auto* pg = doc->Find("postgres"); pg && pg->is_string()) {
                    postgres = pg->as_string();
                }
                if (const auto* rd = doc->Find("redis"); rd && rd->is_string()) {
                    redis = rd->as_string();
                }
            }
        }
        all_ok = all_ok && state == "ok";
        w.Field(p.name, state);
    }
    w.EndObject();
    all_ok = all_ok && postgres == "ok" && redis == "ok";
    w.Field("postgres", postgres).Field("redis", redis);
    w.Field("status", all_ok ? "ok" : "degraded");
    w.EndObject();
    co_return http::JsonResponse(200, w.Take());
}

}  // namespace flowex::gateway
