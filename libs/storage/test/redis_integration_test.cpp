// The Redis client against the real Redis of the `dbs` fixture: commands, pipelining,
// pub/sub, deadlines and reconnects. Keys are prefixed per test process.
#include <gtest/gtest.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <vector>

#include "flowex/storage/redis.hpp"
#include "flowex/testing/test_env.hpp"
#include "run_util.hpp"

namespace flowex::storage {
namespace {

using common::ErrorCode;
using common::Status;
using test::Pause;
using test::RunTask;
namespace asio = boost::asio;
using namespace std::chrono_literals;

const common::TraceContext kParent{};

class RedisTest : public ::testing::Test {
protected:
    void SetUp() override {
        env_ = testing::RequireTestEnv();
        prefix_ = "test:" + std::to_string(::getpid()) + ":" +
                  ::testing::UnitTest::GetInstance()->current_test_info()->name() + ":";
    }
    RedisOptions Options() const {
        return RedisOptions{.url = env_.redis_url, .command_timeout = 2s, .reconnect_min = 10ms,
                            .reconnect_max = 200ms};
    }
    std::string Key(const std::string& k) const { return prefix_ + k; }

    asio::io_context io_;
    testing::TestEnvironment env_;
    std::string prefix_;
};

TEST_F(RedisTest, RedisGetSetDel) {
    RedisClient redis(io_.get_executor(), Options());
    ASSERT_TRUE(RunTask(io_, redis.WaitConnected(5s)).ok());
    auto missing = RunTask(io_, redis.Get(kParent, Key("k")));
    ASSERT_TRUE(missing.ok()) << missing.error().message;
    EXPECT_EQ(*missing, std::nullopt);
    ASSERT_TRUE(RunTask(io_, redis.Set(kParent, Key("k"), std::string("v\0x", 3), 60s)).ok());
    auto got = RunTask(io_, redis.Get(kParent, Key("k")));
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(*got, std::string("v\0x", 3));  // binary safe
    auto ttl = RunTask(io_, redis.Command(kParent, "PTTL", Key("k")));
    ASSERT_TRUE(ttl.ok());
    EXPECT_GT(ttl->integer, 0);
    auto del = RunTask(io_, redis.Del(kParent, Key("k")));
    ASSERT_TRUE(del.ok());
    EXPECT_EQ(*del, 1);
    // A Redis error reply is a reply, not a transport failure.
    ASSERT_TRUE(RunTask(io_, redis.Set(kParent, Key("s"), "text")).ok());
    auto wrong = RunTask(io_, redis.Command(kParent, "INCR", Key("s")));
    ASSERT_TRUE(wrong.ok());
    EXPECT_TRUE(wrong->is_error());
}

TEST_F(RedisTest, RedisPipelineSendsSeveralCommandsAtOnce) {
    RedisClient redis(io_.get_executor(), Options());
    std::vector<std::vector<std::string>> cmds;
    cmds.push_back({"SET", Key("n"), "10"});
    cmds.push_back({"INCRBY", Key("n"), "5"});
    cmds.push_back({"GET", Key("n")});
    cmds.push_back({"GET", Key("absent")});
    cmds.push_back({"RPUSH", Key("l"), "a", "b"});
    cmds.push_back({"LRANGE", Key("l"), "0", "-1"});
    auto r = RunTask(io_, redis.Pipeline(kParent, cmds));
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->size(), 6u);
    EXPECT_EQ((*r)[0].str, "OK");
    EXPECT_EQ((*r)[1].integer, 15);
    EXPECT_EQ((*r)[2].AsString(), "15");
    EXPECT_TRUE((*r)[3].is_nil());
    ASSERT_EQ((*r)[5].elements.size(), 2u);
    EXPECT_EQ((*r)[5].elements[1].str, "b");

    // Many independent commands in flight at once on the one connection.
    auto many = [&]() -> Task<Status> {
        auto ex = co_await asio::this_coro::executor;
        std::vector<std::optional<common::Result<RedisReply>>> out(50);
        for (auto& o : out) {
            test::Spawn(ex, redis.Command(kParent, "INCR", Key("c")), &o);
        }
        auto count = [&](bool need_ok) {
            int n = 0;
            for (auto& o : out) {
                n += o && (!need_ok || o->ok()) ? 1 : 0;
            }
            return n;
        };
        for (int i = 0; i < 1000 && count(false) < 50; ++i) {
            co_await Pause(5ms);
        }
        const int ok = count(true);
        co_return ok == 50 ? common::Ok() : common::Status(common::Error::Make(ErrorCode::kInternal, "lost"));
    };
    ASSERT_TRUE(RunTask(io_, many()).ok());
    auto c = RunTask(io_, redis.Get(kParent, Key("c")));
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(*c, "50");
}

TEST_F(RedisTest, RedisPublishReachesSubscriber) {
    RedisClient redis(io_.get_executor(), Options());
    RedisSubscriber sub(io_.get_executor(), Options());
    std::vector<std::pair<std::string, std::string>> got;
    sub.OnMessage([&](std::string_view ch, std::string_view msg) { got.emplace_back(ch, msg); });
    auto st = RunTask(io_, sub.Subscribe(kParent, Key("events")));
    ASSERT_TRUE(st.ok()) << st.error().message;
    auto n = RunTask(io_, redis.Publish(kParent, Key("events"), "order:1 FILLED"));
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(*n, 1);
    auto wait = [&]() -> Task<Status> {
        for (int i = 0; i < 1000 && got.empty(); ++i) {
            co_await Pause(5ms);
        }
        co_return common::Ok();
    };
    (void)RunTask(io_, wait());
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].first, Key("events"));
    EXPECT_EQ(got[0].second, "order:1 FILLED");
}

TEST_F(RedisTest, RedisCommandPastItsDeadlineIsTimeout) {
    RedisClient redis(io_.get_executor(), Options());
    ASSERT_TRUE(RunTask(io_, redis.WaitConnected(5s)).ok());
    std::vector<std::string> blocking{"BLPOP", Key("never"), "5"};
    auto r = RunTask(io_, redis.CommandWith(kParent, blocking, 100ms));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kUpstreamTimeout);
}

// A Redis that does not answer (stopped, stuck in a slow command or a fork) used to cost every
// command its whole deadline, one after the other. Here only this connection's Redis is stuck:
// a BLPOP that Redis holds for 3 s, past the client's 100 ms deadline, with commands queued
// behind it. After that one deadline, commands fail at once until a PING is answered.
TEST_F(RedisTest, RedisThatStopsAnsweringFailsCommandsAtOnceUntilItAnswersAPing) {
    RedisOptions options = Options();
    options.stall_probe_interval = 20ms;
    RedisClient redis(io_.get_executor(), options);
    ASSERT_TRUE(RunTask(io_, redis.WaitConnected(5s)).ok());
    ASSERT_TRUE(RunTask(io_, redis.Set(kParent, Key("k"), "v")).ok());
    EXPECT_TRUE(redis.answering());
    std::vector<std::string> stuck{"BLPOP", Key("never"), "3"};
    auto first = RunTask(io_, redis.CommandWith(kParent, stuck, 100ms));
    ASSERT_FALSE(first.ok());
    EXPECT_EQ(first.error().code, ErrorCode::kUpstreamTimeout);
    EXPECT_FALSE(redis.answering());
    EXPECT_TRUE(redis.connected());
    auto skipped = RunTask(io_, redis.Get(kParent, Key("k")));
    ASSERT_FALSE(skipped.ok()) << "sent, and answered only after the stuck command";
    EXPECT_EQ(skipped.error().code, ErrorCode::kUpstreamUnavailable);
    auto answering_again = [&]() -> Task<bool> {
        for (int i = 0; i < 1000 && !redis.answering(); ++i) { co_await Pause(10ms); }
        co_return redis.answering();
    };
    ASSERT_TRUE(RunTask(io_, answering_again()));
    auto got = RunTask(io_, redis.Get(kParent, Key("k")));
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(*got, "v");
}

// Polls (bounded) until `cmd` succeeds on the client; returns how many attempts failed.
Task<int> PollUntilOk(RedisClient& redis, std::string cmd) {
    int failures = 0;
    for (int i = 0; i < 1000; ++i) {
        auto r = co_await redis.Command(kParent, cmd);
        if (r.ok() && !r->is_error()) {
            co_return failures;
        }
        ++failures;
        co_await Pause(5ms);
    }
    co_return -1;
}

TEST_F(RedisTest, RedisReconnectsAfterClientKill) {
    RedisClient redis(io_.get_executor(), Options());
    RedisClient admin(io_.get_executor(), Options());
    auto id = RunTask(io_, redis.Command(kParent, "CLIENT", "ID"));
    ASSERT_TRUE(id.ok()) << id.error().message;
    auto killed = RunTask(io_, admin.Command(kParent, "CLIENT", "KILL", "ID", std::to_string(id->integer)));
    ASSERT_TRUE(killed.ok());
    ASSERT_EQ(killed->integer, 1);
    ASSERT_GE(RunTask(io_, PollUntilOk(redis, "PING")), 0) << "the client did not reconnect";
    auto id2 = RunTask(io_, redis.Command(kParent, "CLIENT", "ID"));
    ASSERT_TRUE(id2.ok());
    EXPECT_NE(id2->integer, id->integer);
    EXPECT_TRUE(redis.connected());
}

TEST_F(RedisTest, RedisSubscriberResubscribesAfterClientKill) {
    RedisClient redis(io_.get_executor(), Options());
    RedisSubscriber sub(io_.get_executor(), Options());
    int reconnects = 0;
    std::vector<std::string> got;
    sub.OnMessage([&](std::string_view, std::string_view msg) { got.emplace_back(msg); });
    sub.OnReconnect([&] { ++reconnects; });
    ASSERT_TRUE(RunTask(io_, sub.Subscribe(kParent, Key("ch"))).ok());
    auto killed = RunTask(io_, redis.Command(kParent, "CLIENT", "KILL", "TYPE", "pubsub"));
    ASSERT_TRUE(killed.ok());
    ASSERT_GE(killed->integer, 1);
    auto scenario = [&]() -> Task<Status> {
        for (int i = 0; i < 1000 && reconnects == 0; ++i) {
            co_await Pause(5ms);
        }
        if (reconnects == 0) {
            co_return common::Error::Make(ErrorCode::kInternal, "no resubscribe");
        }
        auto n = co_await redis.Publish(kParent, Key("ch"), "after");
        if (!n || *n != 1) {
            co_return common::Error::Make(ErrorCode::kInternal, "not delivered to one subscriber");
        }
        for (int i = 0; i < 1000 && got.empty(); ++i) {
            co_await Pause(5ms);
        }
        co_return common::Ok();
    };
    auto st = RunTask(io_, scenario());
    ASSERT_TRUE(st.ok()) << st.error().message;
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0], "after");
}

}  // namespace
}  // namespace flowex::storage
