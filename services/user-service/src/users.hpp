#pragma once
/// user-service: registration, login, logout and token verification (DESIGN §4, §5).
///
/// Passwords are Argon2id-hashed on a worker pool so hashing never stalls the event loop.
/// Tokens are stored only as SHA-256 hashes with an expiry; verification (`GET /me`, span
/// `verify_token`) reads a Redis cache first and PostgreSQL on a miss; logout revokes the
/// session in PostgreSQL and turns its cache entry into a tombstone (which a verification
/// racing the logout cannot overwrite: it caches with SET NX), so revocation takes effect at
/// once. When Redis does not take the tombstone (down or not answering), the key is remembered
/// and a cache hit on it is not trusted (PostgreSQL decides) until the entry would have expired.
/// Login attempts are counted per username and client address in Redis (429 over the limit).
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <deque>
#include <string>
#include <unordered_set>
#include <utility>

#include "credentials.hpp"
#include "flowex/http/context.hpp"
#include "flowex/http/router.hpp"
#include "flowex/storage/pg.hpp"
#include "flowex/storage/redis.hpp"
#include "flowex/telemetry/api/trace.hpp"

namespace flowex::users {

struct UserServiceOptions {
    std::chrono::seconds token_ttl{24 * 3600};
    std::chrono::seconds cache_ttl{300};
    /// Failed-or-not login attempts per (username, client address) per window.
    std::int64_t login_attempts = 10;
    std::chrono::seconds login_window{60};
    PasswordHashParams hash_params;
    int hash_threads = 2;
    /// Prepended to every Redis key (FLOWEX_REDIS_PREFIX).
    std::string key_prefix;
};

class UserService {
public:
    UserService(storage::PgPool& pg, storage::RedisClient& redis, telemetry::Tracer tracer,
                UserServiceOptions options);
    ~UserService();

    void Register(http::Router& router);

    http::awaitable<http::Response> RegisterUser(http::RequestContext& ctx);
    http::awaitable<http::Response> Login(http::RequestContext& ctx);
    http::awaitable<http::Response> Logout(http::RequestContext& ctx);
    http::awaitable<http::Response> Me(http::RequestContext& ctx);

private:
    struct Identity {
        std::int64_t user_id = 0;
        std::string username;
        std::string tier;
    };
    /// The span `verify_token`: cache, then database. kUnauthorized when unknown, expired
    /// or revoked.
    http::awaitable<common::Result<Identity>> VerifyToken(const common::TraceContext& parent,
                                                          std::string_view token);
    /// Runs `fn` on the hashing pool and resumes on the caller's executor. `fn` must stay
    /// alive until the returned awaitable completes.
    template <class Fn>
    http::awaitable<std::invoke_result_t<Fn&>> OffLoop(Fn& fn);
    /// A revoked session's cache key that Redis may still hold (its DEL failed).
    void RememberUndeleted(std::string key);
    /// Whether `key` is such a key (forgetting those older than cache_ttl, whose entries
    /// have expired in Redis by now).
    bool Undeleted(const std::string& key);

    storage::PgPool& pg_;
    storage::RedisClient& redis_;
    telemetry::Tracer tracer_;
    UserServiceOptions options_;
    boost::asio::thread_pool hash_pool_;
    std::string dummy_hash_;  // verified against for unknown users (equal timing)
    // RememberUndeleted's keys, oldest first (one io thread: no lock). Past kMaxUndeleted the
    // cache is not trusted at all until distrust_cache_until_.
    static constexpr std::size_t kMaxUndeleted = 100'000;
    std::deque<std::pair<std::chrono::steady_clock::time_point, std::string>> undeleted_order_;
    std::unordered_set<std::string> undeleted_;
    std::chrono::steady_clock::time_point distrust_cache_until_{};
};

}  // namespace flowex::users
