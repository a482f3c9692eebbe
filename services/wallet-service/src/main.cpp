// wallet-service: wiring only (see src/wallet.hpp).
#include "flowex/service/runtime.hpp"
#include "wallet.hpp"

int main(int argc, char** argv) {
    flowex::service::CommonSettings settings;
    flowex::common::Config config(
        "wallet-service", "Cash wallets, share holdings, the ledger and order reservations.");
    flowex::service::AddCommonFlags(config, settings, {.database = true}, 8104);
    config.ParseOrExit(argc, argv);

    flowex::service::Runtime runtime("wallet-service", settings, /*internal=*/true);
    if (auto st = runtime.ConnectPostgres(); !st) {
        flowex::service::ExitWithError("wallet-service", st.error().message);
    }
    // Blocks only: order-manager's next commit for the order makes a block durable (wallet.hpp).
    auto relaxed_pg = runtime.MakeRelaxedPgPool(4);
    flowex::wallet::WalletService wallet(runtime.pg(), *relaxed_pg, runtime.tracer());
    wallet.Register(runtime.server().router());
    return runtime.Run();
}
