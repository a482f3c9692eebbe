// client-gateway: wiring only (see src/gateway.hpp).
#include "flowex/service/runtime.hpp"
#include "gateway.hpp"

int main(int argc, char** argv) {
    flowex::service::CommonSettings settings;
    std::string user_url = "http://127.0.0.1:8101";
    std::string order_url = "http://127.0.0.1:8102";
    std::string risk_url = "http://127.0.0.1:8103";
    std::string wallet_url = "http://127.0.0.1:8104";
    std::string reporting_url = "http://127.0.0.1:8105";
    std::int64_t max_in_flight = 256;
    flowex::common::Config config("client-gateway",
                                  "The public API of flowex (DESIGN §4): authenticates each call "
                                  "and forwards it to the service that owns it.");
    flowex::service::AddCommonFlags(config, settings, {.internal = true}, 8347);
    config.String("user-service-url", "FLOWEX_USER_SERVICE_URL", &user_url, "user-service base URL");
    config.String("order-manager-url", "FLOWEX_ORDER_MANAGER_URL", &order_url,
                  "order-manager base URL");
    config.String("risk-manager-url", "FLOWEX_RISK_MANAGER_URL", &risk_url,
                  "risk-manager base URL (asked only by /health)");
    config.String("wallet-service-url", "FLOWEX_WALLET_SERVICE_URL", &wallet_url,
                  "wallet-service base URL");
    config.String("reporting-service-url", "FLOWEX_REPORTING_SERVICE_URL", &reporting_url,
                  "reporting-service base URL");
    config.Int("max-in-flight", "FLOWEX_GATEWAY_MAX_IN_FLIGHT", &max_in_flight,
               "public requests inside the exchange at once; past it, 503 with Retry-After "
               "(0: no limit)",
               0, 1'000'000);
    config.ParseOrExit(argc, argv);

    flowex::service::Runtime runtime("client-gateway", settings, /*internal=*/false,
                                     /*own_health=*/true);
    flowex::gateway::Upstreams upstreams{runtime.MakeUpstream(user_url, "user-service"),
                                         runtime.MakeUpstream(order_url, "order-manager"),
                                         runtime.MakeUpstream(wallet_url, "wallet-service"),
                                         runtime.MakeUpstream(reporting_url, "reporting-service"),
                                         runtime.MakeUpstream(risk_url, "risk-manager")};
    flowex::gateway::Gateway gateway(std::move(upstreams), runtime.tracer(), {});
    runtime.server().Use(flowex::gateway::ShedLoad(max_in_flight));
    gateway.Register(runtime.server().router());
    return runtime.Run();
}
