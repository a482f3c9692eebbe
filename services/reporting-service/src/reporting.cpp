#include "reporting.hpp"

#include "flowex/common/json.hpp"
#include "flowex/common/money.hpp"
#include "flowex/service/internal_auth.hpp"
#include "flowex/service/log.hpp"
#include "flowex/service/trace_bridge.hpp"

namespace flowex::reporting {

using common::ErrorCode;
using http::RequestContext;
using http::Response;

namespace {

constexpr storage::PgStatement kPositions{
    "report_positions",
    "SELECT h.symbol, h.quantity, h.cost_basis_cents, "
    "COALESCE(i.last_price_cents, i.reference_price_cents) AS last_price_cents "
    "FROM holdings h JOIN instruments i ON i.symbol = h.symbol "
    "WHERE h.user_id = $1 AND h.quantity > 0 ORDER BY h.symbol",
    "holdings"};
constexpr storage::PgStatement kTrades{
    "report_trades",
    "SELECT t.trade_id, o.order_id, o.client_order_id, o.side, t.symbol, t.price_cents, "
    "t.quantity, to_char(t.executed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
    "FROM trades t JOIN orders o "
    "ON o.order_id = CASE WHEN t.buyer_id = $1 THEN t.buy_order_id ELSE t.sell_order_id END "
    "WHERE t.buyer_id = $1 OR t.seller_id = $1 ORDER BY t.seq DESC LIMIT $2",
    "trades"};
constexpr std::int64_t kDefaultTradesLimit = 50;

/// Rounds num/den to the nearest integer, halves away from zero (den > 0).
std::int64_t RoundDiv(std::int64_t num, std::int64_t den) {
    return num >= 0 ? (num + den / 2) / den : -((-num + den / 2) / den);
}

}  // namespace

void ReportingService::Register(http::Router& router) {
    router.Get("/positions", [this](RequestContext& ctx) { return Positions(ctx); });
    router.Get("/trades", [this](RequestContext& ctx) { return Trades(ctx); });
}

std::string ReportingService::Key(std::string_view kind, std::int64_t user_id) const {
    return key_prefix_ + "report:" + std::to_string(generation_) + ":" + std::string(kind) + ":" +
           std::to_string(user_id);
}

http::awaitable<Response> ReportingService::Positions(RequestContext& ctx) {
    telemetry::Span span = service::StartChild(tracer_, "get_positions", ctx.trace);
    const common::TraceContext inner = service::ToPlain(span.GetContext());
    auto user = service::CallerUserId(ctx);
    if (!user) { co_return ctx.Error(user.error()); }
    span.SetAttribute("user_id", *user);
    const std::string key = Key("positions", *user);
    if (auto hit = co_await redis_.Get(inner, key); hit.ok() && hit->has_value()) {
        span.SetAttribute("cache", "hit");
        co_return http::JsonResponse(200, std::move(**hit));
    }
    span.SetAttribute("cache", "miss");
    auto rows = co_await pg_.Query(inner, kPositions, *user);
    if (!rows) {
        service::MarkError(span, rows.error());
        co_return ctx.Error(rows.error());
    }
    common::JsonWriter w;
    w.BeginArray();
    for (auto row : *rows) {
        const std::int64_t qty = row.Int64(1);
        const std::int64_t cost = row.Int64(2);
        const std::int64_t last = row.Int64(3);
        const std::int64_t value = last * qty;
        w.BeginObject()
            .Field("symbol", row.Text(0))
            .Field("quantity", qty)
            .Field("avg_cost_cents", RoundDiv(cost, qty))
            .Field("last_price_cents", last)
            .Field("market_value_cents", value)
            .Field("unrealized_pnl_cents", value - cost)
            .EndObject();
    }
    w.EndArray();
    span.SetAttribute("positions", static_cast<std::int64_t>(rows->size()));
    std::string body = w.Take();
    {
        telemetry::Span cache = service::StartChild(tracer_, "cache_result", inner);
        cache.SetAttribute("cache.key", "report:positions");
        auto st = co_await redis_.Set(service::ToPlain(cache.GetContext()), key, body, cache_ttl_);
        if (!st) { cache.SetAttribute("cache.stored", false); }
    }
    co_return http::JsonResponse(200, std::move(body));
}

http::awaitable<Response> ReportingService::Trades(RequestContext& ctx) {
    auto user = service::CallerUserId(ctx);
    if (!user) { co_return ctx.Error(user.error()); }
    std::int64_t limit = kDefaultTradesLimit;
    if (auto l = ctx.Query("limit"); l.has_value()) {
        auto n = common::ParseScaled(*l, 0, 500);
        if (!n || *n < 1) {
            co_return ctx.Error(ErrorCode::kValidation, "limit must be between 1 and 500");
        }
        limit = *n;
    }
    // Only the default page is cached (one key per user keeps invalidation exact).
    const bool cacheable = limit == kDefaultTradesLimit;
    const std::string key = Key("trades", *user);
    if (cacheable) {
        if (auto hit = co_await redis_.Get(ctx.trace, key); hit.ok() && hit->has_value()) {
            co_return http::JsonResponse(200, std::move(**hit));
        }
    }
    auto rows = co_await pg_.Query(ctx.trace, kTrades, *user, limit);
    if (!rows) { co_return ctx.Error(rows.error()); }
    common::JsonWriter w;
    w.BeginArray();
    for (auto row : *rows) {
        w.BeginObject()
            .Field("trade_id", row.Text(0))
            .Field("order_id", row.Text(1));
        if (!row.IsNull(2)) { w.Field("client_order_id", row.Text(2)); }
        w.Field("side", row.Text(3))
            .Field("symbol", row.Text(4))
            .Field("price_cents", row.Int64(5))
            .Field("quantity", row.Int64(6))
            .Field("executed_at", row.Text(7))
            .EndObject();
    }
    w.EndArray();
    std::string body = w.Take();
    if (cacheable) { (void)co_await redis_.Set(ctx.trace, key, body, cache_ttl_); }
    co_return http::JsonResponse(200, std::move(body));
}

http::awaitable<void> ReportingService::OnTradeEvent(std::string message) {
    auto doc = common::ParseJson(message);
    if (!doc) { co_return; }
    std::vector<std::string> keys{"DEL"};
    for (const char* party : {"buyer_id", "seller_id"}) {
        if (const auto* v = doc->Find(party); v != nullptr) {
            if (auto id = v->ToInt64()) {
                keys.push_back(Key("positions", *id));
                keys.push_back(Key("trades", *id));
            }
        }
    }
    if (keys.size() == 1) { co_return; }
    auto removed = co_await redis_.CommandWith(common::TraceContext{}, std::move(keys));
    if (!removed) {
        // Could not drop the entries: drop everything rather than serve stale positions.
        InvalidateAll();
    }
}

}  // namespace flowex::reporting
