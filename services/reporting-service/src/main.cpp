// reporting-service: wiring only (see src/reporting.hpp).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "flowex/service/runtime.hpp"
#include "reporting.hpp"

int main(int argc, char** argv) {
    flowex::service::CommonSettings settings;
    std::chrono::nanoseconds cache_ttl = std::chrono::seconds(60);
    flowex::common::Config config("reporting-service",
                                  "Positions and trades by SQL joins, cached in Redis.");
    flowex::service::AddCommonFlags(config, settings, {.database = true, .redis = true}, 8105);
    config.Duration("cache-ttl", "FLOWEX_REPORT_CACHE_TTL", &cache_ttl, "cache entry lifetime");
    config.ParseOrExit(argc, argv);

    flowex::service::Runtime runtime("reporting-service", settings, /*internal=*/true);
    if (auto st = runtime.ConnectPostgres(); !st) {
        flowex::service::ExitWithError("reporting-service", st.error().message);
    }
    runtime.ConnectRedis();
    flowex::reporting::ReportingService reporting(
        runtime.pg(), runtime.redis(), runtime.tracer(),
        std::chrono::duration_cast<std::chrono::seconds>(cache_ttl), settings.redis_prefix);
    reporting.Register(runtime.server().router());

    auto subscriber = runtime.MakeSubscriber();
    auto executor = runtime.executor();
    subscriber->OnMessage([&reporting, executor](std::string_view, std::string_view message) {
        std::string owned(message);
        boost::asio::co_spawn(executor, reporting.OnTradeEvent(std::move(owned)),
                              boost::asio::detached);
    });
    subscriber->OnReconnect([&reporting] { reporting.InvalidateAll(); });
    boost::asio::co_spawn(
        executor,
        [&]() -> boost::asio::awaitable<void> {
            // Keep trying until Redis confirms the subscription; then drop anything cached
            // before it, since events published until now were not seen.
            boost::asio::steady_timer timer(executor);
            for (;;) {
                std::string channel =
                    settings.redis_prefix + std::string(flowex::reporting::kTradesChannel);
                auto st = co_await subscriber->Subscribe(flowex::common::TraceContext{},
                                                         std::move(channel));
                if (st.ok()) { break; }
                timer.expires_after(std::chrono::milliseconds(500));
                co_await timer.async_wait(boost::asio::use_awaitable);
            }
            reporting.InvalidateAll();
        },
        boost::asio::detached);
    return runtime.Run();
}
