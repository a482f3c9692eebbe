#include "flowex/storage/redis.hpp"

#include <fcntl.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <set>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

namespace flowex::storage {

std::optional<std::string> RedisReply::AsString() const {
    if (type == Type::kString || type == Type::kStatus) {
        return str;
    }
    return std::nullopt;
}

std::optional<std::int64_t> RedisReply::AsInteger() const {
    if (type == Type::kInteger) {
        return integer;
    }
    if (type == Type::kString) {
        std::int64_t v = 0;
        auto r = std::from_chars(str.data(), str.data() + str.size(), v);
        if (r.ec == std::errc() && r.ptr == str.data() + str.size()) {
            return v;
        }
    }
    return std::nullopt;
}

namespace detail {
namespace {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using common::ErrorCode;
using SteadyClock = std::chrono::steady_clock;

RedisReply Convert(const redisReply* r) {
    RedisReply out;
    switch (r->type) {
        case REDIS_REPLY_STRING:
            out.type = RedisReply::Type::kString;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_STATUS:
            out.type = RedisReply::Type::kStatus;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_ERROR:
            out.type = RedisReply::Type::kError;
            out.str.assign(r->str, r->len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = RedisReply::Type::kInteger;
            out.integer = r->integer;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = RedisReply::Type::kArray;
            out.elements.reserve(r->elements);
            for (std::size_t i = 0; i < r->elements; ++i) {
                out.elements.push_back(Convert(r->element[i]));
            }
            break;
        default:
            out.type = RedisReply::Type::kNil;
            break;
    }
    return out;
}

std::string Upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

common::Error Unavailable() { return common::Error::Make(ErrorCode::kUpstreamUnavailable, "redis unavailable"); }
common::Error TimedOut() { return common::Error::Make(ErrorCode::kUpstreamTimeout, "redis timeout"); }
common::Error NotAnswering() {
    return common::Error::Make(
        ErrorCode::kUpstreamUnavailable,
        "redis not answering (a command timed out; skipped until it answers a PING)");
}

// A batch of commands in flight: completed by hiredis callbacks, awaited through a timer that
// the last reply cancels. Shared with the callbacks so a timed-out waiter can leave early.
struct Batch {
    explicit Batch(const asio::any_io_executor& ex, std::size_t n) : timer(ex), replies(n), remaining(n) {}
    asio::steady_timer timer;
    std::vector<std::optional<RedisReply>> replies;
    std::size_t remaining;
    bool lost = false;  // a callback came with no reply: the connection went away
};

struct Slot {
    std::shared_ptr<Batch> batch;
    std::size_t index;
};

void OnCommandReply(redisAsyncContext* /*ac*/, void* reply, void* privdata) {
    std::unique_ptr<Slot> slot(static_cast<Slot*>(privdata));
    Batch& b = *slot->batch;
    if (reply == nullptr) {
        b.lost = true;
    } else {
        b.replies[slot->index] = Convert(static_cast<redisReply*>(reply));
    }
    if (b.remaining > 0 && --b.remaining == 0) {
        b.timer.cancel();
    }
}

}  // namespace

/// One hiredis connection on Asio with background reconnect. Shared with its Asio handlers.
class RedisLink : public std::enable_shared_from_this<RedisLink> {
public:
    enum class State { kIdle, kConnecting, kConnected, kBackoff, kStopped };

    RedisLink(asio::any_io_executor executor, RedisOptions options, bool subscriber)
        : executor_(std::move(executor)),
          options_(std::move(options)),
          subscriber_(subscriber),
          socket_(executor_),
          reconnect_timer_(executor_),
          connect_timer_(executor_),
          probe_timer_(executor_),
          backoff_(options_.reconnect_min) {
        ParseUrl();
    }

    ~RedisLink() { Stop(); }

    void Start() {
        if (state_ == State::kIdle) {
            Connect();
        }
    }

    void Stop() {
        if (state_ == State::kStopped) {
            return;
        }
        state_ = State::kStopped;
        reconnect_timer_.cancel();
        connect_timer_.cancel();
        probe_timer_.cancel();
        if (ac_ != nullptr) {
            redisAsyncContext* ac = ac_;
            redisAsyncFree(ac);  // callbacks run with no reply; cleanup hook clears ac_
            ac_ = nullptr;
        }
        CloseSocket();
    }

    bool connected() const { return state_ == State::kConnected; }
    bool answering() const { return connected() && !stalled_; }
    State state() const { return state_; }

    void SetObserver(std::shared_ptr<DbObserver> o) { observer_ = std::move(o); }
    void SetMessageHandler(RedisSubscriber::MessageHandler h) { on_message_ = std::move(h); }
    void SetReconnectHandler(std::function<void()> h) { on_reconnect_ = std::move(h); }

    Task<common::Result<std::vector<RedisReply>>> Exec(const common::TraceContext& parent,
                                                       std::vector<std::vector<std::string>> commands,
                                                       std::optional<std::chrono::milliseconds> timeout) {
        auto self = shared_from_this();
        std::vector<std::unique_ptr<DbCallScope>> scopes;
        if (observer_) {
            for (const auto& cmd : commands) {
                std::string op = cmd.empty() ? std::string() : Upper(cmd[0]);
                DbCallInfo info;
                info.system = "redis";
                info.operation = op;
                info.query_text = op;
                if ((op == "PUBLISH" || op == "SUBSCRIBE") && cmd.size() > 1) {
                    info.channel = cmd[1];
                }
                info.db_name = db_text_;
                info.server_address = host_;
                info.server_port = port_;
                info.parent = &parent;
                scopes.push_back(observer_->OnStart(info));
            }
        }
        auto finish = [&](const common::Error* err, const std::vector<RedisReply>* replies) {
            for (std::size_t i = 0; i < scopes.size(); ++i) {
                if (!scopes[i]) {
                    continue;
                }
                DbOutcome o;
                if (err != nullptr) {
                    o.ok = false;
                    o.code = err->code;
                    o.message = err->message;
                    o.error_type = err->code == ErrorCode::kUpstreamTimeout ? "timeout" : "connection";
                } else if ((*replies)[i].is_error()) {
                    o.ok = false;
                    const std::string& s = (*replies)[i].str;
                    o.error_type = std::string_view(s).substr(0, s.find(' '));
                    o.message = "redis error reply";
                }
                scopes[i]->End(o);
            }
        };

        if (state_ == State::kIdle) {
            Connect();
        }
        if ((state_ != State::kConnected && state_ != State::kConnecting) || ac_ == nullptr) {
            auto err = Unavailable();
            finish(&err, nullptr);
            co_return err;
        }
        if (stalled_) {
            auto err = NotAnswering();
            finish(&err, nullptr);
            co_return err;
        }
        auto batch = std::make_shared<Batch>(executor_, commands.size());
        for (std::size_t i = 0; i < commands.size(); ++i) {
            if (!Send(commands[i], &OnCommandReply, new Slot{batch, i})) {
                // Replies already requested still arrive into the batch; this one never will.
                batch->lost = true;
                --batch->remaining;
            }
        }
        if (batch->remaining > 0) {
            batch->timer.expires_after(timeout.value_or(options_.command_timeout));
            co_await batch->timer.async_wait(as_tuple(use_awaitable));
        }
        if (batch->remaining > 0) {
            auto err = batch->lost ? Unavailable() : TimedOut();
            if (!batch->lost) { MarkStalled(); }
            finish(&err, nullptr);
            co_return err;
        }
        if (batch->lost) {
            auto err = Unavailable();
            finish(&err, nullptr);
            co_return err;
        }
        std::vector<RedisReply> out;
        out.reserve(commands.size());
        for (auto& r : batch->replies) {
            out.push_back(std::move(*r));
        }
        finish(nullptr, &out);
        co_return out;
    }

    // ---- subscriber -------------------------------------------------------------------------

    Task<common::Status> Subscribe(const common::TraceContext& parent, std::vector<std::string> channels,
                                   std::optional<std::chrono::milliseconds> timeout) {
        auto self = shared_from_this();
        std::unique_ptr<DbCallScope> scope;
        if (observer_) {
            DbCallInfo info;
            info.system = "redis";
            info.operation = "SUBSCRIBE";
            info.query_text = "SUBSCRIBE";
            info.channel = channels.empty() ? std::string_view() : std::string_view(channels[0]);
            info.db_name = db_text_;
            info.server_address = host_;
            info.server_port = port_;
            info.parent = &parent;
            scope = observer_->OnStart(info);
        }
        auto end = [&](const common::Status& st) {
            if (scope) {
                DbOutcome o;
                o.ok = st.ok();
                if (!st.ok()) {
                    o.code = st.error().code;
                    o.message = st.error().message;
                    o.error_type = st.error().code == ErrorCode::kUpstreamTimeout ? "timeout" : "connection";
                }
                scope->End(o);
            }
        };
        for (const auto& c : channels) {
            channels_.insert(c);
        }
        if (state_ == State::kIdle) {
            Connect();
        }
        if ((state_ != State::kConnected && state_ != State::kConnecting) || ac_ == nullptr) {
            common::Status st = Unavailable();
            end(st);
            co_return st;
        }
        auto waiter = std::make_shared<ConfirmWaiter>(executor_);
        waiter->pending.insert(channels.begin(), channels.end());
        confirm_waiters_.push_back(waiter);
        std::vector<std::string> cmd{"SUBSCRIBE"};
        cmd.insert(cmd.end(), channels.begin(), channels.end());
        if (!Send(cmd, &OnSubscriberReply, this)) {
            std::erase(confirm_waiters_, waiter);
            common::Status st = Unavailable();
            end(st);
            co_return st;
        }
        if (!waiter->pending.empty()) {
            waiter->timer.expires_after(timeout.value_or(options_.command_timeout));
            co_await waiter->timer.async_wait(as_tuple(use_awaitable));
        }
        std::erase(confirm_waiters_, waiter);
        common::Status st = waiter->pending.empty() ? common::Ok()
                            : waiter->lost          ? common::Status(Unavailable())
                                                    : common::Status(TimedOut());
        end(st);
        co_return st;
    }

private:
    struct ConfirmWaiter {
        explicit ConfirmWaiter(const asio::any_io_executor& ex) : timer(ex) {}
        asio::steady_timer timer;
        std::set<std::string> pending;
        bool lost = false;
    };

    void ParseUrl() {
        auto u = boost::urls::parse_uri(options_.url);
        if (!u) {
            spdlog::error("redis: cannot parse URL (expected redis://host:port[/db])");
            return;
        }
        if (u->has_port()) {
            port_ = static_cast<int>(u->port_number());
        }
        if (!u->host().empty()) {
            host_ = std::string(u->host());
        }
        if (u->has_password()) {
            password_ = std::string(u->password());
        }
        if (u->has_userinfo() && !u->user().empty()) {
            username_ = std::string(u->user());
        }
        std::string path(u->path());
        if (path.size() > 1) {
            db_ = std::atoi(path.c_str() + 1);
        }
        db_text_ = std::to_string(db_);
    }

    // Queues one command on the hiredis context.
    bool Send(const std::vector<std::string>& cmd, redisCallbackFn* fn, void* privdata) {
        if (ac_ == nullptr || cmd.empty()) {
            if (fn == &OnCommandReply) {
                delete static_cast<Slot*>(privdata);
            } else if (fn == &OnProbeReply) {
                delete static_cast<std::weak_ptr<RedisLink>*>(privdata);
            }
            return false;
        }
        std::vector<const char*> argv;
        std::vector<std::size_t> lens;
        argv.reserve(cmd.size());
        lens.reserve(cmd.size());
        for (const auto& a : cmd) {
            argv.push_back(a.data());
            lens.push_back(a.size());
        }
        if (redisAsyncCommandArgv(ac_, fn, privdata, static_cast<int>(argv.size()), argv.data(),
                                  lens.data()) != REDIS_OK) {
            if (fn == &OnCommandReply) {
                delete static_cast<Slot*>(privdata);
            } else if (fn == &OnProbeReply) {
                delete static_cast<std::weak_ptr<RedisLink>*>(privdata);
            }
            return false;
        }
        return true;
    }

    void Connect() {
        if (state_ == State::kStopped) {
            return;
        }
        ++generation_;
        CloseSocket();
        redisAsyncContext* ac = redisAsyncConnect(host_.c_str(), port_);
        if (ac == nullptr || ac->err != 0) {
            spdlog::warn("redis: cannot connect to {}:{}: {}", host_, port_,
                         ac != nullptr ? ac->errstr : "out of memory");
            if (ac != nullptr) {
                redisAsyncFree(ac);
            }
            state_ = State::kBackoff;
            ScheduleReconnect();
            return;
        }
        ac_ = ac;
        ac->data = this;
        ac->ev.data = this;
        ac->ev.addRead = &AddRead;
        ac->ev.delRead = &DelRead;
        ac->ev.addWrite = &AddWrite;
        ac->ev.delWrite = &DelWrite;
        ac->ev.cleanup = &Cleanup;
        reading_ = false;
        writing_ = false;
        read_armed_ = false;
        write_armed_ = false;
        // Asio gets a dup of hiredis's fd: hiredis closes its own, never the one Asio registered.
        int copy = ::fcntl(ac->c.fd, F_DUPFD_CLOEXEC, 0);
        boost::system::error_code ec;
        if (copy >= 0) {
            socket_.assign(copy, ec);
        }
        if (copy < 0 || ec) {
            if (copy >= 0) {
                ::close(copy);
            }
            redisAsyncFree(ac);
            ac_ = nullptr;
            state_ = State::kBackoff;
            ScheduleReconnect();
            return;
        }
        state_ = State::kConnecting;
        redisAsyncSetDisconnectCallback(ac, &OnDisconnect);
        redisAsyncSetConnectCallback(ac, &OnConnect);  // arms the first write event
        if (!password_.empty()) {
            std::vector<std::string> auth{"AUTH"};
            if (!username_.empty()) {
                auth.push_back(username_);
            }
            auth.push_back(password_);
            Send(auth, &OnSetupReply, nullptr);
        }
        if (db_ != 0) {
            Send({"SELECT", db_text_}, &OnSetupReply, nullptr);
        }
        const auto gen = generation_;
        connect_timer_.expires_after(options_.connect_timeout);
        connect_timer_.async_wait([weak = weak_from_this(), gen](boost::system::error_code e) {
            auto self = weak.lock();
            if (e || !self || self->generation_ != gen || self->state_ != State::kConnecting) {
                return;
            }
            spdlog::warn("redis: connect to {}:{} timed out", self->host_, self->port_);
            self->Drop();
        });
    }

    // A command met its deadline without a reply: Redis is up but not answering (stopped, or
    // busy with a slow command or a fork). Every caller would wait out its own deadline, one
    // after the other; instead commands fail at once (kUpstreamUnavailable: a cache misses,
    // a publish stays in its outbox) until Redis answers a PING, sent every
    // stall_probe_interval. Its reply comes after those of the commands before it.
    void MarkStalled() {
        if (stalled_ || subscriber_ || state_ == State::kStopped) { return; }
        stalled_ = true;
        spdlog::warn(
            "redis: {}:{} did not answer a command within its deadline; commands fail at once "
            "until it answers a PING",
            host_, port_);
        ScheduleProbe();
    }

    void ScheduleProbe() {
        probe_timer_.expires_after(options_.stall_probe_interval);
        probe_timer_.async_wait([weak = weak_from_this()](boost::system::error_code e) {
            auto self = weak.lock();
            if (e || !self || !self->stalled_ || self->state_ == State::kStopped) { return; }
            if (self->state_ == State::kConnected && self->ac_ != nullptr &&
                self->probes_in_flight_ == 0) {
                std::vector<std::string> ping{"PING"};
                if (self->Send(ping, &OnProbeReply, new std::weak_ptr<RedisLink>(self))) {
                    ++self->probes_in_flight_;
                }
            }
            self->ScheduleProbe();
        });
    }

    static void OnProbeReply(redisAsyncContext* /*ac*/, void* reply, void* privdata) {
        std::unique_ptr<std::weak_ptr<RedisLink>> weak(
            static_cast<std::weak_ptr<RedisLink>*>(privdata));
        auto self = weak->lock();
        if (!self) { return; }
        --self->probes_in_flight_;
        // No reply: the connection went, and the timer sends another PING once it is back.
        if (reply != nullptr && self->stalled_) {
            self->stalled_ = false;
            self->probe_timer_.cancel();
            spdlog::info("redis: {}:{} answers again", self->host_, self->port_);
        }
    }

    // Frees the context from outside any hiredis callback (timers only) and reconnects.
    void Drop() {
        if (ac_ != nullptr) {
            redisAsyncContext* ac = ac_;
            redisAsyncFree(ac);
            ac_ = nullptr;
        }
        CloseSocket();
        if (state_ != State::kStopped) {
            state_ = State::kBackoff;
            ScheduleReconnect();
        }
    }

    void ScheduleReconnect() {
        if (state_ == State::kStopped) {
            return;
        }
        auto delay = backoff_;
        backoff_ = std::min(backoff_ * 2, options_.reconnect_max);
        reconnect_timer_.expires_after(delay);
        reconnect_timer_.async_wait([weak = weak_from_this()](boost::system::error_code e) {
            auto self = weak.lock();
            if (e || !self || self->state_ != State::kBackoff) {
                return;
            }
            self->Connect();
        });
    }

    void CloseSocket() {
        boost::system::error_code ec;
        socket_.close(ec);
        read_armed_ = false;
        write_armed_ = false;
    }

    void ArmRead() {
        if (read_armed_ || !socket_.is_open()) {
            return;
        }
        read_armed_ = true;
        socket_.async_wait(asio::posix::stream_descriptor::wait_read,
                           [self = shared_from_this(), gen = generation_](boost::system::error_code ec) {
                               if (gen != self->generation_) {
                                   return;
                               }
                               self->read_armed_ = false;
                               if (ec || self->ac_ == nullptr || !self->reading_) {
                                   return;
                               }
                               redisAsyncHandleRead(self->ac_);
                               if (gen == self->generation_ && self->ac_ != nullptr && self->reading_) {
                                   self->ArmRead();
                               }
                           });
    }

    void ArmWrite() {
        if (write_armed_ || !socket_.is_open()) {
            return;
        }
        write_armed_ = true;
        socket_.async_wait(asio::posix::stream_descriptor::wait_write,
                           [self = shared_from_this(), gen = generation_](boost::system::error_code ec) {
                               if (gen != self->generation_) {
                                   return;
                               }
                               self->write_armed_ = false;
                               if (ec || self->ac_ == nullptr || !self->writing_) {
                                   return;
                               }
                               redisAsyncHandleWrite(self->ac_);
                               if (gen == self->generation_ && self->ac_ != nullptr && self->writing_) {
                                   self->ArmWrite();
                               }
                           });
    }

    // ---- hiredis hooks (called from inside hiredis on the executor) ---------------------------

    static RedisLink* From(void* p) { return static_cast<RedisLink*>(p); }
    static void AddRead(void* p) {
        From(p)->reading_ = true;
        From(p)->ArmRead();
    }
    static void DelRead(void* p) { From(p)->reading_ = false; }
    static void AddWrite(void* p) {
        From(p)->writing_ = true;
        From(p)->ArmWrite();
    }
    static void DelWrite(void* p) { From(p)->writing_ = false; }
    static void Cleanup(void* p) {
        RedisLink* self = From(p);
        self->reading_ = false;
        self->writing_ = false;
        self->ac_ = nullptr;
        // Handlers of the closed socket are ignored through the generation check.
        ++self->generation_;
        self->CloseSocket();
    }

    static void OnConnect(const redisAsyncContext* ac, int status) {
        RedisLink* self = From(ac->data);
        if (self->state_ == State::kStopped) {
            return;
        }
        self->connect_timer_.cancel();
        if (status != REDIS_OK) {
            spdlog::warn("redis: cannot connect to {}:{}: {}", self->host_, self->port_, ac->errstr);
            // hiredis frees the context after this callback.
            self->state_ = State::kBackoff;
            self->ScheduleReconnect();
            return;
        }
        const bool again = self->ever_connected_;
        self->ever_connected_ = true;
        self->state_ = State::kConnected;
        self->backoff_ = self->options_.reconnect_min;
        if (again) {
            spdlog::info("redis: reconnected to {}:{}", self->host_, self->port_);
        }
        if (self->subscriber_ && !self->channels_.empty()) {
            std::vector<std::string> cmd{"SUBSCRIBE"};
            cmd.insert(cmd.end(), self->channels_.begin(), self->channels_.end());
            self->resubscribing_ = again;
            self->Send(cmd, &OnSubscriberReply, self);
        }
    }

    static void OnDisconnect(const redisAsyncContext* ac, int status) {
        RedisLink* self = From(ac->data);
        if (self->state_ == State::kStopped) {
            return;
        }
        spdlog::warn("redis: connection to {}:{} lost{}", self->host_, self->port_,
                     status == REDIS_OK ? "" : std::string(": ") + ac->errstr);
        // The context is being freed by hiredis; reconnect from a timer, outside its callbacks.
        self->state_ = State::kBackoff;
        for (auto& w : self->confirm_waiters_) {
            w->lost = true;
            w->timer.cancel();
        }
        self->ScheduleReconnect();
    }

    static void OnSetupReply(redisAsyncContext* ac, void* reply, void* /*privdata*/) {
        auto* r = static_cast<redisReply*>(reply);
        if (r != nullptr && r->type == REDIS_REPLY_ERROR) {
            RedisLink* self = From(ac->data);
            spdlog::error("redis: AUTH/SELECT on {}:{} failed: {}", self->host_, self->port_,
                          std::string(r->str, r->len));
        }
    }

    static void OnSubscriberReply(redisAsyncContext* /*ac*/, void* reply, void* privdata) {
        auto* r = static_cast<redisReply*>(reply);
        if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements < 3) {
            return;  // context freed, or not a pub/sub frame
        }
        RedisLink* self = static_cast<RedisLink*>(privdata);
        std::string_view kind(r->element[0]->str, r->element[0]->len);
        std::string_view channel(r->element[1]->str, r->element[1]->len);
        if (kind == "message") {
            if (self->on_message_) {
                self->on_message_(channel, std::string_view(r->element[2]->str, r->element[2]->len));
            }
        } else if (kind == "subscribe") {
            for (auto& w : self->confirm_waiters_) {
                w->pending.erase(std::string(channel));
                if (w->pending.empty()) {
                    w->timer.cancel();
                }
            }
            if (self->resubscribing_) {
                self->resubscribing_ = false;
                if (self->on_reconnect_) {
                    self->on_reconnect_();
                }
            }
        }
    }

    asio::any_io_executor executor_;
    RedisOptions options_;
    bool subscriber_;
    std::string host_ = "127.0.0.1";
    int port_ = 6379;
    int db_ = 0;
    std::string db_text_ = "0";
    std::string username_;
    std::string password_;

    redisAsyncContext* ac_ = nullptr;
    asio::posix::stream_descriptor socket_;
    asio::steady_timer reconnect_timer_;
    asio::steady_timer connect_timer_;
    asio::steady_timer probe_timer_;
    std::chrono::milliseconds backoff_;
    State state_ = State::kIdle;
    std::uint64_t generation_ = 0;
    bool reading_ = false;
    bool writing_ = false;
    bool read_armed_ = false;
    bool write_armed_ = false;
    bool ever_connected_ = false;
    bool stalled_ = false;  // a command timed out and no PING has been answered since
    int probes_in_flight_ = 0;

    std::shared_ptr<DbObserver> observer_;
    // subscriber mode
    std::set<std::string> channels_;
    std::vector<std::shared_ptr<ConfirmWaiter>> confirm_waiters_;
    RedisSubscriber::MessageHandler on_message_;
    std::function<void()> on_reconnect_;
    bool resubscribing_ = false;
};

Task<common::Status> WaitUntilConnected(const std::shared_ptr<RedisLink>& link, std::chrono::milliseconds timeout) {
    const auto deadline = SteadyClock::now() + timeout;
    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer tick(ex);
    link->Start();
    // Bounded polling on a condition; the link itself reconnects in the background.
    while (!link->connected()) {
        if (SteadyClock::now() >= deadline) {
            co_return Unavailable();
        }
        tick.expires_after(std::chrono::milliseconds(5));
        co_await tick.async_wait(as_tuple(use_awaitable));
    }
    co_return common::Ok();
}

}  // namespace detail

// ---- RedisClient ------------------------------------------------------------------------------

RedisClient::RedisClient(boost::asio::any_io_executor executor, RedisOptions options)
    : link_(std::make_shared<detail::RedisLink>(std::move(executor), std::move(options), false)) {
    link_->Start();
}

RedisClient::~RedisClient() { link_->Stop(); }

void RedisClient::SetObserver(std::shared_ptr<DbObserver> observer) { link_->SetObserver(std::move(observer)); }

bool RedisClient::connected() const { return link_->connected(); }

bool RedisClient::answering() const {
    return link_->answering();
}

Task<common::Status> RedisClient::WaitConnected(std::chrono::milliseconds timeout) {
    co_return co_await detail::WaitUntilConnected(link_, timeout);
}

Task<common::Result<RedisReply>> RedisClient::CommandWith(const common::TraceContext& parent,
                                                          std::vector<std::string> args,
                                                      std::optional<std::chrono::milliseconds> timeout) {
    std::vector<std::vector<std::string>> batch;
    batch.push_back(std::move(args));
    auto r = co_await link_->Exec(parent, std::move(batch), timeout);
    if (!r) {
        co_return std::move(r).error();
    }
    co_return std::move(r->front());
}

Task<common::Result<std::vector<RedisReply>>> RedisClient::Pipeline(
    const common::TraceContext& parent, std::vector<std::vector<std::string>> commands,
    std::optional<std::chrono::milliseconds> timeout) {
    if (commands.empty()) {
        co_return std::vector<RedisReply>{};
    }
    co_return co_await link_->Exec(parent, std::move(commands), timeout);
}

namespace {

common::Error ErrorReply(const RedisReply& r) {
    spdlog::warn("redis: error reply: {}", r.str.substr(0, 200));
    return common::Error::Make(common::ErrorCode::kInternal, "redis error");
}

}  // namespace

Task<common::Result<std::optional<std::string>>> RedisClient::Get(const common::TraceContext& parent,
                                                                  std::string key) {
    auto r = co_await Command(parent, "GET", std::move(key));
    if (!r) {
        co_return std::move(r).error();
    }
    if (r->is_error()) {
        co_return ErrorReply(*r);
    }
    co_return r->AsString();
}

Task<common::Status> RedisClient::Set(const common::TraceContext& parent, std::string key, std::string value,
                                      std::optional<std::chrono::milliseconds> ttl) {
    std::vector<std::string> args{"SET", std::move(key), std::move(value)};
    if (ttl) {
        args.emplace_back("PX");
        args.push_back(std::to_string(std::max<std::int64_t>(1, ttl->count())));
    }
    auto r = co_await CommandWith(parent, std::move(args));
    if (!r) {
        co_return std::move(r).error();
    }
    if (r->is_error()) {
        co_return ErrorReply(*r);
    }
    co_return common::Ok();
}

Task<common::Result<std::int64_t>> RedisClient::Del(const common::TraceContext& parent, std::string key) {
    auto r = co_await Command(parent, "DEL", std::move(key));
    if (!r) {
        co_return std::move(r).error();
    }
    if (r->is_error()) {
        co_return ErrorReply(*r);
    }
    co_return r->integer;
}

Task<common::Result<std::int64_t>> RedisClient::Publish(const common::TraceContext& parent,
                                                        std::string channel, std::string message) {
    auto r = co_await Command(parent, "PUBLISH", std::move(channel), std::move(message));
    if (!r) {
        co_return std::move(r).error();
    }
    if (r->is_error()) {
        co_return ErrorReply(*r);
    }
    co_return r->integer;
}

// ---- RedisSubscriber --------------------------------------------------------------------------

RedisSubscriber::RedisSubscriber(boost::asio::any_io_executor executor, RedisOptions options)
    : link_(std::make_shared<detail::RedisLink>(std::move(executor), std::move(options), true)) {
    link_->Start();
}

RedisSubscriber::~RedisSubscriber() { link_->Stop(); }

void RedisSubscriber::SetObserver(std::shared_ptr<DbObserver> observer) { link_->SetObserver(std::move(observer)); }
void RedisSubscriber::OnMessage(MessageHandler handler) { link_->SetMessageHandler(std::move(handler)); }
void RedisSubscriber::OnReconnect(std::function<void()> handler) { link_->SetReconnectHandler(std::move(handler)); }
bool RedisSubscriber::connected() const { return link_->connected(); }

Task<common::Status> RedisSubscriber::WaitConnected(std::chrono::milliseconds timeout) {
    co_return co_await detail::WaitUntilConnected(link_, timeout);
}

Task<common::Status> RedisSubscriber::SubscribeMany(const common::TraceContext& parent,
                                                    std::vector<std::string> channels,
                                                    std::optional<std::chrono::milliseconds> timeout) {
    co_return co_await link_->Subscribe(parent, std::move(channels), timeout);
}

Task<common::Status> RedisSubscriber::Subscribe(const common::TraceContext& parent, std::string channel,
                                                std::optional<std::chrono::milliseconds> timeout) {
    std::vector<std::string> channels;
    channels.push_back(std::move(channel));
    co_return co_await link_->Subscribe(parent, std::move(channels), timeout);
}

}  // namespace flowex::storage
