#pragma once
/// The process wiring every flowex service shares, so each main.cpp only declares its own
/// options and registers its handlers:
///
///   - configuration: the common flags with their environment twins (DESIGN §4);
///   - telemetry from the OTEL_* environment (tracing, trace-aware logs, metrics);
///   - the HTTP server with the middleware chain (trace context, access log, internal token),
///     `/health` and `/metrics`;
///   - PostgreSQL: migrations applied at start (waiting for the database if it is not up
///     yet) and a pool on the server's executor;
///   - graceful shutdown on SIGTERM/SIGINT, flushing telemetry.
///
/// Threading: the server runs one io thread by default; the PostgreSQL pool and every
/// handler share it, so a service is single-threaded and needs no locks (CPU-heavy work
/// such as password hashing goes to a worker pool).
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "flowex/common/config.hpp"
#include "flowex/common/result.hpp"
#include "flowex/http/server.hpp"
#include "flowex/storage/pg.hpp"
#include "flowex/storage/redis.hpp"
#include "flowex/service/upstream.hpp"
#include "flowex/telemetry/api/trace.hpp"
#include "flowex/telemetry/logs/logger.hpp"

namespace flowex::service {

struct CommonSettings {
    common::HostPort listen{"127.0.0.1", 0};
    std::string database_url;
    std::string redis_url;
    /// Prefix of every Redis key and channel, so several exchanges (or test runs) can share
    /// one Redis (FLOWEX_REDIS_PREFIX; default none).
    std::string redis_prefix;
    std::string internal_token;
    std::string migrations_dir;
    std::int64_t pg_pool_size = 8;
    /// Open the pool's connections at start (FLOWEX_PG_WARM; see storage::PgPool::Warm).
    bool pg_warm = true;
    std::chrono::nanoseconds upstream_timeout = std::chrono::seconds(5);
    /// Routes answered without a span, their access lines at debug level unless they fail,
    /// comma separated (FLOWEX_UNTRACED_ROUTES): health checks and metric scrapes come every
    /// few seconds from every poller and would bury the orders in the viewer and the logs.
    /// They still count in http_server_request_duration_seconds.
    std::string untraced_routes = "/health,/metrics";
};

struct CommonFlags {
    bool database = false;   ///< --database-url (required) and --migrations-dir
    bool redis = false;      ///< --redis-url (required)
    bool internal = true;    ///< --internal-token required (false: the gateway, which sends it)
};

/// Registers the common flags on `config` with `settings` holding the defaults.
void AddCommonFlags(common::Config& config, CommonSettings& settings, CommonFlags which,
                    std::uint16_t default_port);

class Runtime {
public:
    /// Sets up logging and tracing for `service_name` (OTEL_SERVICE_NAME wins when set).
    /// `internal`: require X-Internal-Token. `own_health`: the service registers its own
    /// /health (the gateway's aggregates the others) instead of the runtime's.
    Runtime(std::string service_name, const CommonSettings& settings, bool internal,
            bool own_health = false);
    ~Runtime();
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    const std::string& name() const noexcept { return name_; }
    http::Server& server() noexcept { return *server_; }
    boost::asio::any_io_executor executor() noexcept { return server_->executor(); }
    telemetry::Tracer tracer() const noexcept { return tracer_; }
    const CommonSettings& settings() const noexcept { return settings_; }

    /// Applies the migrations (retrying while PostgreSQL is not reachable, up to `wait`)
    /// and creates the pool on the server's executor. Blocking: call before Run().
    common::Status ConnectPostgres(std::chrono::seconds wait = std::chrono::seconds(60));
    storage::PgPool& pg() noexcept { return *pg_; }
    /// A second, small pool whose commits do not wait for the WAL flush (after
    /// ConnectPostgres): for bookkeeping that is safe to lose in a crash because a sweeper
    /// re-derives it. Never for money. Traced like pg(); its connections open in the background,
    /// so it must outlive Run().
    std::unique_ptr<storage::PgPool> MakeRelaxedPgPool(std::size_t size);

    /// Creates the Redis client on the server's executor (it connects and reconnects by
    /// itself; commands fail fast with upstream_unavailable while Redis is down).
    void ConnectRedis();
    storage::RedisClient& redis() noexcept { return *redis_; }
    /// A Redis subscriber connection on the server's executor (one per call).
    std::unique_ptr<storage::RedisSubscriber> MakeSubscriber();

    /// A client for another service, traced as CLIENT spans toward `peer_service`.
    std::unique_ptr<Upstream> MakeUpstream(const std::string& base_url,
                                           const std::string& peer_service);

    /// Extra health check contributing `"name": "ok"|"down"` to /health (e.g. redis).
    using HealthCheck = std::function<http::awaitable<bool>()>;
    void AddHealthCheck(std::string name, HealthCheck check);

    /// Starts serving (prints "listening on HOST:PORT") and runs until SIGTERM/SIGINT; before
    /// returning, destroys the coroutines still suspended on the server's io_context (while
    /// the objects declared after this runtime are alive). Returns the process exit code.
    int Run();

private:
    http::awaitable<http::Response> Health(http::RequestContext& ctx);
    /// Opens all of `pool`'s connections once the server runs; the pool must outlive Run().
    void WarmInBackground(storage::PgPool& pool);

    std::string name_;
    CommonSettings settings_;
    std::unique_ptr<http::Server> server_;
    std::shared_ptr<void> tracing_;  // keeps the tracer provider alive
    std::shared_ptr<telemetry::logs::BatchLogProcessor> log_export_;
    std::shared_ptr<telemetry::logs::Logger> logger_;
    telemetry::Tracer tracer_;
    std::unique_ptr<storage::PgPool> pg_;
    std::unique_ptr<storage::RedisClient> redis_;
    std::vector<std::pair<std::string, HealthCheck>> health_checks_;
};

/// Exit code 2 with "<program>: <message>" on stderr (bad configuration / start-up).
[[noreturn]] void ExitWithError(std::string_view program, std::string_view message);

}  // namespace flowex::service
