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
    // Blocks, settlements and releases: order-manager's commits, which wait for the disk, make
    // them durable or leave the work recorded for its sweeper (wallet.hpp). Most of the writes.
    auto relaxed_pg = runtime.MakeRelaxedPgPool(settings.pg_pool_size);
    flowex::wallet::WalletService wallet(runtime.pg(), *relaxed_pg, runtime.tracer());
    wallet.Register(runtime.server().router());
    return runtime.Run();
}
