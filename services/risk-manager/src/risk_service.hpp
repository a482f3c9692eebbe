#pragma once
/// risk-manager: pre-trade checks (`POST /validate`). The rules are the pure
/// `exchange::Validate`; this adds the data they need: the instrument's limits from
/// PostgreSQL, and the caller's open-order count and the price the band is centred on (the
/// last trade price, else the reference price) from the request, as order-manager keeps them
/// in memory. An instrument read is used for `instrument_ttl` by requests that bring both;
/// a request without them reads everything from PostgreSQL.
#include <chrono>
#include <string>
#include <unordered_map>

#include "flowex/exchange/risk.hpp"
#include "flowex/http/context.hpp"
#include "flowex/http/router.hpp"
#include "flowex/storage/pg.hpp"
#include "flowex/telemetry/api/trace.hpp"

namespace flowex::risk {

class RiskService {
public:
    /// `instrument_ttl` zero: every request reads its instrument.
    RiskService(storage::PgPool& pg, telemetry::Tracer tracer, exchange::RiskLimits limits,
                std::chrono::nanoseconds instrument_ttl = {})
        : pg_(pg), tracer_(tracer), limits_(limits), instrument_ttl_(instrument_ttl) {}

    void Register(http::Router& router);
    http::awaitable<http::Response> Validate(http::RequestContext& ctx);

private:
    storage::PgPool& pg_;
    telemetry::Tracer tracer_;
    exchange::RiskLimits limits_;
    std::chrono::nanoseconds instrument_ttl_;
    struct CachedInstrument {
        exchange::Instrument instrument;
        std::chrono::steady_clock::time_point read_at;
    };
    /// By symbol; listed instruments only. One io thread: no lock.
    std::unordered_map<std::string, CachedInstrument> instruments_;
};

}  // namespace flowex::risk
