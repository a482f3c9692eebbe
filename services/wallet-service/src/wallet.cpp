#include "wallet.hpp"

#include <set>

#include "flowex/common/ids.hpp"
#include "flowex/common/json.hpp"
#include "flowex/common/money.hpp"
#include "flowex/exchange/accounts.hpp"
#include "flowex/exchange/order.hpp"
#include "flowex/service/internal_auth.hpp"
#include "flowex/service/log.hpp"
#include "flowex/service/trace_bridge.hpp"
#include "flowex/storage/pg_array.hpp"

namespace flowex::wallet {

using common::Error;
using common::ErrorCode;
using http::RequestContext;
using http::Response;
using storage::PgStatement;

namespace {

// ---- SQL ----------------------------------------------------------------------------------
constexpr PgStatement kSelectWallet{
    "wallet_select", "SELECT balance_cents, blocked_cents FROM wallets WHERE user_id = $1"};
constexpr PgStatement kInsertWalletIfNew{
    "wallet_insert_if_new", "INSERT INTO wallets (user_id) VALUES ($1) ON CONFLICT DO NOTHING"};
constexpr PgStatement kInsertLedger{
    "ledger_insert",
    "INSERT INTO transactions (user_id, kind, ref, symbol, cash_delta_cents, blocked_delta_cents, "
    "quantity_delta, blocked_quantity_delta) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
    "ON CONFLICT (kind, ref, user_id) DO NOTHING RETURNING transaction_id"};
constexpr PgStatement kAddCash{
    "wallet_add_cash",
    "UPDATE wallets SET balance_cents = balance_cents + $2, updated_at = now() "
    "WHERE user_id = $1 AND balance_cents - blocked_cents + $2 >= 0"};
// Blocking is one statement (one round trip, one commit): block the cash or shares if they
// are available, record the reservation and its ledger row. No row back: not available (or
// a replay, which the caller tells apart). A replay while the cash is still available fails
// on the reservation's primary key and changes nothing. The reservation and the ledger row
// are written only FROM the wallet or holding row just blocked, so their user exists (they
// have no foreign keys: db/migrations/0006); a BUY's symbol is looked up, and an unlisted one
// is NULL, which the NOT NULL constraint refuses with the whole statement.
constexpr PgStatement kBlockCashReserve{
    "wallet_block_cash_reserve",
    "WITH w AS (UPDATE wallets SET blocked_cents = blocked_cents + $5, updated_at = now() "
    "WHERE user_id = $2 AND balance_cents - blocked_cents >= $5 RETURNING user_id), "
    "r AS (INSERT INTO reservations (order_id, user_id, side, symbol, price_cents, "
    "remaining_cents, remaining_quantity) SELECT $1, $2, 'BUY', "
    "(SELECT symbol FROM instruments WHERE symbol = $3), $4, $5, $6 FROM w "
    "RETURNING order_id) "
    "INSERT INTO transactions (user_id, kind, ref, symbol, cash_delta_cents, blocked_delta_cents, "
    "quantity_delta, blocked_quantity_delta) SELECT $2, 'block', $7, $3, 0, $5, 0, 0 FROM r "
    "RETURNING transaction_id",
    "wallets", "UPDATE"};
constexpr PgStatement kBlockSharesReserve{
    "holdings_block_shares_reserve",
    "WITH h AS (UPDATE holdings SET blocked_quantity = blocked_quantity + $4 "
    "WHERE user_id = $2 AND symbol = $3 AND quantity - blocked_quantity >= $4 RETURNING user_id), "
    "r AS (INSERT INTO reservations (order_id, user_id, side, symbol, price_cents, "
    "remaining_cents, remaining_quantity) SELECT $1, $2, 'SELL', $3, NULL, 0, $4 FROM h "
    "RETURNING order_id) "
    "INSERT INTO transactions (user_id, kind, ref, symbol, cash_delta_cents, blocked_delta_cents, "
    "quantity_delta, blocked_quantity_delta) SELECT $2, 'block', $5, $3, 0, 0, 0, $4 FROM r "
    "RETURNING transaction_id",
    "holdings", "UPDATE"};
constexpr PgStatement kSymbolListed{"instrument_listed",
                                    "SELECT 1 FROM instruments WHERE symbol = $1", "instruments"};
constexpr PgStatement kReservationExists{
    "reservation_exists", "SELECT 1 FROM reservations WHERE order_id = $1"};
// Releasing is one statement too: mark the reservation released, unblock what it still held,
// write the ledger row; it returns what was released (no row: unknown or already released).
constexpr PgStatement kReleaseAll{
    "reservation_release_all",
    "WITH old AS (SELECT order_id, user_id, side, symbol, remaining_cents, remaining_quantity "
    "FROM reservations WHERE order_id = $1 AND NOT released FOR UPDATE), "
    "rel AS (UPDATE reservations r SET released = true, remaining_cents = 0, "
    "remaining_quantity = 0 FROM old WHERE r.order_id = old.order_id "
    "RETURNING old.user_id, old.side, old.symbol, old.remaining_cents, "
    "CASE WHEN old.side = 'SELL' THEN old.remaining_quantity ELSE 0 END AS remaining_quantity), "
    "cash AS (UPDATE wallets w SET blocked_cents = w.blocked_cents - rel.remaining_cents, "
    "updated_at = now() FROM rel WHERE rel.side = 'BUY' AND rel.remaining_cents > 0 "
    "AND w.user_id = rel.user_id RETURNING 1), "
    "shares AS (UPDATE holdings h SET blocked_quantity = h.blocked_quantity - rel.remaining_quantity "
    "FROM rel WHERE rel.side = 'SELL' AND rel.remaining_quantity > 0 AND h.user_id = rel.user_id "
    "AND h.symbol = rel.symbol RETURNING 1), "
    "ledger AS (INSERT INTO transactions (user_id, kind, ref, symbol, cash_delta_cents, "
    "blocked_delta_cents, quantity_delta, blocked_quantity_delta) SELECT rel.user_id, 'release', "
    "$2, rel.symbol, 0, -rel.remaining_cents, 0, -rel.remaining_quantity FROM rel "
    "ON CONFLICT (kind, ref, user_id) DO NOTHING RETURNING 1) "
    "SELECT user_id, side, symbol, remaining_cents, remaining_quantity FROM rel",
    "reservations", "UPDATE"};
// Settling a trade is one statement. The seller's ledger row is the "settled once" guard:
// on a replay its INSERT finds the row (ON CONFLICT DO NOTHING, after waiting for a
// concurrent settlement of the same trade to commit), every other step is conditioned on
// it and the statement answers settled = 0 having changed nothing — no error, so a replay
// inside a batch does not abort the others. Otherwise the buyer's and the seller's
// reservations must cover the trade (same user and symbol, the BUY blocked at no less than
// the price, enough quantity left) and the seller's shares be blocked: else a step finds no
// row, and the final division by the product of the steps' row counts (or a NULL into a
// NOT NULL column, or a CHECK) fails the whole statement — and the batch it is in.
// A reservation the trade uses up (nothing left: the order is filled, and this was the last
// of its trades to settle, since each takes only its own quantity) is released by it: there
// is nothing to unblock, so no release statement and no ledger row of zeros follow.
// $1 trade_id, $2 buy order, $3 sell order, $4 buyer, $5 seller, $6 symbol, $7 price,
// $8 quantity, $9 cost (= price × quantity).
constexpr PgStatement kSettleTrade{
    "wallet_settle_trade",
    "WITH guard AS (INSERT INTO transactions (user_id, kind, ref, symbol, cash_delta_cents, "
    "blocked_delta_cents, quantity_delta, blocked_quantity_delta) VALUES ($5::bigint, "
    "'trade_sell', $1::text, $6::text, $9::bigint, 0, -$8::bigint, -$8::bigint) "
    "ON CONFLICT (kind, ref, user_id) DO NOTHING RETURNING 1), "
    "b AS (UPDATE reservations SET remaining_cents = remaining_cents - price_cents * $8::bigint, "
    "remaining_quantity = remaining_quantity - $8::bigint, "
    "released = (remaining_quantity = $8::bigint AND remaining_cents = price_cents * $8::bigint) "
    "WHERE order_id = $2::uuid "
    "AND side = 'BUY' AND NOT released AND remaining_quantity >= $8::bigint "
    "AND user_id = $4::bigint AND symbol = $6::text AND price_cents >= $7::bigint "
    "AND EXISTS (SELECT 1 FROM guard) RETURNING price_cents * $8::bigint AS unblock), "
    "pay AS (UPDATE wallets SET balance_cents = balance_cents - $9::bigint, "
    "blocked_cents = blocked_cents - (SELECT unblock FROM b), updated_at = now() "
    "WHERE user_id = $4::bigint AND EXISTS (SELECT 1 FROM guard) RETURNING 1), "
    "receive AS (INSERT INTO holdings (user_id, symbol, quantity, cost_basis_cents) "
    "SELECT $4::bigint, $6::text, $8::bigint, $9::bigint FROM b ON CONFLICT (user_id, symbol) "
    "DO UPDATE SET quantity = holdings.quantity + EXCLUDED.quantity, "
    "cost_basis_cents = holdings.cost_basis_cents + EXCLUDED.cost_basis_cents RETURNING 1), "
    "buy_ledger AS (INSERT INTO transactions (user_id, kind, ref, symbol, cash_delta_cents, "
    "blocked_delta_cents, quantity_delta, blocked_quantity_delta) SELECT $4::bigint, "
    "'trade_buy', $1::text, $6::text, -$9::bigint, -b.unblock, $8::bigint, 0 FROM b RETURNING 1), "
    "s AS (UPDATE reservations SET remaining_quantity = remaining_quantity - $8::bigint, "
    "released = (remaining_quantity = $8::bigint) "
    "WHERE order_id = $3::uuid AND side = 'SELL' AND NOT released "
    "AND remaining_quantity >= $8::bigint AND user_id = $5::bigint AND symbol = $6::text "
    "AND EXISTS (SELECT 1 FROM guard) RETURNING 1), "
    "deliver AS (UPDATE holdings SET cost_basis_cents = cost_basis_cents - "
    "cost_basis_cents * $8::bigint / quantity, quantity = quantity - $8::bigint, "
    "blocked_quantity = blocked_quantity - $8::bigint WHERE user_id = $5::bigint "
    "AND symbol = $6::text AND blocked_quantity >= $8::bigint AND EXISTS (SELECT 1 FROM s) "
    "RETURNING 1), "
    "credit AS (INSERT INTO wallets (user_id, balance_cents) SELECT $5::bigint, $9::bigint "
    "FROM deliver ON CONFLICT (user_id) DO UPDATE SET balance_cents = wallets.balance_cents + "
    "EXCLUDED.balance_cents, updated_at = now() RETURNING 1) "
    "SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM guard) THEN 0 ELSE 1 / ("
    "(SELECT count(*) FROM pay) * (SELECT count(*) FROM receive) * "
    "(SELECT count(*) FROM buy_ledger) * (SELECT count(*) FROM credit))::int END AS settled",
    "wallets", "UPDATE"};
// A settlement batch first takes a transaction-scoped advisory lock on each of its users,
// in ascending user_id ($1 is sorted, and sorted again here): two batches settling trades
// between the same users in opposite roles would otherwise lock the two wallets in opposite
// orders and deadlock (PostgreSQL breaks that only after deadlock_timeout, 1 s, while
// everyone else waiting on those hot rows queues behind). Every statement that writes the
// wallet, holding or reservation rows of more than one user takes these locks first; the
// others each write one user's rows and so cannot close a cycle with a batch. An advisory
// lock writes no WAL and dirties no page, where `SELECT … FOR UPDATE` wrote a record for
// each row it locked, and it covers a wallet or holding the batch is about to create too.
// The keys are user ids: the only other advisory lock flowex takes is the migrations' (a
// session lock on "flowexmg" as an int64, far above any user id).
constexpr PgStatement kLockUsers{
    "wallet_lock_users",
    "SELECT pg_advisory_xact_lock(user_id) FROM "
    "(SELECT unnest($1::bigint[]) AS user_id ORDER BY 1 OFFSET 0) AS users",
    {}, "SELECT"};
// One POST /settle settles at most this many trades (order-manager sends more in parts).
constexpr std::size_t kMaxSettleBatch = 64;
// One POST /release-funds {order_ids} releases at most this many reservations.
constexpr std::size_t kMaxReleaseBatch = 256;
constexpr PgStatement kGrantShares{
    "holdings_grant",
    "INSERT INTO holdings (user_id, symbol, quantity) VALUES ($1, $2, $3) "
    "ON CONFLICT (user_id, symbol) DO UPDATE SET quantity = holdings.quantity + EXCLUDED.quantity"};
constexpr PgStatement kUserAndSymbolExist{
    "grant_check",
    "SELECT EXISTS (SELECT 1 FROM users WHERE user_id = $1), "
    "EXISTS (SELECT 1 FROM instruments WHERE symbol = $2)",
    "users"};
constexpr PgStatement kSelectLedger{
    "ledger_select",
    "SELECT transaction_id, kind, ref, symbol, cash_delta_cents, blocked_delta_cents, "
    "quantity_delta, blocked_quantity_delta, created_at FROM transactions WHERE user_id = $1 "
    "ORDER BY transaction_id DESC LIMIT $2"};

// What a deposit or withdrawal request_id already recorded for a user (both directions).
constexpr PgStatement kSelectCashByRef{
    "ledger_cash_by_ref",
    "SELECT cash_delta_cents FROM transactions WHERE user_id = $1 AND ref = $2 "
    "AND kind IN ('deposit', 'withdrawal')"};

constexpr std::int64_t kMaxLedgerPage = 500;

/// A UUID (already checked with IsUuid) in its canonical lowercase form. Ledger refs are text:
/// without this, a retry that spelled an order or trade id in capitals would be a new key
/// for the same order or trade, and not be recognised as a replay.
std::string CanonicalUuid(std::string id) {
    for (char& c : id) {
        if (c >= 'A' && c <= 'F') { c = static_cast<char>(c - 'A' + 'a'); }
    }
    return id;
}

/// Returned by a transaction body to roll back a retried call that was already applied.
Error Replay() { return Error{ErrorCode::kConflict, "replay"}; }
bool IsReplay(const Error& e) { return e.code == ErrorCode::kConflict && e.message == "replay"; }

struct Ledger {
    std::int64_t user_id;
    std::string_view kind;
    std::string ref;
    std::optional<std::string> symbol;
    std::int64_t cash = 0;
    std::int64_t blocked_cash = 0;
    std::int64_t quantity = 0;
    std::int64_t blocked_quantity = 0;
};

storage::PgParams LedgerParams(const Ledger& l) {
    return {l.user_id, l.kind, l.ref, l.symbol, l.cash, l.blocked_cash, l.quantity,
            l.blocked_quantity};
}

Error InvariantBreach(std::string what) {
    // A settlement that finds less reserved than the trade needs means a bug or tampering:
    // refuse it (nothing is written) and shout.
    spdlog::error("wallet invariant breach: {}", what);
    return Error{ErrorCode::kInternal, "settlement refused: reservation does not cover the trade"};
}

}  // namespace

void WalletService::Register(http::Router& router) {
    auto bind = [this](auto method) {
        return [this, method](RequestContext& ctx) { return (this->*method)(ctx); };
    };
    router.Get("/balance", bind(&WalletService::Balance));
    router.Get("/transactions", bind(&WalletService::Transactions));
    router.Post("/update-balance", bind(&WalletService::UpdateBalance));
    router.Post("/block-funds", bind(&WalletService::BlockFunds));
    router.Post("/release-funds", bind(&WalletService::ReleaseFunds));
    router.Post("/settle", bind(&WalletService::Settle));
    router.Post("/admin/grant-shares", bind(&WalletService::GrantShares));
}

http::awaitable<Response> WalletService::BalanceOf(RequestContext& ctx,
                                                   const common::TraceContext& parent,
                                                   std::int64_t user_id, int status) {
    auto rows = co_await pg_.Query(parent, kSelectWallet, user_id);
    if (!rows) { co_return ctx.Error(rows.error()); }
    std::int64_t balance = 0;
    std::int64_t blocked = 0;
    if (!rows->empty()) {
        balance = rows->front().Int64(0);
        blocked = rows->front().Int64(1);
    }
    common::JsonWriter w;
    w.BeginObject()
        .Field("user_id", user_id)
        .Field("balance_cents", balance)
        .Field("blocked_balance_cents", blocked)
        .Field("available_cents", balance - blocked)
        .EndObject();
    co_return http::JsonResponse(status, w.Take());
}

http::awaitable<Response> WalletService::Balance(RequestContext& ctx) {
    auto user = service::CallerUserId(ctx);
    if (!user) { co_return ctx.Error(user.error()); }
    co_return co_await BalanceOf(ctx, ctx.trace, *user, 200);
}

http::awaitable<Response> WalletService::Transactions(RequestContext& ctx) {
    auto user = service::CallerUserId(ctx);
    if (!user) { co_return ctx.Error(user.error()); }
    std::int64_t limit = 50;
    if (auto l = ctx.Query("limit"); l.has_value()) {
        auto n = common::ParseScaled(*l, 0, kMaxLedgerPage);
        if (!n || *n < 1) {
            co_return ctx.Error(ErrorCode::kValidation, "limit must be between 1 and 500");
        }
        limit = *n;
    }
    auto rows = co_await pg_.Query(ctx.trace, kSelectLedger, *user, limit);
    if (!rows) { co_return ctx.Error(rows.error()); }
    common::JsonWriter w;
    w.BeginObject().Key("transactions").BeginArray();
    for (auto row : *rows) {
        w.BeginObject()
            .Field("transaction_id", row.Int64(0))
            .Field("kind", row.Text(1))
            .Field("ref", row.Text(2));
        if (!row.IsNull(3)) { w.Field("symbol", row.Text(3)); }
        w.Field("cash_delta_cents", row.Int64(4))
            .Field("blocked_delta_cents", row.Int64(5))
            .Field("quantity_delta", row.Int64(6))
            .Field("blocked_quantity_delta", row.Int64(7))
            .Field("created_at", row.Text(8))
            .EndObject();
    }
    w.EndArray().EndObject();
    co_return http::JsonResponse(200, w.Take());
}

http::awaitable<Response> WalletService::UpdateBalance(RequestContext& ctx) {
    auto user = service::CallerUserId(ctx);
    if (!user) { co_return ctx.Error(user.error()); }
    auto body = ctx.JsonBody();
    if (!body) { co_return ctx.Error(body.error()); }
    common::JsonObjectReader r(*body);
    auto amount = r.Int("amount_cents", -common::kMaxCents, common::kMaxCents);
    if (!amount) { co_return ctx.Error(amount.error()); }
    auto request_id = r.String("request_id");
    if (!request_id) { co_return ctx.Error(request_id.error()); }
    if (*amount == 0 || request_id->empty() || request_id->size() > 128) {
        co_return ctx.Error(ErrorCode::kValidation,
                            "amount_cents must be non-zero and request_id 1 to 128 characters");
    }
    const std::int64_t uid = *user;
    const std::int64_t cents = *amount;
    service::LogInfo(ctx.trace, "{} {} for user {}", cents > 0 ? "Depositing" : "Withdrawing",
                     common::FormatDollars(cents > 0 ? cents : -cents), uid);
    // Named, not a temporary in the co_await expression: GCC 12 destroys a capturing
    // lambda there twice.
    storage::TxBody st_body = [&](storage::PgTx& tx) -> storage::Task<common::Status> {
        if (auto w = co_await tx.Query(ctx.trace, kInsertWalletIfNew, uid); !w) {
            co_return std::move(w).error();
        }
        Ledger entry{uid, cents > 0 ? "deposit" : "withdrawal", *request_id, std::nullopt, cents};
        auto led = co_await tx.QueryWith(ctx.trace, kInsertLedger, LedgerParams(entry));
        if (!led) { co_return std::move(led).error(); }
        // A request_id names one request: sent again with the same amount it is a retry
        // (answered as before, nothing applied twice); with another amount, or the other
        // direction, it is a client error, and the transaction rolls back.
        auto recorded = co_await tx.Query(ctx.trace, kSelectCashByRef, uid, *request_id);
        if (!recorded) { co_return std::move(recorded).error(); }
        for (const auto& row : *recorded) {
            if (row.Int64(0) != cents) {
                co_return Error{ErrorCode::kConflict,
                                "request_id was already used for a different amount"};
            }
        }
        if (led->empty()) { co_return Replay(); }
        auto upd = co_await tx.Query(ctx.trace, kAddCash, uid, cents);
        if (!upd) { co_return std::move(upd).error(); }
        if (upd->affected() == 0) {
            co_return Error{ErrorCode::kInsufficientFunds, "not enough available cash to withdraw"};
        }
        co_return common::Ok();
    };
    auto st = co_await pg_.Transaction(ctx.trace, std::move(st_body));
    if (!st && !IsReplay(st.error())) { co_return ctx.Error(st.error()); }
    co_return co_await BalanceOf(ctx, ctx.trace, uid, 200);
}

http::awaitable<Response> WalletService::BlockFunds(RequestContext& ctx) {
    telemetry::Span span = service::StartChild(tracer_, "block_funds", ctx.trace);
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
    auto order_id = r.String("order_id");
    if (!order_id) { co_return fail(order_id.error()); }
    auto side_text = r.String("side");
    if (!side_text) { co_return fail(side_text.error()); }
    auto symbol = r.String("symbol");
    if (!symbol) { co_return fail(symbol.error()); }
    auto quantity = r.Int("quantity", 1, common::kMaxQuantity);
    if (!quantity) { co_return fail(quantity.error()); }
    auto price = r.OptInt("price_cents", 1, common::kMaxCents);
    if (!price) { co_return fail(price.error()); }
    auto side = exchange::ParseSide(*side_text);
    if (!common::IsUuid(*order_id) || !side.has_value()) {
        co_return fail(Error{ErrorCode::kValidation, "order_id must be a UUID, side BUY or SELL"});
    }
    *order_id = CanonicalUuid(std::move(*order_id));
    if (*side == exchange::Side::kBuy && !price->has_value()) {
        co_return fail(Error{ErrorCode::kValidation, "a BUY reservation needs price_cents"});
    }
    auto reservation = exchange::ReservationFor(*side, price->value_or(1), *quantity);
    if (!reservation) { co_return fail(reservation.error()); }
    const std::int64_t uid = *user;
    span.SetAttribute("user_id", uid);
    span.SetAttribute("order_id", *order_id);
    span.SetAttribute("symbol", *symbol);
    span.SetAttribute("side", *side_text);
    if (*side == exchange::Side::kBuy) {
        span.SetAttribute("amount", static_cast<double>(reservation->cents) / 100.0);
        service::LogInfo(inner, "Blocking {} for user {}",
                         common::FormatDollars(reservation->cents), uid);
    } else {
        span.SetAttribute("quantity", reservation->quantity);
        service::LogInfo(inner, "Blocking {} {} shares for user {}", reservation->quantity,
                         *symbol, uid);
    }

    const bool buy = *side == exchange::Side::kBuy;
    // One co_await per statement, its parameters named first (GCC 12 destroys temporaries
    // of a conditional co_await expression twice).
    storage::PgParams params;
    if (buy) {
        params = {*order_id, uid, *symbol, price->value_or(0), reservation->cents, *quantity, *order_id};
    } else {
        params = {*order_id, uid, *symbol, *quantity, *order_id};
    }
    const storage::PgStatement& stmt = buy ? kBlockCashReserve : kBlockSharesReserve;
    // Committed without waiting for the disk: see WalletService (wallet.hpp).
    auto blocked = co_await relaxed_.QueryWith(inner, stmt, std::move(params));
    bool replayed = false;
    if (!blocked) {
        // The reservation exists already: a replay of a block that succeeded.
        if (storage::UniqueViolationConstraint(blocked.error()) != "reservations_pkey") {
            // A BUY of an unlisted symbol fails on the reservation's NOT NULL symbol: say so.
            if (buy && blocked.error().code == ErrorCode::kInternal) {
                auto listed = co_await pg_.Query(inner, kSymbolListed, *symbol);
                if (listed && listed->empty()) {
                    co_return fail(
                        Error{ErrorCode::kUnknownSymbol, "symbol " + *symbol + " is not listed"});
                }
            }
            co_return fail(blocked.error());
        }
        replayed = true;
    } else if (blocked->empty()) {
        // Not available — unless this is a replay of a block that took it.
        auto exists = co_await pg_.Query(inner, kReservationExists, *order_id);
        if (!exists) { co_return fail(exists.error()); }
        if (exists->empty()) {
            Error e = buy ? Error{ErrorCode::kInsufficientFunds,
                                  "not enough available cash: this order needs " +
                                      common::FormatDollars(reservation->cents)}
                          : Error{ErrorCode::kInsufficientShares,
                                  "not enough available " + *symbol + " shares to sell"};
            service::LogInfo(inner, "Rejected: {} for user {}", e.message, uid);
            co_return fail(e);
        }
        replayed = true;
    }
    span.AddEvent("funds_blocked", {{"order_id", std::string_view(*order_id)},
                                    {"amount_cents", reservation->cents},
                                    {"quantity", reservation->quantity}});
    common::JsonWriter w;
    w.BeginObject()
        .Field("order_id", *order_id)
        .Field("blocked_cents", reservation->cents)
        .Field("blocked_quantity", reservation->quantity)
        .Field("replayed", replayed)
        .EndObject();
    co_return http::JsonResponse(200, w.Take());
}

http::awaitable<Response> WalletService::ReleaseMany(RequestContext& ctx, telemetry::Span& span,
                                                    const common::JsonValue& list) {
    // {"order_ids": [...]}: the sweeper's releases of finished orders, in one commit.
    if (!list.is_array()) { co_return ctx.Error(ErrorCode::kInvalidJson, "order_ids must be an array"); }
    const auto& ids = list.as_array();
    if (ids.empty() || ids.size() > kMaxReleaseBatch) {
        co_return ctx.Error(ErrorCode::kValidation,
                            "order_ids must hold 1 to " + std::to_string(kMaxReleaseBatch) + " ids");
    }
    storage::PgBatch batch;
    std::vector<std::string> canonical_ids;
    canonical_ids.reserve(ids.size());
    for (const common::JsonValue& id : ids) {
        if (!id.is_string() || !common::IsUuid(id.as_string())) {
            co_return ctx.Error(ErrorCode::kValidation, "order_ids must be UUIDs");
        }
        const std::string& canonical = canonical_ids.emplace_back(CanonicalUuid(id.as_string()));
        batch.Add(kReleaseAll, canonical, canonical);
    }
    span.SetAttribute("orders", static_cast<std::int64_t>(ids.size()));
    auto rows = co_await relaxed_.Batch(service::ToPlain(span.GetContext()), std::move(batch));
    if (!rows) {
        service::MarkError(span, rows.error());
        co_return ctx.Error(rows.error());
    }
    common::JsonWriter w;
    w.BeginObject().Key("released").BeginArray();
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const storage::PgRows& rel = (*rows)[i];
        w.BeginObject()
            .Field("order_id", canonical_ids[i])
            .Field("released_cents", rel.empty() ? 0 : rel.front().Int64(3))
            .Field("released_quantity", rel.empty() ? 0 : rel.front().Int64(4))
            .EndObject();
    }
    w.EndArray().EndObject();
    co_return http::JsonResponse(200, w.Take());
}

http::awaitable<Response> WalletService::ReleaseFunds(RequestContext& ctx) {
    telemetry::Span span = service::StartChild(tracer_, "release_funds", ctx.trace);
    const common::TraceContext inner = service::ToPlain(span.GetContext());
    auto body = ctx.JsonBody();
    if (!body) { co_return ctx.Error(body.error()); }
    if (const common::JsonValue* list = body->Find("order_ids"); list != nullptr) {
        co_return co_await ReleaseMany(ctx, span, *list);
    }
    auto order_id = common::JsonObjectReader(*body).String("order_id");
    if (!order_id) { co_return ctx.Error(order_id.error()); }
    if (!common::IsUuid(*order_id)) {
        co_return ctx.Error(ErrorCode::kValidation, "order_id must be a UUID");
    }
    *order_id = CanonicalUuid(std::move(*order_id));
    span.SetAttribute("order_id", *order_id);
    std::int64_t released_cents = 0;
    std::int64_t released_quantity = 0;
    auto rel = co_await relaxed_.Query(inner, kReleaseAll, *order_id, *order_id);
    if (!rel) {
        service::MarkError(span, rel.error());
        co_return ctx.Error(rel.error());
    }
    if (!rel->empty()) {  // else unknown or already released
        released_cents = rel->front().Int64(3);
        released_quantity = rel->front().Int64(4);
    }
    span.SetAttribute("released_cents", released_cents);
    span.SetAttribute("released_quantity", released_quantity);
    common::JsonWriter w;
    w.BeginObject()
        .Field("order_id", *order_id)
        .Field("released_cents", released_cents)
        .Field("released_quantity", released_quantity)
        .EndObject();
    co_return http::JsonResponse(200, w.Take());
}

namespace {

struct Settlement {
    std::string trade_id, buy_order_id, sell_order_id, symbol;
    std::int64_t buyer_id = 0, seller_id = 0, price_cents = 0, quantity = 0;
};

common::Result<Settlement> ReadSettlement(const common::JsonValue& value) {
    common::JsonObjectReader r(value);
    auto trade_id = r.String("trade_id");
    auto buy_order = r.String("buy_order_id");
    auto sell_order = r.String("sell_order_id");
    auto buyer = r.Int("buyer_id", 1, INT64_MAX);
    auto seller = r.Int("seller_id", 1, INT64_MAX);
    auto symbol = r.String("symbol");
    auto price = r.Int("price_cents", 1, common::kMaxCents);
    auto quantity = r.Int("quantity", 1, common::kMaxQuantity);
    for (const common::Error* e :
         {trade_id.ok() ? nullptr : &trade_id.error(), buy_order.ok() ? nullptr : &buy_order.error(),
          sell_order.ok() ? nullptr : &sell_order.error(), buyer.ok() ? nullptr : &buyer.error(),
          seller.ok() ? nullptr : &seller.error(), symbol.ok() ? nullptr : &symbol.error(),
          price.ok() ? nullptr : &price.error(), quantity.ok() ? nullptr : &quantity.error()}) {
        if (e != nullptr) { return *e; }
    }
    if (!common::IsUuid(*trade_id) || !common::IsUuid(*buy_order) ||
        !common::IsUuid(*sell_order) || *buyer == *seller || !exchange::NormalizeSymbol(*symbol) ||
        *price > common::kMaxCents / *quantity) {
        return Error{ErrorCode::kValidation, "malformed settlement"};
    }
    return Settlement{CanonicalUuid(*trade_id),
                      CanonicalUuid(*buy_order),
                      CanonicalUuid(*sell_order),
                      *symbol,
                      *buyer,
                      *seller,
                      *price,
                      *quantity};
}

}  // namespace

http::awaitable<Response> WalletService::Settle(RequestContext& ctx) {
    // One trade {trade_id, …}, or several with the order whose reservation to release once
    // they are settled: {"trades": [{trade_id, …}, …], "release_order_id": "…"}. Either
    // way one batch, one commit: all of it happens or none.
    auto body = ctx.JsonBody();
    if (!body) { co_return ctx.Error(body.error()); }
    std::vector<Settlement> trades;
    std::optional<std::string> release;
    const common::JsonValue* list = body->Find("trades");
    if (list == nullptr) {
        auto one = ReadSettlement(*body);
        if (!one) { co_return ctx.Error(one.error()); }
        trades.push_back(std::move(one).value());
    } else {
        if (!list->is_array()) { co_return ctx.Error(ErrorCode::kInvalidJson, "trades must be an array"); }
        if (list->as_array().empty() || list->as_array().size() > kMaxSettleBatch) {
            co_return ctx.Error(ErrorCode::kValidation, "trades must hold 1 to " +
                                                            std::to_string(kMaxSettleBatch) + " trades");
        }
        for (const common::JsonValue& item : list->as_array()) {
            auto one = ReadSettlement(item);
            if (!one) { co_return ctx.Error(one.error()); }
            trades.push_back(std::move(one).value());
        }
        auto order_id = common::JsonObjectReader(*body).OptString("release_order_id");
        if (!order_id) { co_return ctx.Error(order_id.error()); }
        if (order_id->has_value() && !common::IsUuid(**order_id)) {
            co_return ctx.Error(ErrorCode::kValidation, "release_order_id must be a UUID");
        }
        if (order_id->has_value()) { release = CanonicalUuid(std::move(**order_id)); }
    }

    // First the users' locks in key order (kLockUsers), then a settle_trade span per trade
    // (and release_funds for the release), each the parent of its statement's span.
    std::vector<telemetry::Span> spans;
    spans.reserve(trades.size() + 1);
    storage::PgBatch batch;
    std::set<std::int64_t> users;
    for (const Settlement& t : trades) {
        users.insert(t.buyer_id);
        users.insert(t.seller_id);
    }
    batch.Add(kLockUsers, storage::PgArrayLiteral(users));
    constexpr std::size_t kLocks = 1;  // the statements before the settlements
    for (const Settlement& t : trades) {
        telemetry::Span& span = spans.emplace_back(service::StartChild(tracer_, "settle_trade", ctx.trace));
        span.SetAttribute("trade_id", t.trade_id);
        span.SetAttribute("symbol", t.symbol);
        span.SetAttribute("quantity", t.quantity);
        span.SetAttribute("price", static_cast<double>(t.price_cents) / 100.0);
        span.SetAttribute("buyer_id", t.buyer_id);
        span.SetAttribute("seller_id", t.seller_id);
        batch.AddUnder(service::ToPlain(span.GetContext()), kSettleTrade,
                       {t.trade_id, t.buy_order_id, t.sell_order_id, t.buyer_id, t.seller_id,
                        t.symbol, t.price_cents, t.quantity, t.price_cents * t.quantity});
    }
    if (release.has_value()) {
        telemetry::Span& span = spans.emplace_back(service::StartChild(tracer_, "release_funds", ctx.trace));
        span.SetAttribute("order_id", *release);
        batch.AddUnder(service::ToPlain(span.GetContext()), kReleaseAll, {*release, *release});
    }
    // A deadlock with a concurrent settlement of the same users in the other roles is
    // retried (Batch retries 40P01/40001 like Transaction).
    auto rows = co_await relaxed_.Batch(ctx.trace, std::move(batch));
    if (!rows) {
        Error e = rows.error();
        if (e.code == ErrorCode::kInternal) {
            std::string which;
            for (const Settlement& t : trades) { which += (which.empty() ? "" : ", ") + t.trade_id; }
            e = InvariantBreach("trade(s) " + which + " not covered by the reservations and holdings");
        }
        for (telemetry::Span& span : spans) { service::MarkError(span, e); }
        co_return ctx.Error(e);
    }
    common::JsonWriter w;
    w.BeginObject();
    if (list != nullptr) { w.Key("trades").BeginArray(); }
    for (std::size_t i = 0; i < trades.size(); ++i) {
        const Settlement& t = trades[i];
        const storage::PgRows& settled = (*rows)[kLocks + i];
        const bool replayed = settled.empty() || settled.front().Int64(0) == 0;
        spans[i].SetAttribute("replayed", replayed);
        service::LogInfo(service::ToPlain(spans[i].GetContext()),
                         "Settled trade {}: {} {} @ {} (buyer {}, seller {}){}", t.trade_id,
                         t.quantity, t.symbol, common::FormatDollars(t.price_cents), t.buyer_id,
                         t.seller_id, replayed ? " [already settled]" : "");
        if (list != nullptr) { w.BeginObject(); }
        w.Field("trade_id", t.trade_id).Field("replayed", replayed);
        if (list != nullptr) { w.EndObject(); }
    }
    if (list != nullptr) { w.EndArray(); }
    if (release.has_value()) {
        const storage::PgRows& rel = rows->back();
        const std::int64_t cents = rel.empty() ? 0 : rel.front().Int64(3);
        const std::int64_t quantity = rel.empty() ? 0 : rel.front().Int64(4);
        spans.back().SetAttribute("released_cents", cents);
        spans.back().SetAttribute("released_quantity", quantity);
        w.Key("released")
            .BeginObject()
            .Field("order_id", *release)
            .Field("released_cents", cents)
            .Field("released_quantity", quantity)
            .EndObject();
    }
    w.EndObject();
    co_return http::JsonResponse(200, w.Take());
}

http::awaitable<Response> WalletService::GrantShares(RequestContext& ctx) {
    auto body = ctx.JsonBody();
    if (!body) { co_return ctx.Error(body.error()); }
    common::JsonObjectReader r(*body);
    auto user = r.Int("user_id", 1, INT64_MAX);
    if (!user) { co_return ctx.Error(user.error()); }
    auto symbol = r.String("symbol");
    if (!symbol) { co_return ctx.Error(symbol.error()); }
    auto quantity = r.Int("quantity", 1, common::kMaxQuantity);
    if (!quantity) { co_return ctx.Error(quantity.error()); }
    auto request_id = r.String("request_id");
    if (!request_id) { co_return ctx.Error(request_id.error()); }
    auto normalized = exchange::NormalizeSymbol(*symbol);
    if (!normalized) { co_return ctx.Error(normalized.error()); }
    // Named, not a temporary in the co_await expression: GCC 12 destroys a capturing
    // lambda there twice.
    storage::TxBody st_body = [&](storage::PgTx& tx) -> storage::Task<common::Status> {
        auto exists = co_await tx.Query(ctx.trace, kUserAndSymbolExist, *user, *normalized);
        if (!exists) { co_return std::move(exists).error(); }
        if (!exists->front().Bool(0)) { co_return Error{ErrorCode::kNotFound, "no such user"}; }
        if (!exists->front().Bool(1)) {
            co_return Error{ErrorCode::kUnknownSymbol, "symbol " + *normalized + " is not listed"};
        }
        Ledger l{*user, "grant", *request_id, *normalized};
        l.quantity = *quantity;
        auto led = co_await tx.QueryWith(ctx.trace, kInsertLedger, LedgerParams(l));
        if (!led) { co_return std::move(led).error(); }
        if (led->empty()) { co_return Replay(); }
        auto g = co_await tx.Query(ctx.trace, kGrantShares, *user, *normalized, *quantity);
        if (!g) { co_return std::move(g).error(); }
        co_return common::Ok();
    };
    auto st = co_await pg_.Transaction(ctx.trace, std::move(st_body));
    if (!st && !IsReplay(st.error())) { co_return ctx.Error(st.error()); }
    common::JsonWriter w;
    w.BeginObject()
        .Field("user_id", *user)
        .Field("symbol", *normalized)
        .Field("quantity", *quantity)
        .Field("replayed", !st.ok())
        .EndObject();
    co_return http::JsonResponse(200, w.Take());
}

}  // namespace flowex::wallet
