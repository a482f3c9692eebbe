#pragma once
/// wallet-service: cash wallets, share holdings, the ledger, and the per-order reservations
/// that the order saga blocks, settles and releases (DESIGN §4, §6).
///
/// Every mutating route is idempotent on its key (request id, order id, trade id): the
/// ledger's UNIQUE (kind, ref, user_id) and the reservation's primary key make a retried
/// call a no-op that answers like the first, so a restarted order-manager can retry freely.
/// Each route runs in one PostgreSQL transaction: it happens whole or not at all.
#include <cstdint>

#include "flowex/common/json.hpp"
#include "flowex/http/context.hpp"
#include "flowex/http/router.hpp"
#include "flowex/storage/pg.hpp"
#include "flowex/telemetry/api/trace.hpp"

namespace flowex::wallet {

class WalletService {
public:
    WalletService(storage::PgPool& pg, telemetry::Tracer tracer) : pg_(pg), tracer_(tracer) {}

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
    telemetry::Tracer tracer_;
};

}  // namespace flowex::wallet
