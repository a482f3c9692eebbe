#include "risk_service.hpp"

#include <fmt/format.h>

#include "flowex/common/json.hpp"
#include "flowex/common/money.hpp"
#include "flowex/service/internal_auth.hpp"
#include "flowex/service/log.hpp"
#include "flowex/service/trace_bridge.hpp"

namespace flowex::risk {

using common::Error;
using common::ErrorCode;

namespace {

constexpr storage::PgStatement kSelectInstrument{
    "risk_instrument",
    "SELECT symbol, tick_size_cents, reference_price_cents, last_price_cents, price_band_bps, "
    "max_order_quantity, max_order_notional_cents FROM instruments WHERE symbol = $1 AND active"};
constexpr storage::PgStatement kCountOpenOrders{
    "risk_open_orders",
    "SELECT count(*) FROM orders WHERE user_id = $1 "
    "AND status IN ('NEW', 'OPEN', 'PARTIALLY_FILLED')"};

}  // namespace

void RiskService::Register(http::Router& router) {
    router.Post("/validate", [this](http::RequestContext& ctx) { return Validate(ctx); });
}

http::awaitable<http::Response> RiskService::Validate(http::RequestContext& ctx) {
    telemetry::Span span = service::StartChild(tracer_, "validate_order", ctx.trace);
    const common::TraceContext inner = service::ToPlain(span.GetContext());
    auto fail = [&](const Error& e) {
        service::MarkError(span, e);
        return ctx.Error(e);
    };
    auto user = service::CallerUserId(ctx);
    if (!user) { co_return fail(user.error()); }
    auto body = ctx.JsonBody();
    if (!body) { co_return fail(body.error()); }
    common::JsonObjectReader r(*body);
    auto symbol = r.String("symbol");
    if (!symbol) { co_return fail(symbol.error()); }
    auto side_text = r.String("side");
    if (!side_text) { co_return fail(side_text.error()); }
    auto type_text = r.OptString("type");
    if (!type_text) { co_return fail(type_text.error()); }
    auto price = r.OptInt("price_cents", 1, common::kMaxCents);
    if (!price) { co_return fail(price.error()); }
    auto quantity = r.Int("quantity", 1, common::kMaxQuantity);
    if (!quantity) { co_return fail(quantity.error()); }
    // The caller's count of the user's resting orders and the price the band is centred on
    // (order-manager keeps both in memory); read from PostgreSQL when absent.
    auto open_given = r.OptInt("open_orders", 0, INT64_MAX);
    if (!open_given) { co_return fail(open_given.error()); }
    auto band_given = r.OptInt("band_reference_cents", 1, common::kMaxCents);
    if (!band_given) { co_return fail(band_given.error()); }
    auto side = exchange::ParseSide(*side_text);
    auto type = exchange::ParseOrderType(type_text->value_or("LIMIT"));
    if (!side || !type) {
        co_return fail(Error{ErrorCode::kValidation, "side must be BUY/SELL, type LIMIT/MARKET"});
    }
    span.SetAttribute("user_id", *user);
    span.SetAttribute("symbol", *symbol);
    span.SetAttribute("side", *side_text);
    span.SetAttribute("quantity", *quantity);

    // The instrument as read within instrument_ttl_, when the request brings what changes
    // with every order; else both reads in one round trip (the count only when not given).
    const bool given = open_given->has_value() && band_given->has_value();
    const auto now = std::chrono::steady_clock::now();
    exchange::Instrument instrument;
    std::int64_t open_orders = open_given->value_or(0);
    auto cached = given ? instruments_.find(*symbol) : instruments_.end();
    if (cached != instruments_.end() && now - cached->second.read_at < instrument_ttl_) {
        instrument = cached->second.instrument;
    } else {
        storage::PgBatch reads;
        reads.Add(kSelectInstrument, *symbol);
        if (!open_given->has_value()) { reads.Add(kCountOpenOrders, *user); }
        auto results = co_await pg_.Batch(inner, std::move(reads));
        if (!results) { co_return fail(results.error()); }
        const storage::PgRows& inst = (*results)[0];
        if (!open_given->has_value()) { open_orders = (*results)[1].front().Int64(0); }
        if (inst.empty()) {
            instruments_.erase(*symbol);
            co_return fail(
                Error{ErrorCode::kUnknownSymbol, "symbol " + *symbol + " is not listed"});
        }
        auto row = inst.front();
        instrument.symbol = row.String(0);
        instrument.tick_size_cents = row.Int64(1);
        instrument.reference_price_cents = row.Int64(2);
        instrument.last_price_cents = row.OptInt64(3);
        instrument.price_band_bps = row.Int64(4);
        instrument.max_order_quantity = row.Int64(5);
        instrument.max_order_notional_cents = row.Int64(6);
        if (instrument_ttl_.count() > 0) {
            instruments_.insert_or_assign(*symbol, CachedInstrument{instrument, now});
        }
    }
    if (band_given->has_value()) { instrument.last_price_cents = **band_given; }
    span.SetAttribute("open_orders", open_orders);

    exchange::RiskDecision d = exchange::Validate(
        instrument, exchange::RiskCheck{*side, *type, *price, *quantity}, open_orders, limits_);

    span.SetAttribute("result", d.approved ? "approved" : "rejected");
    if (!d.reasons.empty()) {
        std::vector<std::string_view> reasons(d.reasons.begin(), d.reasons.end());
        span.SetAttribute("reasons", std::span<const std::string_view>(reasons));
        service::LogInfo(inner, "Order for user {} rejected: {}", *user, fmt::join(d.reasons, ", "));
        // A business rejection marks the span that decided it (DESIGN §5).
        span.MarkError("risk_rejected", fmt::format("{}", fmt::join(d.reasons, ", ")));
    } else {
        service::LogInfo(inner, "Order for user {} approved: {} {} {}", *user, *side_text,
                         *quantity, instrument.symbol);
    }
    common::JsonWriter w;
    w.BeginObject().Field("approved", d.approved).Key("reasons").BeginArray();
    for (const auto& reason : d.reasons) { w.String(reason); }
    w.EndArray()
        .Field("effective_price_cents", d.effective_price_cents)
        .Field("symbol", instrument.symbol)
        .EndObject();
    co_return http::JsonResponse(200, w.Take());
}

}  // namespace flowex::risk
