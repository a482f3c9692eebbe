#pragma once
/// risk-manager: pre-trade checks (`POST /validate`). The rules are the pure
/// `exchange::Validate`; this adds the data they need — the instrument with its last trade
/// price, and the caller's open-order count — from PostgreSQL.
#include "flowex/exchange/risk.hpp"
#include "flowex/http/context.hpp"
#include "flowex/http/router.hpp"
#include "flowex/storage/pg.hpp"
#include "flowex/telemetry/api/trace.hpp"

namespace flowex::risk {

class RiskService {
public:
    RiskService(storage::PgPool& pg, telemetry::Tracer tracer, exchange::RiskLimits limits)
        : pg_(pg), tracer_(tracer), limits_(limits) {}

    void Register(http::Router& router);
    http::awaitable<http::Response> Validate(http::RequestContext& ctx);

private:
    storage::PgPool& pg_;
    telemetry::Tracer tracer_;
    exchange::RiskLimits limits_;
};

}  // namespace flowex::risk
