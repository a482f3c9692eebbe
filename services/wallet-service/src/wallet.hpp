#pragma once
/// wallet-service: cash wallets, share holdings, the ledger, and the per-order reservations
/// that the order saga blocks, settles and releases (DESIGN §4, §6).
///
/// Every mutating route is idempotent on its key (request id, order id, trade id): the
/// ledger's UNIQUE (kind, ref, user_id) and the reservation's primary key make a retried
/// call a no-op that answers like the first, so a restarted order-manager can retry freely.
/// Each route runs in one PostgreSQL transaction: it happens whole or not at all.
///
/// Blocks, settlements and releases commit through `relaxed`, a pool whose commits do not wait
/// for their WAL flush (synchronous_commit=off); deposits, withdrawals and grants commit through
/// `pg`, waiting for the disk. Safe because both services write one PostgreSQL, whose WAL is one
/// sequence: a commit that waits for the disk makes every commit before it durable, and a crash
/// loses only a suffix of the commits that did not wait.
/// - A block matters only to the order it was made for, and order-manager's next commit for that
///   order (its INSERT, which reads the reservation, a rejected order's included) waits for the
///   disk: a block lost in a crash belonged to an order that was never acknowledged, and a block
///   whose order was never inserted is released by the sweeper as an orphan.
/// - A settlement or release is made for a trade or a finished order that order-manager has
///   already committed, waiting for the disk, and that records the work still due: a trade with
///   `settled_at IS NULL`, a finished order with an unreleased reservation. order-manager marks a
///   trade settled only after the settlement's answer, so the mark's commit follows the
///   settlement's in the WAL: a crash that loses a settlement loses its mark too, and the
///   sweeper settles (or releases) again; the ledger's keys make a repeat a no-op.
#include <cstdint>

#include "flowex/common/json.hpp"
#include "flowex/http/context.hpp"
#include "flowex/http/router.hpp"
#include "flowex/storage/pg.hpp"
#include "flowex/telemetry/api/trace.hpp"

namespace flowex::wallet {

class WalletService {
public:
    WalletService(storage::PgPool& pg, storage::PgPool& relaxed, telemetry::Tracer tracer)
        : pg_(pg), relaxed_(relaxed), tracer_(tracer) {}

    void Register(http::Router& router);

    http::awaitable<http::Response> Balance(http::RequestContext& ctx);
    http::awaitable<http::Response> Transactions(http::RequestContext& ctx);
    http::awaitable<http::Response> UpdateBalance(http::RequestContext& ctx);
    http::awaitable<http::Response> BlockFunds(http::RequestContext& ctx);
    http::awaitable<http::Response> ReleaseFunds(http::RequestContext& ctx);
    http::awaitable<http::Response> Settle(http::RequestContext& ctx);
    http::awaitable<http::Response> GrantShares(http::RequestContext& ctx);

private:
    /// {"user_id","balance_cents","blocked_balance_cents","available_cents"} for `user_id`.
    http::awaitable<http::Response> BalanceOf(http::RequestContext& ctx,
                                              const common::TraceContext& parent,
                                              std::int64_t user_id, int status);

    http::awaitable<http::Response> ReleaseMany(http::RequestContext& ctx, telemetry::Span& span,
                                                const common::JsonValue& list);

    storage::PgPool& pg_;
    storage::PgPool& relaxed_;
    telemetry::Tracer tracer_;
};

}  // namespace flowex::wallet
