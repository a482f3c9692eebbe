// user-service: wiring only (see src/users.hpp).
#include "flowex/service/runtime.hpp"
#include "users.hpp"

int main(int argc, char** argv) {
    flowex::service::CommonSettings settings;
    std::chrono::nanoseconds token_ttl = std::chrono::hours(24);
    std::int64_t login_attempts = 10;
    std::int64_t hash_threads = 2;
    flowex::common::Config config("user-service",
                                  "Registration, login, logout and token verification.");
    flowex::service::AddCommonFlags(config, settings, {.database = true, .redis = true}, 8101);
    config.Duration("token-ttl", "FLOWEX_TOKEN_TTL", &token_ttl, "lifetime of an access token");
    config.Int("login-attempts", "FLOWEX_LOGIN_ATTEMPTS", &login_attempts,
               "login attempts per username and address per minute", 1, 1'000'000);
    config.Int("hash-threads", "FLOWEX_HASH_THREADS", &hash_threads,
               "threads hashing passwords (Argon2id)", 1, 64);
    config.ParseOrExit(argc, argv);

    if (auto st = flowex::users::InitCrypto(); !st) {
        flowex::service::ExitWithError("user-service", st.error().message);
    }
    flowex::service::Runtime runtime("user-service", settings, /*internal=*/true);
    if (auto st = runtime.ConnectPostgres(); !st) {
        flowex::service::ExitWithError("user-service", st.error().message);
    }
    runtime.ConnectRedis();
    flowex::users::UserService users(
        runtime.pg(), runtime.redis(), runtime.tracer(),
        {.token_ttl = std::chrono::duration_cast<std::chrono::seconds>(token_ttl),
         .login_attempts = login_attempts,
         .hash_threads = static_cast<int>(hash_threads),
         .key_prefix = settings.redis_prefix});
    users.Register(runtime.server().router());
    return runtime.Run();
}
