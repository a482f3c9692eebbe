// order-manager: wiring only (see src/order_manager.hpp).
#include <chrono>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "flowex/service/runtime.hpp"
#include "order_manager.hpp"

int main(int argc, char** argv) {
    flowex::service::CommonSettings settings;
    std::string risk_url = "http://127.0.0.1:8103";
    std::string wallet_url = "http://127.0.0.1:8104";
    std::chrono::nanoseconds orphan_grace = std::chrono::seconds(30);
    std::chrono::nanoseconds sweep_interval = std::chrono::seconds(1);
    std::int64_t full_sweep_every = 10;
    flowex::common::Config config(
        "order-manager",
        "The order saga: risk check, funds block, durable order, matching, settlement, events.");
    flowex::service::AddCommonFlags(config, settings, {.database = true, .redis = true}, 8102);
    config.String("risk-manager-url", "FLOWEX_RISK_MANAGER_URL", &risk_url, "risk-manager base URL");
    config.String("wallet-service-url", "FLOWEX_WALLET_SERVICE_URL", &wallet_url,
                  "wallet-service base URL");
    config.Duration("orphan-grace", "FLOWEX_ORPHAN_GRACE", &orphan_grace,
                    "release a reservation whose order was never inserted after this long");
    config.Duration("sweep-interval", "FLOWEX_SWEEP_INTERVAL", &sweep_interval,
                    "how often the sweeper finishes half-done work (settlements, releases, events)");
    config.Int("full-sweep-every", "FLOWEX_FULL_SWEEP_EVERY", &full_sweep_every,
               "look at every open order's reservation and trades every Nth sweep (and after a "
               "request left work behind)",
               1, 3600);
    config.ParseOrExit(argc, argv);

    flowex::service::Runtime runtime("order-manager", settings, /*internal=*/true);
    if (auto st = runtime.ConnectPostgres(); !st) {
        flowex::service::ExitWithError("order-manager", st.error().message);
    }
    runtime.ConnectRedis();
    // Marking events published and trades settled: lost in a crash, they are redone by the
    // sweeper (both idempotent), so those commits need not wait for the disk.
    auto relaxed_pg = runtime.MakeRelaxedPgPool(2);
    flowex::orders::OrderManager orders(runtime.pg(), *relaxed_pg, runtime.redis(), runtime.tracer(),
                                        runtime.MakeUpstream(risk_url, "risk-manager"),
                                        runtime.MakeUpstream(wallet_url, "wallet-service"),
                                        {.orphan_grace = std::chrono::duration_cast<std::chrono::seconds>(orphan_grace),
                                         .sweep_interval = std::chrono::duration_cast<std::chrono::milliseconds>(sweep_interval),
                                         .full_sweep_every = static_cast<int>(full_sweep_every),
                                         .channel_prefix = settings.redis_prefix});
    orders.Register(runtime.server().router());
    runtime.AddHealthCheck("books", [&orders]() -> boost::asio::awaitable<bool> {
        co_return orders.ready();
    });
    boost::asio::co_spawn(runtime.executor(), orders.RecoverAndSweep(), boost::asio::detached);
    int rc = runtime.Run();
    orders.Stop();
    return rc;
}
