// risk-manager: wiring only (see src/risk_service.hpp).
#include "flowex/service/runtime.hpp"
#include "risk_service.hpp"

int main(int argc, char** argv) {
    flowex::service::CommonSettings settings;
    std::int64_t max_open_orders = 200;
    std::chrono::nanoseconds instrument_ttl = std::chrono::seconds(1);
    flowex::common::Config config("risk-manager",
                                  "Pre-trade risk checks: price band, tick size, maximum quantity "
                                  "and notional, open-order limit.");
    flowex::service::AddCommonFlags(config, settings, {.database = true}, 8103);
    config.Int("max-open-orders", "FLOWEX_RISK_MAX_OPEN_ORDERS", &max_open_orders,
               "open orders allowed per user", 1, 1'000'000);
    config.Duration("instrument-ttl", "FLOWEX_RISK_INSTRUMENT_TTL", &instrument_ttl,
                    "use an instrument's limits read from PostgreSQL this long (0: read them "
                    "for every order); a change to them applies within it");
    config.ParseOrExit(argc, argv);

    flowex::service::Runtime runtime("risk-manager", settings, /*internal=*/true);
    if (auto st = runtime.ConnectPostgres(); !st) {
        flowex::service::ExitWithError("risk-manager", st.error().message);
    }
    flowex::risk::RiskService risk(runtime.pg(), runtime.tracer(),
                                   {.max_open_orders_per_user = max_open_orders}, instrument_ttl);
    risk.Register(runtime.server().router());
    return runtime.Run();
}
