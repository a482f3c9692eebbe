#pragma once
/// Redis for flowex on hiredis 0.14 with our own small Asio adapter (hiredis's fd and its
/// add/del read/write hooks mapped onto an Asio descriptor). Commands are coroutines returning
/// `Result<RedisReply>`; several may be in flight at once on the one connection (pipelining).
/// Pub/sub runs on its own connection (RedisSubscriber).
///
/// Failure model: a lost connection is re-established in the background with exponential
/// backoff; while it is down, commands fail at once with kUpstreamUnavailable (no queueing);
/// a command without a reply by its deadline gives kUpstreamTimeout, and from then on commands
/// fail at once with kUpstreamUnavailable until Redis answers a PING (sent every
/// stall_probe_interval): a stopped or stuck Redis costs one deadline, not one per command.
/// Redis error replies (e.g. WRONGTYPE) are successful Results holding a reply of type kError.
///
/// Arguments are passed as arguments, never as a braced list inside co_await (GCC 12 rejects
/// a braced initializer list inside a co_await expression); build vectors in their own statement.
///
/// Threading: a client belongs to one executor (one io thread or a strand); call it only from
/// coroutines on that executor. Message handlers run on it too and must not block.
///
///     storage::RedisClient redis(io.get_executor(), {.url = cfg.redis_url});
///     auto r = co_await redis.Command(parent, "SET", key, value, "EX", "60");
///     auto n = co_await redis.Publish(parent, "orders", payload);
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "flowex/common/result.hpp"
#include "flowex/common/trace_context.hpp"
#include "flowex/storage/observer.hpp"
#include "flowex/storage/task.hpp"

namespace flowex::storage {

struct RedisReply {
    enum class Type { kNil, kInteger, kString, kStatus, kArray, kError };
    Type type = Type::kNil;
    std::int64_t integer = 0;
    std::string str;  ///< kString, kStatus ("OK") and kError ("WRONGTYPE ...")
    std::vector<RedisReply> elements;

    bool is_nil() const { return type == Type::kNil; }
    bool is_error() const { return type == Type::kError; }
    bool is_string() const { return type == Type::kString || type == Type::kStatus; }
    /// The string of a kString/kStatus reply, nullopt otherwise (e.g. nil for a missing key).
    std::optional<std::string> AsString() const;
    /// The integer of a kInteger reply (or a kString holding one), nullopt otherwise.
    std::optional<std::int64_t> AsInteger() const;
};

struct RedisOptions {
    /// redis://[:password@]host:port[/db] (FLOWEX_REDIS_URL).
    std::string url = "redis://127.0.0.1:6379";
    /// Default deadline of each command or pipeline.
    std::chrono::milliseconds command_timeout{2000};
    std::chrono::milliseconds connect_timeout{2000};
    /// Reconnect backoff: doubles from min to max after each failed attempt.
    std::chrono::milliseconds reconnect_min{50};
    std::chrono::milliseconds reconnect_max{2000};
    /// After a command's deadline passed without a reply: how often a PING asks whether Redis
    /// answers again (commands fail at once meanwhile). Not for RedisSubscriber.
    std::chrono::milliseconds stall_probe_interval{250};
};

namespace detail {
class RedisLink;
}  // namespace detail

/// Commands on one connection (connected on construction, reconnecting on its own).
class RedisClient {
public:
    RedisClient(boost::asio::any_io_executor executor, RedisOptions options);
    /// Disconnects; commands still in flight complete with kUpstreamUnavailable.
    ~RedisClient();
    RedisClient(const RedisClient&) = delete;
    RedisClient& operator=(const RedisClient&) = delete;

    /// Sets the observer told about every command. Call once, before use.
    void SetObserver(std::shared_ptr<DbObserver> observer);

    /// Any command, as its arguments: `co_await redis.Command(parent, "SET", key, value)`.
    /// kUpstreamUnavailable while disconnected, kUpstreamTimeout after the deadline.
    template <class... Args>
    Task<common::Result<RedisReply>> Command(const common::TraceContext& parent, Args&&... args) {
        return CommandWith(parent, std::vector<std::string>{std::string(std::forward<Args>(args))...});
    }
    /// The same with an argument vector and an optional deadline overriding command_timeout.
    Task<common::Result<RedisReply>> CommandWith(const common::TraceContext& parent,
                                                 std::vector<std::string> args,
                                                 std::optional<std::chrono::milliseconds> timeout = {});
    /// Sends all commands at once and waits for all replies (in order). The observer sees one
    /// call per command. Fails as a whole when the connection drops or the deadline passes.
    Task<common::Result<std::vector<RedisReply>>> Pipeline(
        const common::TraceContext& parent, std::vector<std::vector<std::string>> commands,
        std::optional<std::chrono::milliseconds> timeout = {});

    /// GET: the value, or nullopt when the key does not exist.
    Task<common::Result<std::optional<std::string>>> Get(const common::TraceContext& parent,
                                                         std::string key);
    /// SET, with an expiry when ttl is given.
    Task<common::Status> Set(const common::TraceContext& parent, std::string key, std::string value,
                             std::optional<std::chrono::milliseconds> ttl = {});
    /// DEL: how many keys were removed (0 or 1).
    Task<common::Result<std::int64_t>> Del(const common::TraceContext& parent, std::string key);
    /// PUBLISH: how many subscribers received the message.
    Task<common::Result<std::int64_t>> Publish(const common::TraceContext& parent, std::string channel,
                                               std::string message);

    /// Whether the connection is up right now.
    bool connected() const;
    /// Connected, and no command has met its deadline since Redis last answered (commands are
    /// sent rather than failed at once): what a health check reports.
    bool answering() const;
    /// Waits (polling, bounded) until connected; kUpstreamUnavailable after `timeout`.
    Task<common::Status> WaitConnected(std::chrono::milliseconds timeout);

private:
    std::shared_ptr<detail::RedisLink> link_;
};

/// SUBSCRIBE on a connection of its own. After a reconnect the channels are subscribed again
/// and the reconnect handler runs (messages published meanwhile are lost: a cache should
/// treat it as "invalidate everything").
class RedisSubscriber {
public:
    using MessageHandler = std::function<void(std::string_view channel, std::string_view message)>;

    RedisSubscriber(boost::asio::any_io_executor executor, RedisOptions options);
    ~RedisSubscriber();
    RedisSubscriber(const RedisSubscriber&) = delete;
    RedisSubscriber& operator=(const RedisSubscriber&) = delete;

    void SetObserver(std::shared_ptr<DbObserver> observer);
    /// Called for every message, on the executor. Set before Subscribe.
    void OnMessage(MessageHandler handler);
    /// Called after the channels were subscribed again following a reconnect.
    void OnReconnect(std::function<void()> handler);

    /// Subscribes and waits until Redis confirmed every channel (or the deadline:
    /// kUpstreamTimeout; disconnected: kUpstreamUnavailable). The channels stay subscribed
    /// across reconnects.
    Task<common::Status> Subscribe(const common::TraceContext& parent, std::string channel,
                                   std::optional<std::chrono::milliseconds> timeout = {});
    Task<common::Status> SubscribeMany(const common::TraceContext& parent, std::vector<std::string> channels,
                                       std::optional<std::chrono::milliseconds> timeout = {});

    bool connected() const;
    Task<common::Status> WaitConnected(std::chrono::milliseconds timeout);

private:
    std::shared_ptr<detail::RedisLink> link_;
};

}  // namespace flowex::storage
