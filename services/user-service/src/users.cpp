#include "users.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <charconv>
#include <boost/asio/use_awaitable.hpp>

#include "flowex/common/ids.hpp"
#include "flowex/common/json.hpp"
#include "flowex/exchange/accounts.hpp"
#include "flowex/service/log.hpp"
#include "flowex/service/trace_bridge.hpp"
#include "flowex/storage/pg.hpp"

namespace flowex::users {

using common::Error;
using common::ErrorCode;
using http::RequestContext;
using http::Response;

namespace {

constexpr storage::PgStatement kInsertUser{
    "user_insert",
    "INSERT INTO users (username, password_hash) VALUES ($1, $2) RETURNING user_id"};
constexpr storage::PgStatement kSelectUserByName{
    "user_by_name", "SELECT user_id, password_hash FROM users WHERE username = $1"};
constexpr storage::PgStatement kInsertSession{
    "session_insert",
    "INSERT INTO sessions (token_hash, user_id, expires_at) "
    "VALUES ($1, $2, now() + make_interval(secs => $3))"};
constexpr storage::PgStatement kSelectSession{
    "session_verify",
    "SELECT s.user_id, u.username, u.tier, "
    "floor(extract(epoch FROM s.expires_at - now()))::bigint "
    "FROM sessions s JOIN users u USING (user_id) "
    "WHERE s.token_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()",
    "sessions"};
constexpr storage::PgStatement kRevokeSession{
    "session_revoke",
    "UPDATE sessions SET revoked_at = now() WHERE token_hash = $1 AND revoked_at IS NULL "
    "AND expires_at > now()"};

std::string HashHex(const TokenHash& h) { return common::ToHex(h.data(), h.size()); }
// A revoked session's cache value (a live one is "user_id:tier:username").
constexpr std::string_view kRevokedMark = "revoked";
std::string ByteaParam(const TokenHash& h) { return "\\x" + HashHex(h); }


std::optional<std::string_view> BearerToken(const RequestContext& ctx) {
    auto auth = ctx.request.headers.Get("Authorization");
    constexpr std::string_view kBearer = "Bearer ";
    if (!auth.has_value() || auth->size() <= kBearer.size() ||
        !http::EqualsIgnoreCase(auth->substr(0, kBearer.size()), kBearer)) {
        return std::nullopt;
    }
    return auth->substr(kBearer.size());
}

Error Unauthorized() { return Error{ErrorCode::kUnauthorized, "invalid, expired or revoked token"}; }

}  // namespace

UserService::UserService(storage::PgPool& pg, storage::RedisClient& redis,
                         telemetry::Tracer tracer, UserServiceOptions options)
    : pg_(pg),
      redis_(redis),
      tracer_(tracer),
      options_(options),
      hash_pool_(static_cast<std::size_t>(std::max(1, options.hash_threads))) {
    dummy_hash_ = HashPassword("flowex-dummy-password", options_.hash_params).value_or("");
}

UserService::~UserService() { hash_pool_.join(); }

template <class Fn>
http::awaitable<std::invoke_result_t<Fn&>> UserService::OffLoop(Fn& fn) {
    // Run `fn` on the hashing pool, then resume this coroutine on its own executor (the
    // service's io thread), never on the pool thread.
    using T = std::invoke_result_t<Fn&>;
    auto executor = co_await boost::asio::this_coro::executor;
    std::optional<T> result;
    co_await boost::asio::async_initiate<decltype(boost::asio::use_awaitable), void()>(
        [&](auto handler) {
            boost::asio::post(hash_pool_, [&result, &fn, executor,
                                           handler = std::move(handler)]() mutable {
                result.emplace(fn());
                boost::asio::post(executor, std::move(handler));
            });
        },
        boost::asio::use_awaitable);
    co_return std::move(*result);
}

void UserService::Register(http::Router& router) {
    router.Post("/register", [this](RequestContext& ctx) { return RegisterUser(ctx); });
    router.Post("/login", [this](RequestContext& ctx) { return Login(ctx); });
    router.Post("/logout", [this](RequestContext& ctx) { return Logout(ctx); });
    router.Get("/me", [this](RequestContext& ctx) { return Me(ctx); });
}

http::awaitable<Response> UserService::RegisterUser(RequestContext& ctx) {
    auto body = ctx.JsonBody();
    if (!body) { co_return ctx.Error(body.error()); }
    common::JsonObjectReader r(*body);
    auto username = r.String("username");
    if (!username) { co_return ctx.Error(username.error()); }
    auto password = r.String("password");
    if (!password) { co_return ctx.Error(password.error()); }
    if (auto st = exchange::ValidateUsername(*username); !st) { co_return ctx.Error(st.error()); }
    if (auto st = exchange::ValidatePassword(*password); !st) { co_return ctx.Error(st.error()); }

    // The job is a named local passed by reference: GCC 12 destroys a temporary closure
    // passed by value to a coroutine twice.
    auto hash_job = [&pw = *password, params = options_.hash_params] {
        return HashPassword(pw, params);
    };
    auto hash = co_await OffLoop(hash_job);
    if (!hash) { co_return ctx.Error(hash.error()); }
    auto rows = co_await pg_.Query(ctx.trace, kInsertUser, *username, *hash);
    if (!rows) {
        if (storage::UniqueViolationConstraint(rows.error()).has_value()) {
            co_return ctx.Error(ErrorCode::kUsernameTaken, "username '" + *username + "' is taken");
        }
        co_return ctx.Error(rows.error());
    }
    const std::int64_t user_id = rows->front().Int64(0);
    service::LogInfo(ctx.trace, "Registered user {} ({})", user_id, *username);
    common::JsonWriter w;
    w.BeginObject().Field("user_id", user_id).Field("username", *username).EndObject();
    co_return http::JsonResponse(201, w.Take());
}

http::awaitable<Response> UserService::Login(RequestContext& ctx) {
    auto body = ctx.JsonBody();
    if (!body) { co_return ctx.Error(body.error()); }
    common::JsonObjectReader r(*body);
    auto username = r.String("username");
    if (!username) { co_return ctx.Error(username.error()); }
    auto password = r.String("password");
    if (!password) { co_return ctx.Error(password.error()); }
    if (username->size() > 64 || password->size() > 128) {
        co_return ctx.Error(ErrorCode::kUnauthorized, "wrong username or password");
    }

    // Rate limit per (username, client address). The gateway passes the client's address.
    std::string client = std::string(
        ctx.request.headers.Get("X-Forwarded-For").value_or(std::string_view(ctx.peer_address)));
    const std::string attempts_key =
        options_.key_prefix + "login_attempts:" + *username + ":" + client;
    // (Commands are built before co_await: GCC 12 mishandles initializer-list temporaries
    // that live across a suspension.)
    std::vector<std::string> incr{"INCR", attempts_key};
    auto count = co_await redis_.CommandWith(ctx.trace, std::move(incr));
    if (count.ok() && count->AsInteger().value_or(0) == 1) {
        std::vector<std::string> expire{"EXPIRE", attempts_key,
                                        std::to_string(options_.login_window.count())};
        (void)co_await redis_.CommandWith(ctx.trace, std::move(expire));
    }
    if (count.ok() && count->AsInteger().value_or(0) > options_.login_attempts) {
        service::LogWarn(ctx.trace, "Too many login attempts for '{}' from {}", *username, client);
        Response resp = ctx.Error(ErrorCode::kRateLimited, "too many login attempts; try again later");
        resp.headers.Set("Retry-After", std::to_string(options_.login_window.count()));
        co_return resp;
    }
    // Redis down: logins still work (fail open on the limiter, never on the password).

    auto rows = co_await pg_.Query(ctx.trace, kSelectUserByName, *username);
    if (!rows) { co_return ctx.Error(rows.error()); }
    const bool known = !rows->empty();
    std::string stored = known ? rows->front().String(1) : dummy_hash_;
    auto verify_job = [&pw = *password, &stored] { return VerifyPassword(pw, stored); };
    bool ok = co_await OffLoop(verify_job);
    if (!known || !ok) {
        service::LogInfo(ctx.trace, "Failed login for '{}'", *username);
        co_return ctx.Error(ErrorCode::kUnauthorized, "wrong username or password");
    }
    const std::int64_t user_id = rows->front().Int64(0);
    NewToken token = GenerateToken();
    auto ins = co_await pg_.Query(ctx.trace, kInsertSession, ByteaParam(token.hash), user_id,
                                   static_cast<std::int64_t>(options_.token_ttl.count()));
    if (!ins) { co_return ctx.Error(ins.error()); }
    (void)co_await redis_.Del(ctx.trace, attempts_key);
    service::LogInfo(ctx.trace, "User {} logged in", user_id);
    common::JsonWriter w;
    w.BeginObject()
        .Field("access_token", token.token)
        .Field("token_type", "bearer")
        .Field("expires_in", static_cast<std::int64_t>(options_.token_ttl.count()))
        .EndObject();
    co_return http::JsonResponse(200, w.Take());
}

http::awaitable<Response> UserService::Logout(RequestContext& ctx) {
    auto token = BearerToken(ctx);
    if (!token.has_value()) { co_return ctx.Error(Unauthorized()); }
    TokenHash h = HashToken(*token);
    auto rows = co_await pg_.Query(ctx.trace, kRevokeSession, ByteaParam(h));
    if (!rows) { co_return ctx.Error(rows.error()); }
    // The cache entry becomes a tombstone rather than going: a verification that read the
    // session before the revoke and caches it after this write (SET NX) cannot bring it back.
    // Only for a session this call revoked: unknown tokens leave Redis alone.
    if (rows->affected() == 0) { co_return ctx.Error(Unauthorized()); }
    std::string key = options_.key_prefix + "session:" + HashHex(h);
    auto buried = co_await redis_.Set(
        ctx.trace, key, std::string(kRevokedMark),
        std::chrono::duration_cast<std::chrono::milliseconds>(options_.cache_ttl));
    if (!buried) {
        RememberUndeleted(std::move(key));  // Redis may still hold the session it had cached
    }
    Response r;
    r.status = 204;
    co_return r;
}

http::awaitable<common::Result<UserService::Identity>> UserService::VerifyToken(
    const common::TraceContext& parent, std::string_view token) {
    telemetry::Span span = service::StartChild(tracer_, "verify_token", parent);
    const common::TraceContext inner = service::ToPlain(span.GetContext());
    if (!LooksLikeToken(token)) {
        span.SetAttribute("result", "malformed");
        co_return Unauthorized();
    }
    TokenHash h = HashToken(token);
    const std::string key = options_.key_prefix + "session:" + HashHex(h);
    bool trust_cache = !Undeleted(key);
    if (!trust_cache) {
        // Revoked while Redis did not answer: bury the entry now if Redis takes it; either
        // way PostgreSQL decides this time.
        auto buried = co_await redis_.Set(
            inner, key, std::string(kRevokedMark),
            std::chrono::duration_cast<std::chrono::milliseconds>(options_.cache_ttl));
        if (buried.ok()) { undeleted_.erase(key); }
        span.SetAttribute("cache", "distrusted");
    }
    std::optional<std::string> hit;
    if (trust_cache) {
        if (auto cached = co_await redis_.Get(inner, key); cached.ok() && cached->has_value()) {
            hit = std::move(cached).value();
        }
    }
    if (hit.has_value() && *hit == kRevokedMark) {
        span.SetAttribute("cache", "hit");
        span.SetAttribute("result", "rejected");
        co_return Unauthorized();
    }
    if (hit.has_value()) {
        // "user_id:tier:username" (username last: it may not contain ':' but be safe).
        const std::string& v = *hit;
        auto a = v.find(':');
        auto b = a == std::string::npos ? a : v.find(':', a + 1);
        std::int64_t cached_id = 0;
        auto [end, ec] = std::from_chars(v.data(), v.data() + (a == std::string::npos ? 0 : a),
                                         cached_id);
        if (b != std::string::npos && ec == std::errc() && end == v.data() + a && cached_id > 0) {
            Identity id;
            id.user_id = cached_id;
            id.tier = v.substr(a + 1, b - a - 1);
            id.username = v.substr(b + 1);
            span.SetAttribute("user_id", id.user_id);
            span.SetAttribute("cache", "hit");
            co_return id;
        }
    }
    if (trust_cache) { span.SetAttribute("cache", "miss"); }
    auto rows = co_await pg_.Query(inner, kSelectSession, ByteaParam(h));
    if (!rows) {
        service::MarkError(span, rows.error());
        co_return std::move(rows).error();
    }
    if (rows->empty()) {
        span.SetAttribute("result", "rejected");
        co_return Unauthorized();
    }
    auto row = rows->front();
    Identity id{row.Int64(0), row.String(1), row.String(2)};
    const std::int64_t remaining = row.Int64(3);
    span.SetAttribute("user_id", id.user_id);
    const std::int64_t ttl = std::min<std::int64_t>(remaining, options_.cache_ttl.count());
    if (ttl > 0) {
        // NX: never over a logout's tombstone written since the session was read.
        std::vector<std::string> set{"SET",
                                     key,
                                     std::to_string(id.user_id) + ":" + id.tier + ":" + id.username,
                                     "EX",
                                     std::to_string(ttl),
                                     "NX"};
        (void)co_await redis_.CommandWith(inner, std::move(set));
    }
    co_return id;
}

void UserService::RememberUndeleted(std::string key) {
    auto now = std::chrono::steady_clock::now();
    if (undeleted_.size() >= kMaxUndeleted) {
        // Too many to remember one by one: trust no cache entry until the newest would expire.
        distrust_cache_until_ = now + options_.cache_ttl;
        undeleted_.clear();
        undeleted_order_.clear();
        return;
    }
    if (undeleted_.insert(key).second) { undeleted_order_.emplace_back(now, std::move(key)); }
}

bool UserService::Undeleted(const std::string& key) {
    auto now = std::chrono::steady_clock::now();
    while (!undeleted_order_.empty() &&
           now - undeleted_order_.front().first >= options_.cache_ttl) {
        undeleted_.erase(undeleted_order_.front().second);
        undeleted_order_.pop_front();
    }
    return now < distrust_cache_until_ || (!undeleted_.empty() && undeleted_.count(key) > 0);
}

http::awaitable<Response> UserService::Me(RequestContext& ctx) {
    auto token = BearerToken(ctx);
    if (!token.has_value()) { co_return ctx.Error(Unauthorized()); }
    auto id = co_await VerifyToken(ctx.trace, *token);
    if (!id) { co_return ctx.Error(id.error()); }
    common::JsonWriter w;
    w.BeginObject()
        .Field("user_id", id->user_id)
        .Field("username", id->username)
        .Field("tier", id->tier)
        .EndObject();
    co_return http::JsonResponse(200, w.Take());
}

}  // namespace flowex::users
