#include "order_manager.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <optional>

#include "flowex/common/clock.hpp"
#include "flowex/common/json.hpp"
#include "flowex/common/money.hpp"
#include "flowex/service/internal_auth.hpp"
#include "flowex/service/log.hpp"
#include "flowex/service/trace_bridge.hpp"
#include "flowex/storage/pg_array.hpp"
#include "sweeper_statements.hpp"

namespace flowex::orders {

using common::Error;
using common::ErrorCode;
using exchange::OrderStatus;
using exchange::Side;
using http::Method;
using http::RequestContext;
using http::Response;
using storage::PgStatement;

namespace {

#define FLOWEX_RFC3339(col) "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
#define FLOWEX_ORDER_COLUMNS                                                                   \
    "order_id, seq, user_id, client_order_id, symbol, side, type, time_in_force, price_cents, " \
    "quantity, filled_quantity, filled_notional_cents, status, reject_reason, " FLOWEX_RFC3339( \
        "created_at")
#define FLOWEX_TRADE_COLUMNS                                                                  \
    "trade_id, symbol, price_cents, quantity, buy_order_id, sell_order_id, buyer_id, "        \
    "seller_id, aggressor_side, " FLOWEX_RFC3339("executed_at") ", settled_at IS NOT NULL"

constexpr PgStatement kSelectInstruments{
    "om_instruments",
    "SELECT symbol, name, tick_size_cents, reference_price_cents, last_price_cents, "
    "price_band_bps, max_order_quantity, max_order_notional_cents FROM instruments "
    "WHERE active ORDER BY symbol"};
constexpr PgStatement kSelectOrder{
    "om_order", "SELECT " FLOWEX_ORDER_COLUMNS " FROM orders WHERE order_id = $1"};
constexpr PgStatement kSelectOrderByClientId{
    "om_order_by_client_id",
    "SELECT " FLOWEX_ORDER_COLUMNS " FROM orders WHERE user_id = $1 AND client_order_id = $2"};
constexpr PgStatement kSelectOrderTrades{
    "om_order_trades",
    "SELECT " FLOWEX_TRADE_COLUMNS
    " FROM trades WHERE buy_order_id = $1 OR sell_order_id = $1 ORDER BY seq"};
constexpr PgStatement kSelectOpenOrders{
    "om_open_orders",
    "SELECT " FLOWEX_ORDER_COLUMNS
    " FROM orders WHERE symbol = $1 AND status IN ('NEW', 'OPEN', 'PARTIALLY_FILLED') "
    "ORDER BY seq"};
// A user's orders, newest first. Statements are planned once, generically (libs/storage), so
// the open ones name their statuses: the plan then walks the partial index orders_user_open
// (user_id, seq) and reads only the user's open orders. With the statuses a parameter, as
// kListOrders has them, a plan cannot know they are that index's: it walked orders backwards
// by seq through every user's orders until it had the limit (22,000 buffers and 18 ms at 40,000
// orders, db/migrations/0010). kListOrders walks the user's orders (orders_user_seq).
constexpr PgStatement kListOpenOrders{
    "om_list_open_orders",
    "SELECT " FLOWEX_ORDER_COLUMNS
    " FROM orders WHERE user_id = $1 AND status IN ('NEW', 'OPEN', 'PARTIALLY_FILLED') "
    "AND ($2 = '' OR symbol = $2) ORDER BY seq DESC LIMIT $3"};
constexpr PgStatement kListOrders{
    "om_list_orders",
    "SELECT " FLOWEX_ORDER_COLUMNS
    " FROM orders WHERE user_id = $1 AND status = ANY ($2::text[]) "
    "AND ($3 = '' OR symbol = $3) ORDER BY seq DESC LIMIT $4"};
// A rejected order (no reservation): recorded only when its user and symbol exist (the status
// is NULL otherwise, refused by NOT NULL).
constexpr PgStatement kInsertOrder{
    "om_insert_order",
    "INSERT INTO orders (order_id, user_id, client_order_id, symbol, side, type, time_in_force, "
    "price_cents, quantity, status, reject_reason) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, (SELECT $10::text FROM users u, instruments i "
    "WHERE u.user_id = $2 AND i.symbol = $4), $11) RETURNING seq, " FLOWEX_RFC3339("created_at")};
constexpr PgStatement kInsertTrade{
    "om_insert_trade",
    "INSERT INTO trades (trade_id, symbol, price_cents, quantity, buy_order_id, sell_order_id, "
    "buyer_id, seller_id, aggressor_side, executed_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"};
// Sequence numbers for new orders, taken ahead in blocks (the book's time priority is the
// order of seq within a symbol, and they are drawn in increasing order under its mutex).
constexpr PgStatement kNextSeqs{
    "om_next_seqs",
    "SELECT nextval(pg_get_serial_sequence('orders', 'seq')) FROM generate_series(1, $1)",
    "orders"};
// The durable insert of an accepted, already matched order, only while its reservation still
// holds: the sweeper releases an order-less reservation after the orphan grace, and an order
// must never exist without the cash or shares it needs (both run under the symbol's mutex).
// Without the reservation the status is NULL, which fails the NOT NULL constraint and so
// the whole batch: nothing of the order is written. The reservation must be of the order's
// user, symbol and side, which is also what makes those exist (orders have no foreign keys
// to users and instruments: db/migrations/0006). $6 is cast: the column's type is a domain
// (db/migrations/0009), the comparison's text, and a parameter must have one type.
constexpr PgStatement kInsertMatchedOrder{
    "om_insert_matched_order",
    "INSERT INTO orders (order_id, seq, user_id, client_order_id, symbol, side, type, "
    "time_in_force, price_cents, quantity, filled_quantity, filled_notional_cents, status) "
    "VALUES ($1, $2, $3, $4, $5, $6::text, $7, $8, $9, $10, $11, $12, (SELECT $13::text FROM "
    "reservations WHERE order_id = $1::uuid AND NOT released AND user_id = $3 AND symbol = $5 "
    "AND side = $6)) RETURNING " FLOWEX_RFC3339("created_at")};
constexpr PgStatement kReservationReleased{
    "om_reservation_released", "SELECT released FROM reservations WHERE order_id = $1"};
constexpr PgStatement kFillMaker{
    "om_fill_maker",
    "UPDATE orders SET filled_quantity = filled_quantity + $2, "
    "filled_notional_cents = filled_notional_cents + $3, "
    "status = CASE WHEN filled_quantity + $2 = quantity THEN 'FILLED' ELSE 'PARTIALLY_FILLED' END, "
    "updated_at = now() WHERE order_id = $1"};
constexpr PgStatement kSetTakerOutcome{
    "om_taker_outcome",
    "UPDATE orders SET filled_quantity = $2, filled_notional_cents = $3, status = $4, "
    "updated_at = now() WHERE order_id = $1"};
constexpr PgStatement kCancelOrder{
    "om_cancel_order",
    "UPDATE orders SET status = 'CANCELLED', updated_at = now() WHERE order_id = $1 "
    "AND status IN ('NEW', 'OPEN', 'PARTIALLY_FILLED') RETURNING " FLOWEX_ORDER_COLUMNS};
constexpr PgStatement kSetLastPrice{
    "om_last_price", "UPDATE instruments SET last_price_cents = $2 WHERE symbol = $1"};
constexpr PgStatement kInsertOutbox{
    "om_outbox_insert", "INSERT INTO outbox (channel, payload) VALUES ($1, $2) RETURNING event_id"};
// The outbox is a queue: an event published is deleted (a delete writes no index entry and
// no new row version; marking it published rewrote the row, payload and all, with a new entry
// in every index: db/migrations/0007).
constexpr PgStatement kMarkPublished{
    "om_outbox_published", "DELETE FROM outbox WHERE event_id = ANY ($1::bigint[])", "outbox"};
// Events older than $1 seconds: younger ones are being published, and deleted, by the request
// that made them.
constexpr PgStatement kSelectUnpublished{
    "om_outbox_pending",
    "SELECT event_id, channel, payload FROM outbox "
    "WHERE created_at < now() - make_interval(secs => $1) ORDER BY event_id LIMIT 500"};
constexpr PgStatement kMarkSettled{
    "om_trades_settled",
    "UPDATE trades SET settled_at = now() WHERE trade_id = ANY ($1::uuid[]) AND settled_at IS NULL"};
// Trades older than $2 seconds: younger ones are being settled by the request that made them.
constexpr PgStatement kSelectUnsettled{
    "om_unsettled",
    "SELECT " FLOWEX_TRADE_COLUMNS " FROM trades WHERE symbol = $1 AND settled_at IS NULL "
    "AND executed_at < now() - make_interval(secs => $2) ORDER BY seq"};

#undef FLOWEX_TRADE_COLUMNS
#undef FLOWEX_ORDER_COLUMNS
#undef FLOWEX_RFC3339

OrderRecord ReadOrder(const storage::PgRow& row) {
    OrderRecord o;
    o.order_id = row.String(0);
    o.seq = row.Int64(1);
    o.user_id = row.Int64(2);
    o.client_order_id = row.OptString(3);
    o.symbol = row.String(4);
    o.side = exchange::ParseSide(row.Text(5)).value_or(Side::kBuy);
    o.type = exchange::ParseOrderType(row.Text(6)).value_or(exchange::OrderType::kLimit);
    o.time_in_force =
        exchange::ParseTimeInForce(row.Text(7)).value_or(exchange::TimeInForce::kGtc);
    o.price_cents = row.OptInt64(8);
    o.quantity = row.Int64(9);
    o.filled_quantity = row.Int64(10);
    o.filled_notional_cents = row.Int64(11);
    o.status = exchange::ParseOrderStatus(row.Text(12)).value_or(OrderStatus::kNew);
    o.reject_reason = row.OptString(13);
    o.created_at = row.String(14);
    return o;
}

TradeRecord ReadTrade(const storage::PgRow& row) {
    TradeRecord t;
    t.trade_id = row.String(0);
    t.symbol = row.String(1);
    t.price_cents = row.Int64(2);
    t.quantity = row.Int64(3);
    t.buy_order_id = row.String(4);
    t.sell_order_id = row.String(5);
    t.buyer_id = row.Int64(6);
    t.seller_id = row.Int64(7);
    t.aggressor_side = exchange::ParseSide(row.Text(8)).value_or(Side::kBuy);
    t.executed_at = row.String(9);
    t.settled = row.Bool(10);
    return t;
}

matching::Side ToBook(Side s) { return s == Side::kBuy ? matching::Side::kBuy : matching::Side::kSell; }

std::string TradeEvent(const TradeRecord& t) {
    common::JsonWriter w;
    w.BeginObject()
        .Field("type", "trade")
        .Field("trade_id", t.trade_id)
        .Field("symbol", t.symbol)
        .Field("price_cents", t.price_cents)
        .Field("quantity", t.quantity)
        .Field("buy_order_id", t.buy_order_id)
        .Field("sell_order_id", t.sell_order_id)
        .Field("buyer_id", t.buyer_id)
        .Field("seller_id", t.seller_id)
        .Field("executed_at", t.executed_at)
        .EndObject();
    return w.Take();
}

std::string OrderEvent(const OrderRecord& o) {
    common::JsonWriter w;
    w.BeginObject()
        .Field("type", "order")
        .Field("order_id", o.order_id)
        .Field("user_id", o.user_id)
        .Field("symbol", o.symbol)
        .Field("side", exchange::ToString(o.side))
        .Field("status", exchange::ToString(o.status))
        .Field("filled_quantity", o.filled_quantity)
        .EndObject();
    return w.Take();
}

/// Rounds num/den half away from zero (den > 0).
std::int64_t RoundDiv(std::int64_t num, std::int64_t den) {
    return num >= 0 ? (num + den / 2) / den : -((-num + den / 2) / den);
}

http::awaitable<void> SleepFor(std::chrono::milliseconds d) {
    boost::asio::steady_timer t(co_await boost::asio::this_coro::executor, d);
    boost::system::error_code ec;
    co_await t.async_wait(boost::asio::redirect_error(boost::asio::use_awaitable, ec));
}

Error NotReady() {
    return Error{ErrorCode::kUpstreamUnavailable, "order-manager is recovering; retry shortly"};
}

}  // namespace

OrderManager::OrderManager(storage::PgPool& pg, storage::PgPool& relaxed_pg,
                           storage::RedisClient& redis, telemetry::Tracer tracer,
                           std::unique_ptr<service::Upstream> risk,
                           std::unique_ptr<service::Upstream> wallet, OrderManagerOptions options,
                           common::IdGenerator& ids)
    : pg_(pg),
      relaxed_pg_(relaxed_pg),
      redis_(redis),
      tracer_(tracer),
      risk_(std::move(risk)),
      wallet_(std::move(wallet)),
      options_(options),
      ids_(ids),
      orders_per_commit_(telemetry::metrics::Registry::Default()
                             .AddHistogram("order_manager_orders_per_commit",
                                           "Orders matched and recorded in one PostgreSQL commit "
                                           "(group commit: those that waited for their symbol)",
                                           {}, {1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 64})
                             .Get()),
      orders_waiting_(telemetry::metrics::Registry::Default()
                          .AddGauge("order_manager_orders_waiting",
                                    "Orders waiting for their symbol to be matched and recorded")
                          .Get()),
      group_commits_failed_(
          telemetry::metrics::Registry::Default()
              .AddCounter("order_manager_group_commits_failed_total",
                          "Group commits that failed as a whole (then each order was recorded "
                          "alone)")
              .Get()) {}

void OrderManager::Register(http::Router& router) {
    router.Post("/order", [this](RequestContext& ctx) { return PlaceOrder(ctx); });
    router.Delete("/order/{order_id}", [this](RequestContext& ctx) { return CancelOrder(ctx); });
    router.Get("/orders", [this](RequestContext& ctx) { return ListOrders(ctx); });
    router.Get("/orders/{order_id}", [this](RequestContext& ctx) { return GetOrder(ctx); });
    router.Get("/orderbook/{symbol}", [this](RequestContext& ctx) { return OrderBook(ctx); });
    router.Get("/symbols", [this](RequestContext& ctx) { return Symbols(ctx); });
}

OrderManager::SymbolState* OrderManager::FindSymbol(std::string_view symbol) {
    auto it = symbols_.find(symbol);
    return it == symbols_.end() ? nullptr : it->second.get();
}

void OrderManager::AddLive(SymbolState& sym, std::int64_t seq, LiveOrder order) {
    const std::int64_t user = order.user_id;
    if (sym.live.insert_or_assign(seq, std::move(order)).second) { ++open_orders_[user]; }
}

void OrderManager::EraseLive(SymbolState& sym,
                             std::unordered_map<std::int64_t, LiveOrder>::iterator it) {
    if (auto n = open_orders_.find(it->second.user_id);
        n != open_orders_.end() && --n->second <= 0) {
        open_orders_.erase(n);
    }
    sym.live.erase(it);
}

void OrderManager::ClearLive(SymbolState& sym) {
    while (!sym.live.empty()) { EraseLive(sym, sym.live.begin()); }
}

// ---- recovery and the sweeper ------------------------------------------------------------

http::awaitable<common::Status> OrderManager::LoadInstruments(const common::TraceContext& parent) {
    auto rows = co_await pg_.Query(parent, kSelectInstruments);
    if (!rows) { co_return std::move(rows).error(); }
    for (auto row : *rows) {
        std::string symbol = row.String(0);
        if (auto it = symbols_.find(symbol); it != symbols_.end()) {
            it->second->instrument.last_price_cents = row.OptInt64(4);
            continue;
        }
        auto id = engine_.AddSymbol(symbol, matching::BookConfig{});
        if (!id) { continue; }
        auto state = std::make_unique<SymbolState>();
        state->book = *id;
        state->name = row.String(1);
        state->instrument.symbol = symbol;
        state->instrument.tick_size_cents = row.Int64(2);
        state->instrument.reference_price_cents = row.Int64(3);
        state->instrument.last_price_cents = row.OptInt64(4);
        state->instrument.price_band_bps = row.Int64(5);
        state->instrument.max_order_quantity = row.Int64(6);
        state->instrument.max_order_notional_cents = row.Int64(7);
        symbols_.emplace(std::move(symbol), std::move(state));
    }
    co_return common::Ok();
}

http::awaitable<common::Status> OrderManager::RebuildSymbol(SymbolState& sym,
                                                            const common::TraceContext& parent) {
    auto rows = co_await pg_.Query(parent, kSelectOpenOrders, sym.instrument.symbol);
    if (!rows) { co_return std::move(rows).error(); }
    // A fresh book: resting orders go back in sequence order (they never cross each other);
    // an order still NEW was inserted but its matching never persisted: match it now.
    matching::OrderBook& book = engine_.Book(sym.book);
    for (const auto& [seq, live] : sym.live) {
        (void)book.Cancel(static_cast<matching::OrderId>(seq));
    }
    ClearLive(sym);
    std::vector<OrderRecord> pending;
    for (auto row : *rows) {
        OrderRecord o = ReadOrder(row);
        if (o.status == OrderStatus::kNew) {
            pending.push_back(std::move(o));
            continue;
        }
        matching::NewOrder n{.id = static_cast<matching::OrderId>(o.seq),
                             .user = static_cast<matching::UserId>(o.user_id),
                             .side = ToBook(o.side),
                             .type = matching::OrderType::kLimit,
                             .tif = matching::TimeInForce::kGtc,
                             .price = o.price_cents.value_or(0),
                             .quantity = o.quantity - o.filled_quantity};
        (void)book.Submit(n);
        AddLive(sym, o.seq, LiveOrder{o.order_id, o.user_id});
    }
    sym.dirty = false;
    for (OrderRecord& o : pending) {
        // Left NEW by an older order-manager that inserted before matching.
        auto outcome = co_await MatchAndPersist(sym, o, /*insert=*/false, parent);
        if (!outcome) { co_return std::move(outcome).error(); }
        Marks marks;
        co_await SettleAndRelease(o, *outcome, marks, parent);
        co_await Publish(std::move(outcome->events), std::move(outcome->outbox_ids), marks, parent);
        co_await WriteMarks(marks, parent);
    }
    co_return common::Ok();
}

http::awaitable<common::Status> OrderManager::SweepFinished(SymbolState& sym,
                                                            const common::TraceContext& parent,
                                                            std::chrono::seconds settle_grace) {
    auto unsettled = co_await pg_.Query(parent, kSelectUnsettled, sym.instrument.symbol,
                                        static_cast<std::int64_t>(settle_grace.count()));
    if (!unsettled) { co_return std::move(unsettled).error(); }
    std::vector<TradeRecord> trades;
    for (auto row : *unsettled) { trades.push_back(ReadTrade(row)); }
    Marks marks;
    const bool settled = co_await SettleTrades(trades, std::string_view(), marks, parent);
    // Before looking for releasable reservations: they wait for their trades' marks.
    co_await WriteMarks(marks, parent);
    if (!settled) { co_return Error{ErrorCode::kUpstreamUnavailable, "settlement still failing"}; }
    auto releasable = co_await pg_.Query(parent, sweeper::kSelectReleasable, sym.instrument.symbol);
    if (!releasable) { co_return std::move(releasable).error(); }
    std::vector<std::string> ids;
    for (auto row : *releasable) { ids.push_back(row.String(0)); }
    co_return co_await ReleaseMany(ids, parent);
}

http::awaitable<common::Status> OrderManager::ReleaseOrphans(SymbolState& sym,
                                                             const common::TraceContext& parent,
                                                             bool locked) {
    auto orphaned = co_await pg_.Query(parent, sweeper::kSelectOrphaned, sym.instrument.symbol,
                                       static_cast<std::int64_t>(options_.orphan_grace.count()));
    if (!orphaned) { co_return std::move(orphaned).error(); }
    if (orphaned->empty()) { co_return common::Ok(); }
    std::vector<std::string> ids;
    for (auto row : *orphaned) { ids.push_back(row.String(0)); }
    if (locked) { co_return co_await ReleaseMany(ids, parent); }  // found under the lock
    AsyncMutex::Guard guard = co_await sym.mutex.Lock();
    auto still = co_await pg_.Query(parent, sweeper::kStillOrphaned, storage::PgArrayLiteral(ids));
    if (!still) { co_return std::move(still).error(); }
    ids.clear();
    for (auto row : *still) { ids.push_back(row.String(0)); }
    co_return co_await ReleaseMany(ids, parent);
}

http::awaitable<common::Status> OrderManager::ReleaseMany(const std::vector<std::string>& order_ids,
                                                          const common::TraceContext& parent) {
    // Many at a time (the makers filled since the last full sweep: hundreds at high rates),
    // one wallet commit per part.
    for (std::size_t first = 0; first < order_ids.size(); first += kReleaseBatch) {
        common::JsonWriter w;
        w.BeginObject().Key("order_ids").BeginArray();
        for (std::size_t i = first; i < std::min(first + kReleaseBatch, order_ids.size()); ++i) {
            w.String(order_ids[i]);
        }
        w.EndArray().EndObject();
        auto r = co_await wallet_->Call(Method::kPost, "/release-funds", w.Take(), parent);
        if (!r || r->status != 200) {
            co_return Error{ErrorCode::kUpstreamUnavailable, "release still failing"};
        }
    }
    co_return common::Ok();
}

http::awaitable<void> OrderManager::PublishPending(const common::TraceContext& parent) {
    auto rows = co_await pg_.Query(parent, kSelectUnpublished,
                                   static_cast<std::int64_t>(kSettleGrace.count()));
    if (!rows || rows->empty()) { co_return; }
    std::vector<std::pair<std::string, std::string>> events;
    std::vector<std::int64_t> ids;
    for (auto row : *rows) {
        ids.push_back(row.Int64(0));
        events.emplace_back(row.String(1), row.String(2));
    }
    Marks marks;
    co_await Publish(std::move(events), std::move(ids), marks, parent);
    co_await WriteMarks(marks, parent);
}

http::awaitable<void> OrderManager::RecoverAndSweep() {
    // Recovery: until every symbol is rebuilt and swept, orders are refused with 503.
    for (int attempt = 1; !stopping_ && !ready_; ++attempt) {
        telemetry::Span span = service::StartChild(tracer_, "recover", common::TraceContext{});
        const common::TraceContext trace = service::ToPlain(span.GetContext());
        common::Status st = co_await LoadInstruments(trace);
        for (auto& [name, sym] : symbols_) {
            if (!st) { break; }
            auto guard = co_await sym->mutex.Lock();
            st = co_await RebuildSymbol(*sym, trace);
            if (st) { st = co_await SweepFinished(*sym, trace, std::chrono::seconds(0)); }
            if (st) { st = co_await ReleaseOrphans(*sym, trace, /*locked=*/true); }
        }
        if (st) {
            co_await PublishPending(trace);
            std::size_t resting = 0;
            for (auto& [name, sym] : symbols_) { resting += sym->live.size(); }
            service::LogInfo(trace, "Recovered {} books with {} resting orders", symbols_.size(),
                             resting);
            span.SetAttribute("resting_orders", static_cast<std::int64_t>(resting));
            ready_ = true;
            break;
        }
        service::MarkError(span, st.error());
        if (attempt == 1 || attempt % 20 == 0) {
            service::LogWarn(trace, "Recovery not complete yet ({}); retrying", st.error().message);
        }
        span.End();
        co_await SleepFor(std::chrono::milliseconds(500));
    }
    // The sweeper: finishes work that a dependency outage interrupted.
    const int full_every = std::max(1, options_.full_sweep_every);
    for (std::int64_t round = 1; !stopping_; ++round) {
        co_await SleepFor(options_.sweep_interval);
        const bool catching_up = full_sweeps_wanted_ > 0;
        if (catching_up) { --full_sweeps_wanted_; }
        std::int64_t nth = 0;
        for (auto& [name, sym] : symbols_) {
            if (stopping_) { break; }
            // Every full_every-th round for each symbol, but not the same round for all: a full
            // sweep reads every open reservation of the symbol, and all symbols' at once made
            // one burst of PostgreSQL work.
            const bool full = catching_up || (round + nth++) % full_every == 0;
            if (!full && !sym->dirty) { continue; }
            if (sym->dirty) {
                // The symbol's orders wait while this holds its lock: only what needs it.
                auto guard = co_await sym->mutex.Lock();
                if (sym->dirty) { (void)co_await RebuildSymbol(*sym, common::TraceContext{}); }
            }
            if (!full) { continue; }
            common::Status swept =
                co_await ReleaseOrphans(*sym, common::TraceContext{}, /*locked=*/false);
            if (swept) {
                swept = co_await SweepFinished(*sym, common::TraceContext{}, kSettleGrace);
            }
            if (!swept) { WantSweep(); }  // still failing: again next time
        }
        co_await PublishPending(common::TraceContext{});
    }
}

void OrderManager::WantSweep() noexcept {
    const auto interval = std::max<std::int64_t>(1, options_.sweep_interval.count());
    const auto rounds = std::chrono::duration_cast<std::chrono::milliseconds>(kSettleGrace).count() / interval + 2;
    full_sweeps_wanted_ = static_cast<int>(std::min<std::int64_t>(rounds, 1000));
}

// ---- the saga steps -----------------------------------------------------------------------

http::awaitable<std::int64_t> OrderManager::NextSeq(const common::TraceContext& parent) {
    if (next_seqs_.empty()) {
        auto guard = co_await seq_mutex_.Lock();
        if (next_seqs_.empty()) {
            auto rows = co_await pg_.Query(parent, kNextSeqs, kSeqBlock);
            if (!rows) { co_return 0; }
            for (auto row : *rows) { next_seqs_.push_back(row.Int64(0)); }
            std::sort(next_seqs_.begin(), next_seqs_.end());
        }
    }
    if (next_seqs_.empty()) { co_return 0; }
    const std::int64_t seq = next_seqs_.front();
    next_seqs_.pop_front();
    co_return seq;
}

common::Result<OrderManager::MatchOutcome> OrderManager::Match(SymbolState& sym, OrderRecord& order,
                                                               telemetry::Span& span) {
    // A market order with its band bound trades as an IOC limit at that bound: a resting order
    // beyond the band (placed before the last price moved) would otherwise trade at a price
    // the order's reservation does not cover, and its settlement would be refused.
    const bool bounded =
        order.type == exchange::OrderType::kMarket && order.market_bound_cents.has_value();
    matching::NewOrder n{
        .id = static_cast<matching::OrderId>(order.seq),
        .user = static_cast<matching::UserId>(order.user_id),
        .side = ToBook(order.side),
        .type = order.type == exchange::OrderType::kMarket && !bounded
                    ? matching::OrderType::kMarket
                    : matching::OrderType::kLimit,
        .tif = order.time_in_force == exchange::TimeInForce::kIoc || bounded
                   ? matching::TimeInForce::kIoc
                   : matching::TimeInForce::kGtc,
        .price = bounded ? *order.market_bound_cents : order.price_cents.value_or(0),
        .quantity = order.quantity - order.filled_quantity};

    MatchOutcome out;
    bool rests = true;
    bool self_trade = false;
    const std::string executed_at = common::FormatRfc3339(common::SystemClock().UnixNanos());
    // Copy the events out: the span the book returns is only valid until its next call.
    std::vector<matching::Event> events;
    {
        auto span_events = engine_.Submit(sym.book, n);
        events.assign(span_events.begin(), span_events.end());
    }
    for (const matching::Event& e : events) {
        if (e.type == matching::EventType::kRejected) {
            // Our own validation makes this unreachable; keep the book and database agreeing.
            rests = false;
            out.taker_done = true;
            order.status = OrderStatus::kRejected;
            order.reject_reason = "rejected_by_book";
        } else if (e.type == matching::EventType::kTrade) {
            auto maker_it = sym.live.find(static_cast<std::int64_t>(e.maker_order_id));
            if (maker_it == sym.live.end()) {
                sym.dirty = true;
                return Error{ErrorCode::kInternal, "book and database disagree"};
            }
            TradeRecord t;
            t.trade_id = ids_.NewUuid();
            t.symbol = order.symbol;
            t.price_cents = e.price;
            t.quantity = e.quantity;
            t.aggressor_side = order.side;
            const bool taker_buys = order.side == Side::kBuy;
            t.buy_order_id = taker_buys ? order.order_id : maker_it->second.order_id;
            t.sell_order_id = taker_buys ? maker_it->second.order_id : order.order_id;
            t.buyer_id = taker_buys ? order.user_id : maker_it->second.user_id;
            t.seller_id = taker_buys ? maker_it->second.user_id : order.user_id;
            t.executed_at = executed_at;
            out.maker_fills.push_back({maker_it->second.order_id, e.quantity, e.price * e.quantity});
            order.filled_quantity += e.quantity;
            order.filled_notional_cents += e.price * e.quantity;
            if (e.maker_leaves == 0) { EraseLive(sym, maker_it); }
            out.trades.push_back(std::move(t));
        } else if (e.type == matching::EventType::kCancelled &&
                   e.order_id == static_cast<matching::OrderId>(order.seq)) {
            rests = false;
            self_trade = e.cancel_reason == matching::CancelReason::kSelfTrade;
        } else if (e.type == matching::EventType::kDone &&
                   e.order_id == static_cast<matching::OrderId>(order.seq)) {
            rests = false;
            out.taker_done = true;
        }
    }
    if (order.status != OrderStatus::kRejected) {
        if (rests) {
            order.status = order.filled_quantity > 0 ? OrderStatus::kPartiallyFilled : OrderStatus::kOpen;
            AddLive(sym, order.seq, LiveOrder{order.order_id, order.user_id});
        } else {
            out.taker_done = true;
            order.status = order.filled_quantity == order.quantity ? OrderStatus::kFilled
                                                                   : OrderStatus::kCancelled;
        }
    }
    span.SetAttribute("trades", static_cast<std::int64_t>(out.trades.size()));
    span.SetAttribute("filled_quantity", order.filled_quantity);
    span.SetAttribute("status", exchange::ToString(order.status));
    if (self_trade) { span.AddEvent("self_trade_prevented"); }
    if (!out.trades.empty()) {
        span.AddEvent("order_matched", {{"trades", static_cast<std::int64_t>(out.trades.size())},
                                        {"filled_quantity", order.filled_quantity}});
    }
    return out;
}

http::awaitable<common::Result<OrderManager::MatchOutcome>> OrderManager::MatchAndPersist(
    SymbolState& sym, OrderRecord& order, bool insert, const common::TraceContext& parent) {
    telemetry::Span span = service::StartChild(tracer_, "match_order", parent);
    const common::TraceContext inner = service::ToPlain(span.GetContext());
    span.SetAttribute("order_id", order.order_id);
    span.SetAttribute("symbol", order.symbol);
    if (insert) { span.SetAttribute("orders_in_commit", std::int64_t{1}); }
    auto matched = Match(sym, order, span);
    if (!matched) {
        service::MarkError(span, matched.error());
        co_return std::move(matched).error();
    }
    MatchOutcome& out = *matched;
    storage::PgBatch batch;
    AddRecordStatements(batch, order, out, insert, inner);
    auto rows = co_await pg_.Batch(inner, std::move(batch));
    if (!rows) {
        // The book moved but the database did not: rebuild this book before its next use.
        sym.dirty = true;
        service::MarkError(span, rows.error());
        co_return std::move(rows).error();
    }
    ApplyRecorded(sym, order, out, insert, *rows, 0);
    if (insert) { orders_per_commit_.Observe(1); }
    co_return std::move(out);
}

void OrderManager::AddRecordStatements(storage::PgBatch& batch, const OrderRecord& order,
                                       MatchOutcome& out, bool insert,
                                       const common::TraceContext& parent) {
    // One batch — one round trip, one commit —: the order (inserted, or updated from NEW),
    // the trades, the makers' fills, the last price and the outbox events.
    for (const TradeRecord& t : out.trades) {
        out.events.emplace_back(options_.channel_prefix + std::string(kTradesChannel), TradeEvent(t));
    }
    out.events.emplace_back(options_.channel_prefix + std::string(kOrdersChannel),
                            OrderEvent(order));
    if (insert) {
        batch.AddUnder(
            parent, kInsertMatchedOrder,
            {order.order_id, order.seq, order.user_id, order.client_order_id, order.symbol,
             exchange::ToString(order.side), exchange::ToString(order.type),
             exchange::ToString(order.time_in_force), order.price_cents, order.quantity,
             order.filled_quantity, order.filled_notional_cents, exchange::ToString(order.status)});
    } else {
        batch.AddUnder(parent, kSetTakerOutcome,
                       {order.order_id, order.filled_quantity, order.filled_notional_cents,
                        exchange::ToString(order.status)});
    }
    for (std::size_t i = 0; i < out.trades.size(); ++i) {
        const TradeRecord& t = out.trades[i];
        const MakerFill& m = out.maker_fills[i];
        batch.AddUnder(
            parent, kInsertTrade,
            {t.trade_id, t.symbol, t.price_cents, t.quantity, t.buy_order_id, t.sell_order_id,
             t.buyer_id, t.seller_id, exchange::ToString(t.aggressor_side), t.executed_at});
        batch.AddUnder(parent, kFillMaker, {m.order_id, m.quantity, m.notional});
    }
    if (!out.trades.empty()) {
        batch.AddUnder(parent, kSetLastPrice, {order.symbol, out.trades.back().price_cents});
    }
    for (const auto& [channel, payload] : out.events) {
        batch.AddUnder(parent, kInsertOutbox, {channel, payload});
    }
}

void OrderManager::ApplyRecorded(SymbolState& sym, OrderRecord& order, MatchOutcome& out,
                                 bool insert, const std::vector<storage::PgRows>& rows,
                                 std::size_t first) {
    if (insert) { order.created_at = rows[first].front().String(0); }
    // The order's statement, two per trade, the last price if any trade, then the events.
    std::size_t event_row = first + 1 + 2 * out.trades.size() + (out.trades.empty() ? 0 : 1);
    for (std::size_t i = 0; i < out.events.size(); ++i) {
        out.outbox_ids.push_back(rows[event_row + i].front().Int64(0));
    }
    if (!out.trades.empty()) { sym.instrument.last_price_cents = out.trades.back().price_cents; }
}

http::awaitable<void> OrderManager::RecordOne(SymbolState& sym, PendingOrder& p) {
    if (sym.dirty) {
        if (auto st = co_await RebuildSymbol(sym, p.parent); !st) {
            p.result = st.error();
            co_return;
        }
    }
    if (p.order->seq == 0) { p.order->seq = co_await NextSeq(p.parent); }
    if (p.order->seq == 0) {
        p.result = Error{ErrorCode::kUpstreamUnavailable, "database unavailable"};
        co_return;
    }
    p.result = co_await MatchAndPersist(sym, *p.order, /*insert=*/true, p.parent);
}

http::awaitable<void> OrderManager::RecordPending(SymbolState& sym) {
    std::vector<PendingOrder*> group = std::exchange(sym.pending, {});
    orders_waiting_.Dec(static_cast<double>(group.size()));
    if (group.size() == 1) {
        co_await RecordOne(sym, *group.front());
        co_return;
    }
    if (sym.dirty) {
        if (auto st = co_await RebuildSymbol(sym, group.front()->parent); !st) {
            for (PendingOrder* p : group) { p->result = st.error(); }
            co_return;
        }
    }
    struct Part {
        PendingOrder* p;
        OrderRecord before;  // to match again alone if the group's batch fails
        telemetry::Span span;
        common::TraceContext inner;
        MatchOutcome out;
        std::size_t first_row = 0;
    };
    std::vector<Part> parts;
    parts.reserve(group.size());
    storage::PgBatch batch;
    bool matched_all = true;
    common::Result<std::vector<storage::PgRows>> rows = Error{ErrorCode::kInternal, "not run"};
    for (PendingOrder* p : group) {
        OrderRecord& order = *p->order;
        if (order.seq == 0) { order.seq = co_await NextSeq(p->parent); }
        if (order.seq == 0) {
            p->result = Error{ErrorCode::kUpstreamUnavailable, "database unavailable"};
            continue;
        }
        Part& part = parts.emplace_back(
            Part{p, order, service::StartChild(tracer_, "match_order", p->parent), {}, {}, 0});
        part.inner = service::ToPlain(part.span.GetContext());
        part.span.SetAttribute("order_id", order.order_id);
        part.span.SetAttribute("symbol", order.symbol);
        part.span.SetAttribute("orders_in_commit", static_cast<std::int64_t>(group.size()));
        auto matched = Match(sym, order, part.span);
        if (!matched) {  // the book is dirty: no group
            matched_all = false;
            rows = std::move(matched).error();
            break;
        }
        part.out = std::move(matched).value();
        part.first_row = batch.size();
        AddRecordStatements(batch, order, part.out, /*insert=*/true, part.inner);
    }
    if (matched_all && !parts.empty()) {
        rows = co_await pg_.Batch(parts.front().inner, std::move(batch));
    }
    if (matched_all && rows) {
        for (Part& part : parts) {
            ApplyRecorded(sym, *part.p->order, part.out, /*insert=*/true, *rows, part.first_row);
            part.p->result = std::move(part.out);
        }
        orders_per_commit_.Observe(static_cast<double>(parts.size()));
        co_return;
    }
    // Nothing of the group was written and the book moved: rebuild it (RecordOne does), then
    // record each order alone, from what it was before this attempt (its seq kept).
    sym.dirty = true;
    group_commits_failed_.Inc();
    for (Part& part : parts) {
        part.span.SetAttribute("group_commit_failed", true);
        if (!rows) { service::MarkError(part.span, rows.error()); }
        part.span.End();
        const std::int64_t seq = part.p->order->seq;
        *part.p->order = std::move(part.before);
        part.p->order->seq = seq;
    }
    for (PendingOrder* p : group) {
        if (!p->result) { co_await RecordOne(sym, *p); }
    }
}

http::awaitable<bool> OrderManager::SettleTrades(std::vector<TradeRecord>& trades,
                                                 std::string_view release_order_id, Marks& marks,
                                                 const common::TraceContext& parent) {
    std::vector<TradeRecord*> pending;
    for (TradeRecord& trade : trades) {
        if (!trade.settled) { pending.push_back(&trade); }
    }
    if (pending.empty()) {
        if (release_order_id.empty()) { co_return true; }
        const bool released = co_await Release(std::string(release_order_id), parent);
        co_return released;
    }
    // In trade order, part by part, stopping at the first failure: the sweeper settles the
    // rest in order. Each part is one wallet commit: all of its trades or none.
    std::size_t part = kSettleBatch;
    for (std::size_t first = 0; first < pending.size();) {
        const std::size_t end = std::min(first + part, pending.size());
        common::JsonWriter w;
        w.BeginObject().Key("trades").BeginArray();
        for (std::size_t i = first; i < end; ++i) {
            const TradeRecord& trade = *pending[i];
            w.BeginObject()
                .Field("trade_id", trade.trade_id)
                .Field("buy_order_id", trade.buy_order_id)
                .Field("sell_order_id", trade.sell_order_id)
                .Field("buyer_id", trade.buyer_id)
                .Field("seller_id", trade.seller_id)
                .Field("symbol", trade.symbol)
                .Field("price_cents", trade.price_cents)
                .Field("quantity", trade.quantity)
                .EndObject();
        }
        w.EndArray();
        if (end == pending.size() && !release_order_id.empty()) {
            w.Field("release_order_id", release_order_id);
        }
        w.EndObject();
        auto r = co_await wallet_->Call(Method::kPost, "/settle", w.Take(), parent);
        if (r && r->status == 500 && end - first > 1) {
            // One trade that the reservations do not cover refuses its whole part: settle
            // the others one at a time, in order, up to that one.
            part = 1;
            continue;
        }
        if (!r || r->status != 200) {
            WantSweep();
            service::LogWarn(parent, "Settlement of trade {} deferred: {}", pending[first]->trade_id,
                             r ? "wallet-service answered " + std::to_string(r->status)
                               : r.error().message);
            co_return false;
        }
        for (std::size_t i = first; i < end; ++i) {
            pending[i]->settled = true;
            marks.settled_trades.push_back(pending[i]->trade_id);
        }
        first = end;
    }
    co_return true;
}

http::awaitable<bool> OrderManager::Release(const std::string& order_id,
                                            const common::TraceContext& parent) {
    common::JsonWriter w;
    w.BeginObject().Field("order_id", order_id).EndObject();
    auto r = co_await wallet_->Call(Method::kPost, "/release-funds", w.Take(), parent);
    const bool released = r.ok() && r->status == 200;
    if (!released) { WantSweep(); }
    co_return released;
}

http::awaitable<void> OrderManager::SettleAndRelease(const OrderRecord& order, MatchOutcome& outcome,
                                                     Marks& marks,
                                                     const common::TraceContext& parent) {
    // A finished order that was not filled whole (the unfilled rest of an IOC or market
    // order, a rejection) still holds cash or shares: released with its last trades, in the
    // same commit. A filled order's reservation is used up, and released, by the settlement
    // of its last trade (wallet-service's kSettleTrade); a price better than a BUY's limit is
    // unblocked by each trade's settlement.
    const bool holds_rest = outcome.taker_done && order.filled_quantity < order.quantity;
    const std::string_view release =
        holds_rest ? std::string_view(order.order_id) : std::string_view();
    (void)co_await SettleTrades(outcome.trades, release, marks, parent);
}

http::awaitable<void> OrderManager::Publish(std::vector<std::pair<std::string, std::string>> events,
                                            std::vector<std::int64_t> outbox_ids, Marks& marks,
                                            const common::TraceContext& parent) {
    if (events.empty()) { co_return; }
    // This PRODUCER span is the Redis call, as in the brief's tree ("redis: publish_event"):
    // the pipeline runs without a parent, so the Redis instrumentation adds no PUBLISH span
    // per event under it (three more spans for a crossing order; PUBLISH carries no trace
    // context to Redis anyway).
    telemetry::Span span =
        service::StartChild(tracer_, "publish_event", parent, telemetry::SpanKind::kProducer);
    span.SetAttribute("db.system.name", "redis");
    span.SetAttribute("db.operation.name", "PUBLISH");
    span.SetAttribute("messaging.destination.name", events.front().first);
    span.SetAttribute("channel", events.front().first);
    span.SetAttribute("service.peer.name", "redis");
    span.SetAttribute("peer.service", "redis");
    span.SetAttribute("events", static_cast<std::int64_t>(events.size()));
    std::vector<std::vector<std::string>> commands;
    commands.reserve(events.size());
    for (auto& [channel, payload] : events) {
        commands.push_back({"PUBLISH", channel, std::move(payload)});
    }
    auto r = co_await redis_.Pipeline(common::TraceContext{}, std::move(commands));
    if (!r) {
        // Left in the outbox: the sweeper publishes it when Redis is back.
        service::MarkError(span, r.error());
        co_return;
    }
    marks.published_events.insert(marks.published_events.end(), outbox_ids.begin(),
                                  outbox_ids.end());
}

http::awaitable<void> OrderManager::WriteMarks(Marks& marks, const common::TraceContext& parent) {
    storage::PgBatch batch;
    if (!marks.settled_trades.empty()) {
        batch.Add(kMarkSettled, storage::PgArrayLiteral(marks.settled_trades));
    }
    if (!marks.published_events.empty()) {
        batch.Add(kMarkPublished, storage::PgArrayLiteral(marks.published_events));
    }
    marks = Marks{};
    // Lost marks only make the sweeper settle (idempotently) or publish again.
    if (batch.empty()) { co_return; }
    auto written = co_await relaxed_pg_.Batch(parent, std::move(batch));
    if (!written) { WantSweep(); }
}

http::awaitable<void> OrderManager::PublishAndMark(
    std::vector<std::pair<std::string, std::string>> events, std::vector<std::int64_t> outbox_ids,
    Marks marks, common::TraceContext parent) {
    co_await Publish(std::move(events), std::move(outbox_ids), marks, parent);
    const auto executor = co_await boost::asio::this_coro::executor;
    QueueMarks(std::move(marks), parent, executor);
}

void OrderManager::QueueMarks(Marks marks, const common::TraceContext& parent,
                              const boost::asio::any_io_executor& executor) {
    if (marks.settled_trades.empty() && marks.published_events.empty()) { return; }
    // One io thread runs this service (requests, the sweeper and these coroutines), so the
    // queue needs no lock.
    auto append = [](auto& to, auto& from) {
        to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
    };
    append(queued_marks_.settled_trades, marks.settled_trades);
    append(queued_marks_.published_events, marks.published_events);
    ++queued_mark_requests_;
    if (queued_mark_parents_.size() < kMarkLinks) { queued_mark_parents_.push_back(parent); }
    if (marks_flush_pending_) { return; }
    marks_flush_pending_ = true;
    boost::asio::co_spawn(executor, FlushMarks(), boost::asio::detached);
}

http::awaitable<void> OrderManager::FlushMarks() {
    co_await SleepFor(kMarkDelay);
    marks_flush_pending_ = false;
    Marks marks = std::exchange(queued_marks_, Marks{});
    std::vector<common::TraceContext> parents = std::exchange(queued_mark_parents_, {});
    const auto requests = static_cast<std::int64_t>(std::exchange(queued_mark_requests_, 0));
    // One operation done for many requests: its own trace, linked to each request's span
    // (OpenTelemetry's way to show a batch).
    telemetry::Span span = service::StartChild(tracer_, "write_marks", common::TraceContext{});
    for (const common::TraceContext& p : parents) {
        span.AddLink(service::ToTelemetry(p).GetSpanContext());
    }
    span.SetAttribute("trades", static_cast<std::int64_t>(marks.settled_trades.size()));
    span.SetAttribute("events", static_cast<std::int64_t>(marks.published_events.size()));
    span.SetAttribute("requests", requests);
    const common::TraceContext inner = service::ToPlain(span.GetContext());
    co_await WriteMarks(marks, inner);
}

// ---- loading and answering ----------------------------------------------------------------

http::awaitable<common::Result<std::optional<OrderRecord>>> OrderManager::LoadOrder(
    const common::TraceContext& parent, std::string_view order_id) {
    auto rows = co_await pg_.Query(parent, kSelectOrder, order_id);
    if (!rows) { co_return std::move(rows).error(); }
    if (rows->empty()) { co_return std::optional<OrderRecord>{}; }
    co_return std::optional<OrderRecord>(ReadOrder(rows->front()));
}

http::awaitable<common::Result<std::optional<OrderRecord>>> OrderManager::LoadByClientId(
    const common::TraceContext& parent, std::int64_t user_id, std::string_view client_order_id) {
    auto rows = co_await pg_.Query(parent, kSelectOrderByClientId, user_id, client_order_id);
    if (!rows) { co_return std::move(rows).error(); }
    if (rows->empty()) { co_return std::optional<OrderRecord>{}; }
    co_return std::optional<OrderRecord>(ReadOrder(rows->front()));
}

http::awaitable<common::Result<std::vector<TradeRecord>>> OrderManager::LoadTrades(
    const common::TraceContext& parent, std::string_view order_id) {
    auto rows = co_await pg_.Query(parent, kSelectOrderTrades, order_id);
    if (!rows) { co_return std::move(rows).error(); }
    std::vector<TradeRecord> trades;
    for (auto row : *rows) { trades.push_back(ReadTrade(row)); }
    co_return trades;
}

Response OrderManager::OrderResponse(int status, const OrderRecord& o,
                                     const std::vector<TradeRecord>& trades) const {
    common::JsonWriter w;
    w.BeginObject()
        .Field("order_id", o.order_id)
        .Key("client_order_id");
    if (o.client_order_id.has_value()) {
        w.String(*o.client_order_id);
    } else {
        w.Null();
    }
    w.Field("user_id", o.user_id)
        .Field("symbol", o.symbol)
        .Field("side", exchange::ToString(o.side))
        .Field("type", exchange::ToString(o.type))
        .Field("time_in_force", exchange::ToString(o.time_in_force))
        .Key("price_cents");
    if (o.price_cents.has_value()) {
        w.Int(*o.price_cents);
    } else {
        w.Null();
    }
    w.Field("quantity", o.quantity).Field("filled_quantity", o.filled_quantity).Key("avg_price_cents");
    if (o.filled_quantity > 0) {
        w.Int(RoundDiv(o.filled_notional_cents, o.filled_quantity));
    } else {
        w.Null();
    }
    w.Field("status", exchange::ToString(o.status));
    if (o.reject_reason.has_value()) { w.Field("reject_reason", *o.reject_reason); }
    w.Field("created_at", o.created_at).Key("trades").BeginArray();
    for (const TradeRecord& t : trades) {
        const bool buyer = t.buy_order_id == o.order_id;
        w.BeginObject()
            .Field("trade_id", t.trade_id)
            .Field("order_id", o.order_id)
            .Field("symbol", t.symbol)
            .Field("side", buyer ? "BUY" : "SELL")
            .Field("price_cents", t.price_cents)
            .Field("quantity", t.quantity)
            .Field("executed_at", t.executed_at)
            .EndObject();
    }
    w.EndArray().EndObject();
    return http::JsonResponse(status, w.Take());
}

http::awaitable<Response> OrderManager::Replay(RequestContext& ctx, const OrderRecord& order,
                                               const common::TraceContext& parent) {
    Response r;
    if (order.status == OrderStatus::kRejected && order.reject_reason.has_value()) {
        // The first answer was an error: answer it again (same code, same status).
        std::string_view reason = *order.reject_reason;
        std::string_view code = reason.substr(0, reason.find(':'));
        std::string message = reason.find(':') == std::string_view::npos
                                  ? std::string(reason)
                                  : std::string(reason.substr(reason.find(':') + 1));
        r = ctx.Error(common::ErrorCodeFromString(code), message);
    } else {
        auto trades = co_await LoadTrades(parent, order.order_id);
        if (!trades) { co_return ctx.Error(trades.error()); }
        r = OrderResponse(200, order, *trades);
    }
    r.headers.Set("Idempotent-Replayed", "true");
    co_return r;
}

http::awaitable<void> OrderManager::StoreRejected(OrderRecord order,
                                                  const common::TraceContext& parent) {
    order.status = OrderStatus::kRejected;
    auto rows = co_await pg_.Query(parent, kInsertOrder, order.order_id, order.user_id, order.client_order_id, order.symbol,
         exchange::ToString(order.side), exchange::ToString(order.type),
         exchange::ToString(order.time_in_force), order.price_cents, order.quantity,
         exchange::ToString(order.status), order.reject_reason);
    if (!rows) {
        service::LogWarn(parent, "Could not record rejected order {}: {}", order.order_id,
                         rows.error().message);
    }
}

http::awaitable<Response> OrderManager::PlaceOrder(RequestContext& ctx) {
    telemetry::Span span = service::StartChild(tracer_, "create_order", ctx.trace);
    const common::TraceContext inner = service::ToPlain(span.GetContext());
    auto fail = [&](const Error& e) {
        service::MarkError(span, e);
        return ctx.Error(e);
    };
    if (!ready_) { co_return fail(NotReady()); }
    auto user = service::CallerUserId(ctx);
    if (!user) { co_return fail(user.error()); }
    auto body = ctx.JsonBody();
    if (!body) { co_return fail(body.error()); }
    common::JsonObjectReader r(*body);
    // The internal body carries cents: {"symbol","side","type","time_in_force","price_cents",
    // "quantity","client_order_id"}.
    auto symbol = r.String("symbol");
    auto side = r.String("side");
    auto type = r.OptString("type");
    auto tif = r.OptString("time_in_force");
    auto price = r.OptInt("price_cents", 1, common::kMaxCents);
    auto quantity = r.Int("quantity", 1, common::kMaxQuantity);
    auto client_order_id = r.OptString("client_order_id");
    for (const Error* e : {symbol.ok() ? nullptr : &symbol.error(), side.ok() ? nullptr : &side.error(),
                           type.ok() ? nullptr : &type.error(), tif.ok() ? nullptr : &tif.error(),
                           price.ok() ? nullptr : &price.error(),
                           quantity.ok() ? nullptr : &quantity.error(),
                           client_order_id.ok() ? nullptr : &client_order_id.error()}) {
        if (e != nullptr) { co_return fail(*e); }
    }
    auto normalized = exchange::NormalizeSymbol(*symbol);
    if (!normalized) { co_return fail(normalized.error()); }
    OrderRecord order;
    order.user_id = *user;
    order.symbol = *normalized;
    auto parsed_side = exchange::ParseSide(*side);
    auto parsed_type = exchange::ParseOrderType(type->value_or("LIMIT"));
    auto parsed_tif = exchange::ParseTimeInForce(
        tif->value_or(parsed_type == exchange::OrderType::kMarket ? "IOC" : "GTC"));
    if (!parsed_side || !parsed_type || !parsed_tif ||
        (*parsed_type == exchange::OrderType::kLimit && !price->has_value()) ||
        (*parsed_type == exchange::OrderType::kMarket &&
         (price->has_value() || *parsed_tif != exchange::TimeInForce::kIoc))) {
        co_return fail(Error{ErrorCode::kValidation, "inconsistent side, type, time_in_force or price"});
    }
    order.side = *parsed_side;
    order.type = *parsed_type;
    order.time_in_force = *parsed_tif;
    order.price_cents = *price;
    order.quantity = *quantity;
    order.client_order_id = *client_order_id;
    span.SetAttribute("user_id", order.user_id);
    span.SetAttribute("symbol", order.symbol);
    span.SetAttribute("side", exchange::ToString(order.side));
    span.SetAttribute("quantity", order.quantity);
    service::LogInfo(inner, "Validating order for user {}, symbol {}", order.user_id, order.symbol);

    SymbolState* sym = FindSymbol(order.symbol);
    if (sym == nullptr) {
        co_return fail(Error{ErrorCode::kUnknownSymbol, "symbol " + order.symbol + " is not listed"});
    }
    if (order.client_order_id.has_value()) {
        auto existing = co_await LoadByClientId(inner, order.user_id, *order.client_order_id);
        if (!existing) { co_return fail(existing.error()); }
        if (existing->has_value()) {
            span.SetAttribute("idempotent_replay", true);
            span.SetAttribute("order_id", (*existing)->order_id);
            co_return co_await Replay(ctx, **existing, inner);
        }
    }

    // 1. risk, and 2. the block of cash or shares, keyed by the order id, asked at once: the
    // reservation does not depend on risk's answer, and a block made for an order that risk
    // then rejects is released (a rejection is rare; the order was never acknowledged). A
    // limit order blocks at its price; a market order at the edge of the symbol's price band
    // (DESIGN §6), computed here as risk computes it, from the last price this service
    // recorded, and it trades no further than that edge (Match), so the block covers it.
    order.order_id = ids_.NewUuid();
    span.SetAttribute("order_id", order.order_id);
    service::LogInfo(inner, "Sending to risk-manager for validation");
    common::JsonWriter rw;
    rw.BeginObject()
        .Field("symbol", order.symbol)
        .Field("side", exchange::ToString(order.side))
        .Field("type", exchange::ToString(order.type))
        .Field("quantity", order.quantity);
    if (order.price_cents.has_value()) { rw.Field("price_cents", *order.price_cents); }
    const auto open = open_orders_.find(order.user_id);
    rw.Field("open_orders", open == open_orders_.end() ? std::int64_t{0} : open->second);
    // The band's centre as this service recorded it, so that risk need not read it (and
    // checks the band this service blocks a market order at).
    rw.Field("band_reference_cents",
             sym->instrument.last_price_cents.value_or(sym->instrument.reference_price_cents));
    rw.EndObject();
    auto block_body = [&order](std::int64_t price_cents) {
        common::JsonWriter bw;
        bw.BeginObject()
            .Field("order_id", order.order_id)
            .Field("side", exchange::ToString(order.side))
            .Field("symbol", order.symbol)
            .Field("quantity", order.quantity);
        if (order.side == Side::kBuy) { bw.Field("price_cents", price_cents); }
        bw.EndObject();
        return bw.Take();
    };
    std::int64_t block_price = order.price_cents.value_or(0);
    if (order.type == exchange::OrderType::kMarket) {
        const exchange::PriceBand band = exchange::BandOf(sym->instrument);
        block_price = order.side == Side::kBuy ? band.high_cents : band.low_cents;
        order.market_bound_cents = block_price;
    }
    using namespace boost::asio::experimental::awaitable_operators;
    // Named first: GCC 12 mishandles temporaries in a co_await expression.
    auto validate = risk_->Call(Method::kPost, "/validate", rw.Take(), inner, order.user_id);
    auto block =
        wallet_->Call(Method::kPost, "/block-funds", block_body(block_price), inner, order.user_id);
    auto both = co_await (std::move(validate) && std::move(block));
    common::Result<http::ClientResponse> risk = std::move(std::get<0>(both));
    common::Result<http::ClientResponse> blocked = std::move(std::get<1>(both));
    // Risk said no or could not be asked: undo a block that happened or may have (idempotent;
    // the sweeper releases an orphan later otherwise).
    auto undo_block = [&]() -> http::awaitable<void> {
        if (!blocked || blocked->status == 200) { (void)co_await Release(order.order_id, inner); }
    };
    if (!risk) {
        co_await undo_block();
        co_return fail(risk.error());
    }
    if (risk->status != 200) {
        co_await undo_block();
        service::MarkError(span, service::ErrorFromResponse(*risk));
        co_return service::PassThrough(*risk);
    }
    auto decision = common::ParseJson(risk->body);
    if (!decision || !decision->is_object()) {
        co_await undo_block();
        co_return fail(Error{ErrorCode::kInternal, "risk-manager answered malformed JSON"});
    }
    const common::JsonValue* approved = decision->Find("approved");
    if (approved == nullptr || !approved->is_bool() || !approved->as_bool()) {
        co_await undo_block();
        std::vector<std::string> reasons;
        if (const auto* rs = decision->Find("reasons"); rs != nullptr && rs->is_array()) {
            for (const auto& v : rs->as_array()) {
                if (v.is_string()) { reasons.push_back(v.as_string()); }
            }
        }
        std::string joined;
        for (const auto& s : reasons) { joined += (joined.empty() ? "" : ", ") + s; }
        order.reject_reason = "risk_rejected:order rejected by risk checks: " + joined;
        co_await StoreRejected(order, inner);
        service::MarkError(span, Error{ErrorCode::kRiskRejected, joined});
        common::JsonWriter ew;
        ew.BeginObject().Key("error").BeginObject()
            .Field("code", "risk_rejected")
            .Field("message", "order rejected by risk checks: " + joined)
            .Field("trace_id", ctx.TraceId())
            .Key("reasons").BeginArray();
        for (const auto& s : reasons) { ew.String(s); }
        ew.EndArray().Field("order_id", order.order_id).EndObject().EndObject();
        co_return http::JsonResponse(422, ew.Take());
    }
    if (!blocked) {
        // Unknown whether the block happened: undo it if it did (idempotent); the sweeper
        // releases it later otherwise.
        (void)co_await Release(order.order_id, inner);
        co_return fail(blocked.error());
    }
    if (blocked->status != 200) {
        Error e = service::ErrorFromResponse(*blocked);
        if (blocked->status == 422) {
            order.reject_reason = std::string(common::ToString(e.code)) + ":" + e.message;
            co_await StoreRejected(order, inner);
        }
        service::MarkError(span, e);
        co_return service::PassThrough(*blocked);
    }

    // 3. matching and the durable record of the order with its trades: serialized per symbol,
    // committed together with the orders that wait for the symbol at the same time.
    MatchOutcome outcome;
    {
        PendingOrder me{&order, inner, std::nullopt};
        sym->pending.push_back(&me);
        orders_waiting_.Inc();
        // Out of the queue however this scope ends (a coroutine destroyed while it waits).
        struct Unqueue {
            SymbolState* sym;
            PendingOrder* me;
            telemetry::metrics::Gauge& waiting;
            ~Unqueue() {
                if (std::erase(sym->pending, me) > 0) { waiting.Dec(); }
            }
        } unqueue{sym, &me, orders_waiting_};
        auto guard = co_await sym->mutex.Lock();
        if (!me.result.has_value()) { co_await RecordPending(*sym); }
        common::Result<MatchOutcome> matched = std::move(*me.result);
        if (!matched) {
            // Nothing of the order was written (the book is rebuilt before its next use).
            Error e = matched.error();
            if (e.code == ErrorCode::kConflict && order.client_order_id.has_value()) {
                // The same client_order_id raced in on another connection and won.
                (void)co_await Release(order.order_id, inner);
                auto existing = co_await LoadByClientId(inner, order.user_id, *order.client_order_id);
                if (existing && existing->has_value()) {
                    co_return co_await Replay(ctx, **existing, inner);
                }
                co_return fail(e);
            }
            if (e.code == ErrorCode::kInternal) {
                auto released = co_await pg_.Query(inner, kReservationReleased, order.order_id);
                if (released && !released->empty() && released->front().Bool(0)) {
                    // The sweeper released the reservation as an orphan while this order
                    // waited: nothing is blocked and nothing recorded; the client may retry.
                    co_return fail(Error{ErrorCode::kUpstreamTimeout,
                                         "the order waited too long to be recorded; nothing was blocked, retry it"});
                }
            }
            (void)co_await Release(order.order_id, inner);
            co_return fail(e);
        }
        outcome = std::move(matched).value();
    }
    // Settlement runs outside the symbol's mutex: the trades are durable and each settlement
    // is idempotent on its trade id. A cancel of an order settles the order's trades itself
    // before it releases (in one wallet commit), so nothing here races a release.
    Marks marks;
    co_await SettleAndRelease(order, outcome, marks, inner);
    span.SetAttribute("status", exchange::ToString(order.status));
    span.SetAttribute("filled_quantity", order.filled_quantity);
    service::LogInfo(inner, "Order {} {}: {} of {} filled in {} trade(s)", order.order_id,
                     exchange::ToString(order.status), order.filled_quantity, order.quantity,
                     outcome.trades.size());
    // The order and its trades are durable and settled: answer now; the events and the
    // marks follow (the outbox and the sweeper finish them if this process dies first).
    const auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::co_spawn(executor,
                          PublishAndMark(std::move(outcome.events), std::move(outcome.outbox_ids),
                                         std::move(marks), inner),
                          boost::asio::detached);
    co_return OrderResponse(201, order, outcome.trades);
}

http::awaitable<Response> OrderManager::CancelOrder(RequestContext& ctx) {
    telemetry::Span span = service::StartChild(tracer_, "cancel_order", ctx.trace);
    const common::TraceContext inner = service::ToPlain(span.GetContext());
    auto fail = [&](const Error& e) {
        service::MarkError(span, e);
        return ctx.Error(e);
    };
    if (!ready_) { co_return fail(NotReady()); }
    auto user = service::CallerUserId(ctx);
    if (!user) { co_return fail(user.error()); }
    std::string order_id(ctx.Param("order_id"));
    span.SetAttribute("order_id", order_id);
    span.SetAttribute("user_id", *user);
    if (!common::IsUuid(order_id)) { co_return fail(Error{ErrorCode::kNotFound, "no such order"}); }
    auto found = co_await LoadOrder(inner, order_id);
    if (!found) { co_return fail(found.error()); }
    if (!found->has_value() || (*found)->user_id != *user) {
        co_return fail(Error{ErrorCode::kNotFound, "no such order"});
    }
    SymbolState* sym = FindSymbol((*found)->symbol);
    if (sym == nullptr) { co_return fail(Error{ErrorCode::kNotFound, "no such order"}); }

    OrderRecord order;
    std::vector<TradeRecord> trades;
    Marks marks;
    {
        auto guard = co_await sym->mutex.Lock();
        // Under the lock the database is the truth: cancel only if still open.
        auto upd = co_await pg_.Query(inner, kCancelOrder, order_id);
        if (!upd) { co_return fail(upd.error()); }
        if (upd->empty()) {
            auto current = co_await LoadOrder(inner, order_id);
            if (!current) { co_return fail(current.error()); }
            const OrderStatus status = current->has_value() ? (*current)->status : OrderStatus::kCancelled;
            co_return fail(Error{ErrorCode::kOrderNotCancellable,
                                 "order is " + std::string(exchange::ToString(status))});
        }
        order = ReadOrder(upd->front());
        (void)engine_.Cancel(sym->book, static_cast<matching::OrderId>(order.seq));
        if (auto it = sym->live.find(order.seq); it != sym->live.end()) { EraseLive(*sym, it); }
    }
    // Out of the book and CANCELLED in the database: no trade of it can be made any more,
    // and every one made is committed (trades are, before the symbol's lock is let go), so
    // the rest needs no lock. The release waits until every trade of the order is settled. A
    // trade of it may still be settling in the request that made it (settlement runs outside
    // the lock too): settle it here as well (idempotent on the trade id) with the release in
    // the same wallet commit. A release the sweeper makes meanwhile is not made twice (the
    // wallet releases only an unreleased reservation, under its row lock). If the wallet
    // cannot do it now, the sweeper does it later.
    auto loaded = co_await LoadTrades(inner, order_id);
    if (loaded) {
        trades = std::move(loaded).value();
        (void)co_await SettleTrades(trades, order_id, marks, inner);
    }
    service::LogInfo(inner, "Cancelled order {} for user {}", order_id, *user);
    std::vector<std::pair<std::string, std::string>> events;
    events.emplace_back(options_.channel_prefix + std::string(kOrdersChannel), OrderEvent(order));
    const auto executor = co_await boost::asio::this_coro::executor;
    boost::asio::co_spawn(executor,
                          PublishAndMark(std::move(events), std::vector<std::int64_t>{},
                                         std::move(marks), inner),
                          boost::asio::detached);
    co_return OrderResponse(200, order, trades);
}

http::awaitable<Response> OrderManager::GetOrder(RequestContext& ctx) {
    auto user = service::CallerUserId(ctx);
    if (!user) { co_return ctx.Error(user.error()); }
    std::string order_id(ctx.Param("order_id"));
    if (!common::IsUuid(order_id)) { co_return ctx.Error(ErrorCode::kNotFound, "no such order"); }
    auto found = co_await LoadOrder(ctx.trace, order_id);
    if (!found) { co_return ctx.Error(found.error()); }
    if (!found->has_value() || (*found)->user_id != *user) {
        co_return ctx.Error(ErrorCode::kNotFound, "no such order");
    }
    auto trades = co_await LoadTrades(ctx.trace, order_id);
    if (!trades) { co_return ctx.Error(trades.error()); }
    co_return OrderResponse(200, **found, *trades);
}

http::awaitable<Response> OrderManager::ListOrders(RequestContext& ctx) {
    auto user = service::CallerUserId(ctx);
    if (!user) { co_return ctx.Error(user.error()); }
    std::string statuses;
    std::string filter = ctx.Query("status").value_or("all");
    const bool open = filter == "open";
    if (open) {
        // kListOpenOrders names them.
    } else if (filter == "filled") {
        statuses = "{FILLED}";
    } else if (filter == "cancelled") {
        statuses = "{CANCELLED}";
    } else if (filter == "rejected") {
        statuses = "{REJECTED}";
    } else if (filter == "all") {
        statuses = "{NEW,OPEN,PARTIALLY_FILLED,FILLED,CANCELLED,REJECTED}";
    } else {
        co_return ctx.Error(ErrorCode::kValidation,
                            "status must be open, filled, cancelled, rejected or all");
    }
    std::string symbol = ctx.Query("symbol").value_or("");
    if (!symbol.empty()) {
        auto norm = exchange::NormalizeSymbol(symbol);
        if (!norm) { co_return ctx.Error(norm.error()); }
        symbol = *norm;
    }
    std::int64_t limit = 100;
    if (auto l = ctx.Query("limit"); l.has_value()) {
        auto n = common::ParseScaled(*l, 0, 1000);
        if (!n || *n < 1) { co_return ctx.Error(ErrorCode::kValidation, "limit must be 1 to 1000"); }
        limit = *n;
    }
    // The task is chosen outside the coroutine: GCC 12 miscompiles co_await inside ?:.
    const auto query = [&] {
        return open ? pg_.Query(ctx.trace, kListOpenOrders, *user, symbol, limit)
                    : pg_.Query(ctx.trace, kListOrders, *user, statuses, symbol, limit);
    };
    auto rows = co_await query();
    if (!rows) { co_return ctx.Error(rows.error()); }
    common::JsonWriter w;
    w.BeginObject().Key("orders").BeginArray();
    for (auto row : *rows) {
        OrderRecord o = ReadOrder(row);
        Response one = OrderResponse(200, o, {});
        w.Raw(one.body);
    }
    w.EndArray().EndObject();
    co_return http::JsonResponse(200, w.Take());
}

http::awaitable<Response> OrderManager::OrderBook(RequestContext& ctx) {
    if (!ready_) { co_return ctx.Error(NotReady()); }
    auto norm = exchange::NormalizeSymbol(ctx.Param("symbol"));
    SymbolState* sym = norm ? FindSymbol(*norm) : nullptr;
    if (sym == nullptr) {
        co_return ctx.Error(ErrorCode::kUnknownSymbol, "symbol is not listed");
    }
    std::int64_t depth = 10;
    if (auto d = ctx.Query("depth"); d.has_value()) {
        auto n = common::ParseScaled(*d, 0, 100);
        if (!n || *n < 1) { co_return ctx.Error(ErrorCode::kValidation, "depth must be 1 to 100"); }
        depth = *n;
    }
    const matching::OrderBook& book = engine_.Book(sym->book);
    common::JsonWriter w;
    w.BeginObject().Field("symbol", sym->instrument.symbol);
    for (auto [key, side] : {std::pair{"bids", matching::Side::kBuy},
                             std::pair{"asks", matching::Side::kSell}}) {
        w.Key(key).BeginArray();
        for (const auto& level : book.Depth(side, static_cast<std::size_t>(depth))) {
            w.BeginObject()
                .Field("price_cents", level.price)
                .Field("quantity", level.quantity)
                .Field("orders", static_cast<std::int64_t>(level.order_count))
                .EndObject();
        }
        w.EndArray();
    }
    w.Key("last_price_cents");
    if (sym->instrument.last_price_cents.has_value()) {
        w.Int(*sym->instrument.last_price_cents);
    } else {
        w.Null();
    }
    w.EndObject();
    co_return http::JsonResponse(200, w.Take());
}

http::awaitable<Response> OrderManager::Symbols(RequestContext& ctx) {
    if (symbols_.empty()) { co_return ctx.Error(NotReady()); }
    common::JsonWriter w;
    w.BeginObject().Key("symbols").BeginArray();
    for (const auto& [name, sym] : symbols_) {
        const auto& i = sym->instrument;
        w.BeginObject()
            .Field("symbol", i.symbol)
            .Field("name", sym->name)
            .Field("tick_size_cents", i.tick_size_cents)
            .Field("reference_price_cents", i.reference_price_cents)
            .Key("last_price_cents");
        if (i.last_price_cents.has_value()) {
            w.Int(*i.last_price_cents);
        } else {
            w.Null();
        }
        const exchange::PriceBand band = exchange::BandOf(i);
        w.Field("band_low_cents", band.low_cents)
            .Field("band_high_cents", band.high_cents)
            .Field("max_order_quantity", i.max_order_quantity)
            .EndObject();
    }
    w.EndArray().EndObject();
    co_return http::JsonResponse(200, w.Take());
}

}  // namespace flowex::orders
