#include "flowex/service/runtime.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <thread>

#include "flowex/common/json.hpp"
#include "flowex/service/internal_auth.hpp"
#include "flowex/service/observability.hpp"
#include "flowex/storage/migrations.hpp"
#include "flowex/telemetry/exporters/otlp_http.hpp"
#include "flowex/telemetry/sdk/resource.hpp"

#ifndef FLOWEX_MIGRATIONS_DIR
#define FLOWEX_MIGRATIONS_DIR "db/migrations"
#endif

namespace flowex::service {

void ExitWithError(std::string_view program, std::string_view message) {
    std::cerr << program << ": " << message << "\n";
    std::exit(2);
}

void AddCommonFlags(common::Config& config, CommonSettings& s, CommonFlags which,
                    std::uint16_t default_port) {
    s.listen = common::HostPort{"127.0.0.1", default_port};
    if (s.migrations_dir.empty()) { s.migrations_dir = FLOWEX_MIGRATIONS_DIR; }
    config.Address("listen", "FLOWEX_LISTEN", &s.listen, "host:port to serve on (port 0: any free port)");
    if (which.database) {
        config.String("database-url", "FLOWEX_DATABASE_URL", &s.database_url,
                      "PostgreSQL URL, e.g. postgresql://postgres@127.0.0.1:55432/stockexchange")
            .Required()
            .Secret();
        config.String("migrations-dir", "FLOWEX_MIGRATIONS_DIR", &s.migrations_dir,
                      "directory of NNNN_name.sql migrations applied at start");
        config.Int("pg-pool-size", "FLOWEX_PG_POOL_SIZE", &s.pg_pool_size,
                   "PostgreSQL connections", 1, 256);
        config.Bool(
            "pg-warm", "FLOWEX_PG_WARM", &s.pg_warm,
            "open every PostgreSQL connection at start, each with the schema's tables "
            "planned once, rather than during the first requests (--no-pg-warm: on demand)");
    }
    if (which.redis) {
        config.String("redis-url", "FLOWEX_REDIS_URL", &s.redis_url,
                      "Redis URL, e.g. redis://127.0.0.1:56379")
            .Required();
        config.String("redis-prefix", "FLOWEX_REDIS_PREFIX", &s.redis_prefix,
                      "prefix of every Redis key and channel (to share one Redis)");
    }
    config.String("internal-token", "FLOWEX_INTERNAL_TOKEN", &s.internal_token,
                  "shared secret for calls between services (X-Internal-Token)")
        .Secret();
    if (which.internal) { config.Required(); }
    config.Duration("upstream-timeout", "FLOWEX_UPSTREAM_TIMEOUT", &s.upstream_timeout,
                    "deadline of each call to another service");
    config.String("untraced-routes", "FLOWEX_UNTRACED_ROUTES", &s.untraced_routes,
                  "routes answered without a span, and access-logged at debug level unless they "
                  "fail; comma separated (empty: none)");
}

Runtime::Runtime(std::string service_name, const CommonSettings& settings, bool internal,
                 bool own_health)
    : name_(std::move(service_name)), settings_(settings) {
    spdlog::set_pattern("%^%l%$: %v");
    const telemetry::EnvLookup env = telemetry::ProcessEnv();

    // Tracing (OTEL_* environment), then logs: console, optional JSON file, OTLP /v1/logs.
    auto provider = telemetry::exporters::InitTracingFromEnv(
        env, telemetry::sdk::ResourceOptions{.service_name = name_, .service_version = "0.1.0"});
    tracer_ = provider->GetTracer(name_);
    telemetry::logs::LoggerOptions log_options = telemetry::logs::LoggerOptionsFromEnv(env, name_);
    log_options.resource = telemetry::sdk::ResourceFromEnv(
        env, telemetry::sdk::ResourceOptions{.service_name = name_, .service_version = "0.1.0"});
    std::string logs_exporter = telemetry::EnvString(env, "OTEL_LOGS_EXPORTER").value_or("otlp");
    if (logs_exporter != "otlp" && logs_exporter != "none" && logs_exporter != "console") {
        // "console" needs nothing: every line goes to the console and the log file anyway.
        spdlog::warn(
            "OTEL_LOGS_EXPORTER={} is not an exporter this service has (otlp, console, "
            "none); using otlp",
            logs_exporter);
        logs_exporter = "otlp";
    }
    const bool sdk_disabled = telemetry::EnvBool(env, "OTEL_SDK_DISABLED", false);
    if (logs_exporter == "otlp" && !sdk_disabled) {
        log_export_ = std::make_shared<telemetry::logs::BatchLogProcessor>(
            std::make_unique<telemetry::exporters::OtlpHttpLogExporter>(
                telemetry::exporters::OtlpHttpOptionsFromEnv(env,
                                                             telemetry::exporters::OtlpSignal::kLogs)),
            telemetry::logs::LogBatchOptionsFromEnv(env));
        log_options.otlp = log_export_;
    }
    logger_ = std::make_shared<telemetry::logs::Logger>(std::move(log_options));
    SetServiceLogger(logger_);

    auto& registry = telemetry::metrics::Registry::Default();
    telemetry::metrics::RegisterProcessMetrics(registry);
    telemetry::metrics::RegisterSdkMetrics(registry, *provider, log_export_.get());
    tracing_ = std::move(provider);

    server_ = std::make_unique<http::Server>(http::ServerOptions{.listen = settings.listen});
    std::vector<std::string> untraced;
    std::stringstream routes(settings.untraced_routes);
    for (std::string route; std::getline(routes, route, ',');) {
        if (!route.empty()) { untraced.push_back(route); }
    }
    server_->Use(
        TracingMiddleware(tracer_, &telemetry::metrics::HttpServerDuration(registry), untraced));
    server_->Use(AccessLogMiddleware(logger_, std::move(untraced)));
    if (internal) { server_->Use(RequireInternalToken(settings.internal_token)); }
    server_->router().Get("/metrics", [](http::RequestContext&) -> http::awaitable<http::Response> {
        http::Response r;
        r.status = 200;
        r.content_type = "text/plain; version=0.0.4; charset=utf-8";
        r.body = telemetry::metrics::Registry::Default().Render();
        co_return r;
    });
    if (!own_health) {
        server_->router().Get("/health", [this](http::RequestContext& ctx) { return Health(ctx); });
    }
}

Runtime::~Runtime() {
    redis_.reset();
    pg_.reset();
    server_.reset();
    if (auto provider = std::static_pointer_cast<telemetry::sdk::TracerProvider>(tracing_)) {
        provider->Shutdown(std::chrono::seconds(5));
    }
    if (logger_) { logger_->Flush(std::chrono::seconds(5)); }
    if (log_export_) { log_export_->Shutdown(std::chrono::seconds(5)); }
    SetServiceLogger(nullptr);
}

std::unique_ptr<Upstream> Runtime::MakeUpstream(const std::string& base_url,
                                                const std::string& peer_service) {
    auto u = Upstream::Create(server_->executor(), base_url, settings_.internal_token,
                              settings_.upstream_timeout);
    if (!u) { ExitWithError(name_, u.error().message); }
    (*u)->client().SetObserver(MakeClientTracer(tracer_, peer_service));
    return std::move(u).value();
}

common::Status Runtime::ConnectPostgres(std::chrono::seconds wait) {
    // Migrations run on a private io_context before serving, so no request ever sees a
    // half-migrated schema. PostgreSQL may still be starting: retry until `wait` passes.
    const auto deadline = std::chrono::steady_clock::now() + wait;
    common::Status outcome = common::Ok();
    for (int attempt = 1;; ++attempt) {
        boost::asio::io_context io;
        storage::PgPool pool(io.get_executor(),
                             storage::PgPoolOptions{.url = settings_.database_url, .size = 1,
                                                    .application_name = name_ + "-migrate"});
        common::Result<storage::MigrationReport> report =
            common::Error{common::ErrorCode::kInternal, "migrations did not run"};
        boost::asio::co_spawn(
            io,
            [&]() -> boost::asio::awaitable<void> {
                report = co_await storage::RunMigrations(pool, common::TraceContext{},
                                                         settings_.migrations_dir);
            },
            boost::asio::detached);
        io.run();
        if (report.ok()) {
            if (!report->applied.empty()) {
                spdlog::info("applied {} migration(s), newest {}", report->applied.size(),
                             report->applied.back());
            }
            break;
        }
        const bool transient = report.error().code == common::ErrorCode::kUpstreamUnavailable ||
                               report.error().code == common::ErrorCode::kUpstreamTimeout;
        if (!transient || std::chrono::steady_clock::now() >= deadline) {
            outcome = report.error();
            return outcome;
        }
        if (attempt == 1 || attempt % 10 == 0) {
            spdlog::warn("PostgreSQL is not reachable yet ({}); retrying", report.error().message);
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    pg_ = std::make_unique<storage::PgPool>(
        server_->executor(),
        storage::PgPoolOptions{.url = settings_.database_url,
                               .size = static_cast<std::size_t>(settings_.pg_pool_size),
                               .application_name = name_});
    pg_->SetObserver(MakeDbTracer(tracer_));
    WarmInBackground(*pg_);
    AddHealthCheck("postgres", [this]() -> http::awaitable<bool> {
        static constexpr storage::PgStatement kPing{"health_ping", "SELECT 1"};
        auto r = co_await pg_->QueryWith(common::TraceContext{}, kPing, {},
                                     std::chrono::milliseconds(1000));
        co_return r.ok();
    });
    return outcome;
}

std::unique_ptr<storage::PgPool> Runtime::MakeRelaxedPgPool(std::size_t size) {
    auto pool = std::make_unique<storage::PgPool>(
        server_->executor(), storage::PgPoolOptions{.url = settings_.database_url,
                                                    .size = size,
                                                    .application_name = name_ + "-relaxed",
                                                    .synchronous_commit = false});
    pool->SetObserver(MakeDbTracer(tracer_));
    WarmInBackground(*pool);
    return pool;
}

void Runtime::WarmInBackground(storage::PgPool& pool) {
    if (!settings_.pg_warm) { return; }
    // Every connection opened before the first request rather than during the first burst, when
    // each new server process would compete with the requests for the same two cores.
    boost::asio::co_spawn(
        server_->executor(),
        [&pool, name = name_]() -> boost::asio::awaitable<void> {
            if (auto st = co_await pool.Warm(pool.options().size); !st) {
                spdlog::warn(
                    "{}: PostgreSQL connections not opened ahead ({}); they open on demand", name,
                    st.error().message);
            }
        },
        boost::asio::detached);
}

void Runtime::ConnectRedis() {
    redis_ = std::make_unique<storage::RedisClient>(
        server_->executor(), storage::RedisOptions{.url = settings_.redis_url});
    redis_->SetObserver(MakeDbTracer(tracer_));
    AddHealthCheck("redis", [this]() -> http::awaitable<bool> { co_return redis_->answering(); });
}

std::unique_ptr<storage::RedisSubscriber> Runtime::MakeSubscriber() {
    return std::make_unique<storage::RedisSubscriber>(
        server_->executor(), storage::RedisOptions{.url = settings_.redis_url});
}

void Runtime::AddHealthCheck(std::string name, HealthCheck check) {
    health_checks_.emplace_back(std::move(name), std::move(check));
}

http::awaitable<http::Response> Runtime::Health(http::RequestContext&) {
    bool all_ok = true;
    common::JsonWriter w;
    w.BeginObject().Field("service", name_);
    for (auto& [name, check] : health_checks_) {
        bool ok = co_await check();
        all_ok = all_ok && ok;
        w.Field(name, ok ? "ok" : "down");
    }
    w.Field("status", all_ok ? "ok" : "degraded");
    w.EndObject();
    // 200 either way: the process is alive and answering; `status` says what is degraded.
    co_return http::JsonResponse(200, w.Take());
}

int Runtime::Run() {
    server_->StopOnSignals();
    common::Status st = server_->Run();
    // Coroutines still suspended (detached work, a request cut off at the drain deadline)
    // hold pool leases and locks of objects the service declared after this runtime: their
    // frames go now, while those objects are alive, not when the server is destroyed.
    server_->DestroyPendingWork();
    if (!st) {
        spdlog::error("{}: {}", name_, st.error().message);
        return 1;
    }
    spdlog::info("{} stopped", name_);
    return 0;
}

}  // namespace flowex::service
