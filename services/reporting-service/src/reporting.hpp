#pragma once
/// reporting-service: a user's positions and trades, computed by SQL joins and cached in
/// Redis (DESIGN §5: `get_positions` → postgresql SELECT with joins → redis `cache_result`,
/// and a cache hit on the second call). Trade events published by order-manager on the
/// `trades` channel invalidate the two parties' entries; after a lost subscription the whole
/// cache is invalidated (a generation number in every key), since events may have been missed.
#include <cstdint>
#include <string>

#include "flowex/http/context.hpp"
#include "flowex/http/router.hpp"
#include "flowex/storage/pg.hpp"
#include "flowex/storage/redis.hpp"
#include "flowex/telemetry/api/trace.hpp"

namespace flowex::reporting {

/// Channel order-manager publishes trade events on (JSON with buyer_id and seller_id).
inline constexpr std::string_view kTradesChannel = "trades";

class ReportingService {
public:
    ReportingService(storage::PgPool& pg, storage::RedisClient& redis, telemetry::Tracer tracer,
                     std::chrono::seconds cache_ttl = std::chrono::seconds(60),
                     std::string key_prefix = {})
        : pg_(pg),
          redis_(redis),
          tracer_(tracer),
          cache_ttl_(cache_ttl),
          key_prefix_(std::move(key_prefix)) {}

    void Register(http::Router& router);
    http::awaitable<http::Response> Positions(http::RequestContext& ctx);
    http::awaitable<http::Response> Trades(http::RequestContext& ctx);

    /// Handles one message of the trades channel (drops the parties' cache entries).
    http::awaitable<void> OnTradeEvent(std::string message);
    /// Invalidates every cache entry (after a reconnect of the subscription).
    void InvalidateAll() noexcept { ++generation_; }

private:
    std::string Key(std::string_view kind, std::int64_t user_id) const;

    storage::PgPool& pg_;
    storage::RedisClient& redis_;
    telemetry::Tracer tracer_;
    std::chrono::seconds cache_ttl_;
    std::string key_prefix_;
    std::uint64_t generation_ = 0;
};

}  // namespace flowex::reporting
