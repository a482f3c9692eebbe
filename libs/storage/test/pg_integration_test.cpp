// PostgreSQL pool, statements, transactions and failure handling against the real server of
// the `dbs` fixture (scripts/test-services). Each test gets a fresh database.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "flowex/storage/pg.hpp"
#include "flowex/testing/test_env.hpp"
#include "run_util.hpp"

namespace flowex::storage {
namespace {

using namespace std::chrono_literals;
using common::ErrorCode;
using common::Status;
using test::Pause;
using test::RunTask;
namespace asio = boost::asio;

const common::TraceContext kParent{};

class PgTest : public ::testing::Test {
protected:
    void SetUp() override { db_ = std::make_unique<testing::TestDatabase>(testing::TestDatabase::CreateOrThrow("storage_pg")); }
    void TearDown() override {
        pools_.clear();
        db_.reset();
    }
    PgPool& Pool(PgPoolOptions o = {}) {
        o.url = db_->url();
        pools_.push_back(std::make_unique<PgPool>(io_.get_executor(), std::move(o)));
        return *pools_.back();
    }
    void Sql(const std::string& sql) {
        auto st = db_->Exec(sql);
        ASSERT_TRUE(st.ok()) << st.error().message;
    }
    std::string Value(const std::string& sql) {
        auto v = db_->QueryValue(sql);
        EXPECT_TRUE(v.ok()) << v.error().message;
        return v.ok() ? *v : std::string("<error>");
    }

    asio::io_context io_;
    std::unique_ptr<testing::TestDatabase> db_;
    std::vector<std::unique_ptr<PgPool>> pools_;
};

constexpr PgStatement kInsertAccount{
    "test_insert_account",
    "INSERT INTO accounts (name, balance, active, note) VALUES ($1, $2, $3, $4) RETURNING id"};
constexpr PgStatement kFindAccount{
    "test_find_account", "SELECT id, name, balance, active, note FROM accounts WHERE name = $1"};

TEST_F(PgTest, PgPreparedStatementsTakeParametersNeverInterpolated) {
    Sql("CREATE TABLE accounts (id bigserial PRIMARY KEY, name text UNIQUE NOT NULL, "
        "balance bigint NOT NULL, active boolean NOT NULL, note text)");
    auto& pool = Pool({.size = 1});
    const std::string tricky = "O'Brien'); DROP TABLE accounts; --";
    auto ins = RunTask(io_, pool.Query(kParent, kInsertAccount, tricky, std::int64_t{-77625}, true,
                                       std::nullopt));
    ASSERT_TRUE(ins.ok()) << ins.error().message;
    ASSERT_EQ(ins->size(), 1);
    EXPECT_GT(ins->front().Int64("id"), 0);
    EXPECT_EQ(ins->affected(), 1);

    // Twice on the same connection (pool size 1): prepared once.
    for (int i = 0; i < 2; ++i) {
        auto rows = RunTask(io_, pool.Query(kParent, kFindAccount, tricky));
        ASSERT_TRUE(rows.ok()) << rows.error().message;
        ASSERT_EQ(rows->size(), 1);
        auto row = rows->front();
        EXPECT_EQ(row.String("name"), tricky);
        EXPECT_EQ(row.Int64("balance"), -77625);
        EXPECT_EQ(row.OptBool("active"), true);
        EXPECT_TRUE(row.IsNull("note"));
        EXPECT_EQ(row.OptString("note"), std::nullopt);
    }
    auto prepared = RunTask(io_, pool.QuerySql(kParent,
                                               "SELECT count(*) FROM pg_prepared_statements WHERE name = $1",
                                               std::string(kFindAccount.name)));
    ASSERT_TRUE(prepared.ok()) << prepared.error().message;
    EXPECT_EQ(prepared->front().Int64(0), 1);
    EXPECT_EQ(Value("SELECT count(*) FROM accounts"), "1");

    auto none = RunTask(io_, pool.Query(kParent, kFindAccount, "nobody"));
    ASSERT_TRUE(none.ok());
    EXPECT_TRUE(none->empty());
}

TEST_F(PgTest, PgUniqueViolationIsConflictNamingTheConstraint) {
    Sql("CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL, balance bigint, "
        "active boolean, note text, CONSTRAINT accounts_name_key UNIQUE (name))");
    auto& pool = Pool();
    ASSERT_TRUE(RunTask(io_, pool.Query(kParent, kInsertAccount, "alice", 1, true, "x")).ok());
    auto dup = RunTask(io_, pool.Query(kParent, kInsertAccount, "alice", 2, false, "y"));
    ASSERT_FALSE(dup.ok());
    EXPECT_EQ(dup.error().code, ErrorCode::kConflict);
    EXPECT_EQ(UniqueViolationConstraint(dup.error()), "accounts_name_key");
    // Other errors are kInternal with no internals in the message.
    auto bad = RunTask(io_, pool.QuerySql(kParent, "SELECT * FROM no_such_table WHERE id = $1", 1));
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::kInternal);
    EXPECT_EQ(bad.error().message.find("no_such_table"), std::string::npos);
}

TEST_F(PgTest, PgTransactionCommitsOrRollsBackOnError) {
    Sql("CREATE TABLE ledger (id serial PRIMARY KEY, amount bigint NOT NULL)");
    auto& pool = Pool();
    auto ok = RunTask(io_, pool.Transaction(kParent, [&](PgTx& tx) -> Task<Status> {
        auto a = co_await tx.QuerySql(kParent, "INSERT INTO ledger (amount) VALUES ($1)", 100);
        if (!a) {
            co_return a.error();
        }
        auto b = co_await tx.QuerySql(kParent, "INSERT INTO ledger (amount) VALUES ($1)", -40);
        if (!b) {
            co_return b.error();
        }
        co_return common::Ok();
    }));
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_EQ(Value("SELECT sum(amount) FROM ledger"), "60");

    // A business error from the body: everything the body wrote is rolled back.
    auto rejected = RunTask(io_, pool.Transaction(kParent, [&](PgTx& tx) -> Task<Status> {
        auto a = co_await tx.QuerySql(kParent, "INSERT INTO ledger (amount) VALUES ($1)", 1000);
        if (!a) {
            co_return a.error();
        }
        co_return common::Error::Make(ErrorCode::kInsufficientFunds, "not enough");
    }));
    ASSERT_FALSE(rejected.ok());
    EXPECT_EQ(rejected.error().code, ErrorCode::kInsufficientFunds);
    // A failing statement: rolled back too, its error returned.
    auto failed = RunTask(io_, pool.Transaction(kParent, [&](PgTx& tx) -> Task<Status> {
        auto a = co_await tx.QuerySql(kParent, "INSERT INTO ledger (amount) VALUES ($1)", 5);
        if (!a) {
            co_return a.error();
        }
        auto b = co_await tx.QuerySql(kParent, "INSERT INTO ledger (amount) VALUES ($1)", std::nullopt);
        if (!b) {
            co_return b.error();
        }
        co_return common::Ok();
    }));
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(Value("SELECT sum(amount) FROM ledger"), "60");
    EXPECT_EQ(Value("SELECT count(*) FROM ledger"), "2");
    // The connections went back clean: a plain query works.
    EXPECT_TRUE(RunTask(io_, pool.QuerySql(kParent, "SELECT 1")).ok());
}

TEST_F(PgTest, PgSerializationFailureIsRetriedUntilBothTransactionsApply) {
    Sql("CREATE TABLE counter (id int PRIMARY KEY, n int NOT NULL); INSERT INTO counter VALUES (1, 0)");
    auto& pool = Pool({.size = 2});
    int reads_first_attempt = 0;
    int attempts = 0;
    auto increment = [&]() -> Task<Status> {
        co_return co_await pool.Transaction(
            kParent,
            [&](PgTx& tx) -> Task<Status> {
                ++attempts;
                auto r = co_await tx.QuerySql(kParent, "SELECT n FROM counter WHERE id = $1", 1);
                if (!r) {
                    co_return r.error();
                }
                const auto n = r->front().Int64(0);
                if (tx.attempt() == 1) {
                    // Both first attempts read the same snapshot before either writes.
                    ++reads_first_attempt;
                    for (int i = 0; i < 1000 && reads_first_attempt < 2; ++i) {
                        co_await Pause(5ms);
                    }
                }
                auto w = co_await tx.QuerySql(kParent, "UPDATE counter SET n = $1 WHERE id = $2", n + 1, 1);
                if (!w) {
                    co_return w.error();
                }
                co_return common::Ok();
            },
            {.isolation = IsolationLevel::kSerializable});
    };
    auto both = [&]() -> Task<std::vector<Status>> {
        std::vector<std::optional<Status>> out(2);
        auto ex = co_await asio::this_coro::executor;
        for (auto& o : out) {
            test::Spawn(ex, increment(), &o);
        }
        for (int i = 0; i < 6000 && (!out[0] || !out[1]); ++i) {
            co_await Pause(5ms);
        }
        std::vector<Status> results;
        for (auto& o : out) {
            results.push_back(o ? *o : Status(common::Error::Make(ErrorCode::kInternal, "did not finish")));
        }
        co_return results;
    };
    auto results = RunTask(io_, both());
    ASSERT_EQ(reads_first_attempt, 2);
    EXPECT_TRUE(results[0].ok()) << results[0].error().message;
    EXPECT_TRUE(results[1].ok()) << results[1].error().message;
    EXPECT_EQ(Value("SELECT n FROM counter WHERE id = 1"), "2");
    EXPECT_GE(attempts, 3) << "one of the two must have been retried";
}

TEST_F(PgTest, PgPoolExhaustionGivesTimeoutNotHang) {
    auto& pool = Pool({.size = 1, .acquire_timeout = 200ms});
    auto held = RunTask(io_, pool.Acquire());
    ASSERT_TRUE(held.ok()) << held.error().message;
    auto second = RunTask(io_, pool.Acquire(100ms));
    ASSERT_FALSE(second.ok());
    EXPECT_EQ(second.error().code, ErrorCode::kUpstreamTimeout);
    auto query = RunTask(io_, pool.QuerySql(kParent, "SELECT 1"));
    ASSERT_FALSE(query.ok());
    EXPECT_EQ(query.error().code, ErrorCode::kUpstreamTimeout);
    EXPECT_EQ(pool.Stats().waiting, 0u);
    // Released: the next caller gets it.
    held = common::Error::Make(ErrorCode::kInternal, "released");
    auto third = RunTask(io_, pool.QuerySql(kParent, "SELECT 1"));
    EXPECT_TRUE(third.ok()) << third.error().message;
}

TEST_F(PgTest, PgWaiterGetsTheConnectionReleasedWhileItWaits) {
    auto& pool = Pool({.size = 1, .acquire_timeout = 10s});
    auto scenario = [&]() -> Task<Status> {
        auto held = co_await pool.Acquire();
        if (!held) {
            co_return held.error();
        }
        auto ex = co_await asio::this_coro::executor;
        std::optional<common::Result<PgRows>> second;
        test::Spawn(ex, pool.QuerySql(kParent, "SELECT 1"), &second);
        for (int i = 0; i < 100 && pool.Stats().waiting == 0; ++i) {
            co_await Pause(5ms);
        }
        if (pool.Stats().waiting != 1) {
            co_return common::Error::Make(ErrorCode::kInternal, "the second query did not wait");
        }
        { PgConn release = std::move(held.value()); }
        for (int i = 0; i < 1000 && !second; ++i) {
            co_await Pause(5ms);
        }
        co_return second && second->ok() ? common::Ok() : common::Status(common::Error::Make(ErrorCode::kInternal, "not served"));
    };
    auto st = RunTask(io_, scenario());
    EXPECT_TRUE(st.ok()) << st.error().message;
}

TEST_F(PgTest, PgPoolRecoversAfterItsConnectionIsTerminated) {
    auto& pool = Pool({.size = 1});
    auto first = RunTask(io_, pool.QuerySql(kParent, "SELECT pg_backend_pid()"));
    ASSERT_TRUE(first.ok()) << first.error().message;
    const auto pid = first->front().Int64(0);
    // Waits (server side, bounded) until that backend is gone.
    EXPECT_EQ(Value("SELECT pg_terminate_backend(" + std::to_string(pid) + ", 10000)"), "t");
    auto second = RunTask(io_, pool.QuerySql(kParent, "SELECT pg_backend_pid()"));
    ASSERT_TRUE(second.ok()) << second.error().message;
    EXPECT_NE(second->front().Int64(0), pid);
    EXPECT_EQ(pool.Stats().open, 1u);
}

TEST_F(PgTest, PgConnectionKilledMidUseIsUnavailableThenReplaced) {
    auto& pool = Pool({.size = 1});
    auto scenario = [&]() -> Task<Status> {
        auto lease = co_await pool.Acquire();
        if (!lease) {
            co_return lease.error();
        }
        const int pid = lease->BackendPid();
        auto other = testing::QueryValue(db_->url(), "SELECT pg_terminate_backend(" + std::to_string(pid) + ", 10000)");
        if (!other || *other != "t") {
            co_return common::Error::Make(ErrorCode::kInternal, "terminate failed");
        }
        auto r = co_await lease->QuerySql(kParent, "SELECT 1");
        if (r.ok() || r.error().code != ErrorCode::kUpstreamUnavailable) {
            co_return common::Error::Make(ErrorCode::kInternal, "expected kUpstreamUnavailable");
        }
        co_return common::Ok();
    };
    auto st = RunTask(io_, scenario());
    ASSERT_TRUE(st.ok()) << st.error().message;
    auto after = RunTask(io_, pool.QuerySql(kParent, "SELECT 1"));
    EXPECT_TRUE(after.ok()) << after.error().message;
}

TEST_F(PgTest, PgStatementDeadlineGivesTimeoutAndThePoolStaysUsable) {
    auto& pool = Pool({.size = 1});
    auto slow = RunTask(io_, pool.QuerySqlWith(kParent, "SELECT pg_sleep(30)", {}, 100ms));
    ASSERT_FALSE(slow.ok());
    EXPECT_EQ(slow.error().code, ErrorCode::kUpstreamTimeout);
    auto next = RunTask(io_, pool.QuerySql(kParent, "SELECT $1::int + 1", 41));
    ASSERT_TRUE(next.ok()) << next.error().message;
    EXPECT_EQ(next->front().Int64(0), 42);
    // The abandoned statement was cancelled on the server, not left running (bounded poll).
    const std::string still_running =
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND state = 'active' AND query = 'SELECT pg_sleep(30)'";
    std::string running = Value(still_running);
    for (int i = 0; i < 200 && running != "0"; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
        running = Value(still_running);
    }
    EXPECT_EQ(running, "0");
}

TEST_F(PgTest, PgServerGoneIsUnavailable) {
    // A port nothing listens on (the fixture's server is up; this URL points elsewhere).
    PgPool pool(io_.get_executor(), {.url = "postgresql://postgres@127.0.0.1:1/stockexchange"});
    auto r = RunTask(io_, pool.QuerySql(kParent, "SELECT 1"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::kUpstreamUnavailable);
    EXPECT_EQ(pool.Stats().open, 0u);
}

struct Recorded {
    std::string operation, collection, query_text, statement_name, db_name, address;
    int port = 0;
    bool ended = false;
    bool ok = false;
    std::int64_t rows = -1;
    std::string error_type;
    std::string parent_span;  ///< hex span id of the span's parent
};

class RecordingObserver : public DbObserver {
public:
    class Scope : public DbCallScope {
    public:
        explicit Scope(Recorded* r) : r_(r) {}
        void End(const DbOutcome& o) noexcept override {
            r_->ended = true;
            r_->ok = o.ok;
            r_->rows = o.rows;
            r_->error_type = std::string(o.error_type);
        }

    private:
        Recorded* r_;
    };
    std::unique_ptr<DbCallScope> OnStart(const DbCallInfo& i) noexcept override {
        calls.push_back(std::make_unique<Recorded>(Recorded{
            std::string(i.operation), std::string(i.collection), std::string(i.query_text),
            std::string(i.statement_name), std::string(i.db_name), std::string(i.server_address),
            i.server_port}));
        calls.back()->parent_span = i.parent != nullptr ? i.parent->SpanIdHex() : "";
        return std::make_unique<Scope>(calls.back().get());
    }
    std::vector<std::unique_ptr<Recorded>> calls;
};

TEST_F(PgTest, PgObserverSeesOperationTableAndOutcomeButNoValues) {
    Sql("CREATE TABLE accounts (id bigserial PRIMARY KEY, name text UNIQUE NOT NULL, "
        "balance bigint NOT NULL, active boolean NOT NULL, note text)");
    auto& pool = Pool();
    auto observer = std::make_shared<RecordingObserver>();
    pool.SetObserver(observer);
    const std::string secret = "hunter2-secret-value";
    ASSERT_TRUE(RunTask(io_, pool.Query(kParent, kInsertAccount, secret, 1, true, secret)).ok());
    ASSERT_FALSE(RunTask(io_, pool.Query(kParent, kInsertAccount, secret, 1, true, secret)).ok());
    ASSERT_EQ(observer->calls.size(), 2u);
    const auto& c = *observer->calls[0];
    EXPECT_EQ(c.operation, "INSERT");
    EXPECT_EQ(c.collection, "accounts");
    EXPECT_EQ(c.statement_name, "test_insert_account");
    EXPECT_NE(c.query_text.find("$1"), std::string::npos);
    EXPECT_EQ(c.query_text.find(secret), std::string::npos);
    EXPECT_EQ(c.db_name, db_->name());
    EXPECT_EQ(c.address, "127.0.0.1");
    EXPECT_GT(c.port, 0);
    EXPECT_TRUE(c.ended);
    EXPECT_TRUE(c.ok);
    EXPECT_EQ(c.rows, 1);
    EXPECT_TRUE(observer->calls[1]->ended);
    EXPECT_FALSE(observer->calls[1]->ok);
    EXPECT_EQ(observer->calls[1]->error_type, "23505");
}

TEST_F(PgTest, PgWarmOpensEveryConnectionAheadWithTheTablesPlanned) {
    Sql("CREATE TABLE warm_probe (id bigint PRIMARY KEY, note text)");
    auto& pool = Pool({.size = 3, .application_name = "warm-test"});
    auto warmed = RunTask(io_, pool.Warm(5));
    ASSERT_TRUE(warmed.ok()) << warmed.error().message;
    EXPECT_EQ(pool.Stats().open, 3u);  // never more than size
    EXPECT_EQ(pool.Stats().idle, 3u);
    // Each server process has planned a scan of the table: its last statement says so.
    const std::string of_pool = " FROM pg_stat_activity WHERE application_name = 'warm-test'";
    EXPECT_EQ(Value("SELECT count(*)" + of_pool), "3");
    EXPECT_EQ(
        Value("SELECT count(*)" + of_pool + " AND query LIKE '%EXPLAIN SELECT * FROM warm_probe%'"),
        "3");
    // The first query runs on one of them rather than on a new connection.
    auto pid = RunTask(io_, pool.QuerySql(kParent, "SELECT pg_backend_pid()::text"));
    ASSERT_TRUE(pid.ok()) << pid.error().message;
    EXPECT_EQ(Value("SELECT count(*)" + of_pool + " AND pid = " + pid->front().String(0)), "1");
    EXPECT_EQ(pool.Stats().open, 3u);
}

TEST_F(PgTest, PgWarmAgainstNoServerFailsAndLeavesThePoolEmpty) {
    PgPool pool(io_.get_executor(),
                {.url = "postgresql://postgres@127.0.0.1:1/stockexchange", .size = 2});
    auto warmed = RunTask(io_, pool.Warm(2));
    ASSERT_FALSE(warmed.ok());
    EXPECT_EQ(warmed.error().code, ErrorCode::kUpstreamUnavailable);
    EXPECT_EQ(pool.Stats().open, 0u);
}

TEST_F(PgTest, PgRelaxedPoolCommitsWithoutWaitingForTheDisk) {
    auto& strict = Pool();
    auto& relaxed = Pool({.synchronous_commit = false});
    // (The test server itself runs with synchronous_commit off: look at where it comes from.)
    const std::string sql =
        "SELECT setting || ' from ' || source FROM pg_settings WHERE name = 'synchronous_commit'";
    auto a = RunTask(io_, strict.QuerySql(kParent, sql));
    auto b = RunTask(io_, relaxed.QuerySql(kParent, sql));
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(b->front().String(0), "off from client");
    EXPECT_EQ(a->front().String(0).find("from client"), std::string::npos) << a->front().String(0);
}

TEST_F(PgTest, PgPoolPlansAStatementOnceWhateverItsParameters) {
    // One connection, so that the statement prepared is the one explained.
    auto& pool = Pool({.size = 1});
    auto prepared = RunTask(
        io_,
        pool.QuerySql(
            kParent, "PREPARE by_ids(oid[]) AS SELECT relname FROM pg_class WHERE oid = ANY ($1)"));
    ASSERT_TRUE(prepared.ok()) << prepared.error().message;
    std::string plan;
    // PostgreSQL plans the first five executions for their values (a custom plan shows the
    // array itself) unless the connection asks for the generic plan, which shows $1.
    for (int i = 0; i < 6; ++i) {
        auto explained =
            RunTask(io_, pool.QuerySql(kParent, "EXPLAIN EXECUTE by_ids('{1259,1247}')"));
        ASSERT_TRUE(explained.ok()) << explained.error().message;
        plan.clear();
        for (auto row : *explained) { plan += row.String(0) + "\n"; }
        EXPECT_NE(plan.find("$1"), std::string::npos) << "execution " << i << ":\n" << plan;
        EXPECT_EQ(plan.find("1259"), std::string::npos) << plan;
    }
}

constexpr PgStatement kBatchInsert{
    "test_batch_insert", "INSERT INTO ledger (ref, amount) VALUES ($1, $2) RETURNING id"};
constexpr PgStatement kBatchAdd{
    "test_batch_add", "UPDATE totals SET total = total + $1 WHERE name = 'all'"};
constexpr PgStatement kBatchTotal{"test_batch_total", "SELECT total FROM totals"};

TEST_F(PgTest, PgBatchCommitsAllInOneRoundTripOrNothing) {
    Sql("CREATE TABLE ledger (id serial PRIMARY KEY, ref text UNIQUE NOT NULL, amount bigint NOT NULL)");
    Sql("CREATE TABLE totals (name text PRIMARY KEY, total bigint NOT NULL CHECK (total >= 0))");
    Sql("INSERT INTO totals VALUES ('all', 0)");
    auto& pool = Pool({.size = 1});
    auto observer = std::make_shared<RecordingObserver>();
    pool.SetObserver(observer);

    // Twice, so the second batch runs on statements prepared by the first.
    for (int round = 0; round < 2; ++round) {
        PgBatch batch;
        const std::string a = "a" + std::to_string(round);
        const std::string b = "b" + std::to_string(round);
        batch.Add(kBatchInsert, a, 30).Add(kBatchAdd, 30).Add(kBatchInsert, b, 12).Add(kBatchAdd, 12);
        batch.Add(kBatchTotal);
        auto rows = RunTask(io_, pool.Batch(kParent, std::move(batch)));
        ASSERT_TRUE(rows.ok()) << rows.error().message;
        ASSERT_EQ(rows->size(), 5u);
        EXPECT_GT((*rows)[0].front().Int64(0), 0);
        EXPECT_EQ((*rows)[1].affected(), 1);
        EXPECT_EQ((*rows)[4].front().Int64(0), 42 * (round + 1));  // sees the batch's own writes
    }
    EXPECT_EQ(Value("SELECT total FROM totals"), "84");
    EXPECT_EQ(Value("SELECT count(*) FROM ledger"), "4");
    EXPECT_EQ(observer->calls.size(), 10u);
    EXPECT_EQ(observer->calls[1]->operation, "UPDATE");
    EXPECT_EQ(observer->calls[1]->collection, "totals");

    // A statement may name its own parent span (one business span per statement); the
    // others are under the batch's parent.
    observer->calls.clear();
    common::TraceContext own;
    own.trace_id[0] = 1;
    own.span_id[7] = 0x2a;
    PgBatch parented;
    parented.Add(kBatchTotal).AddUnder(own, kBatchTotal, {});
    ASSERT_TRUE(RunTask(io_, pool.Batch(kParent, std::move(parented))).ok());
    ASSERT_EQ(observer->calls.size(), 2u);
    EXPECT_EQ(observer->calls[0]->parent_span, kParent.SpanIdHex());
    EXPECT_EQ(observer->calls[1]->parent_span, "000000000000002a");
    observer->calls.clear();

    // A failing statement in the middle: the one before it is rolled back, the ones after are
    // not run, and the error is the failing statement's (a unique violation here).
    observer->calls.clear();
    PgBatch dup;
    dup.Add(kBatchInsert, "c", 5).Add(kBatchAdd, 5).Add(kBatchInsert, "a0", 1).Add(kBatchAdd, 1);
    auto failed = RunTask(io_, pool.Batch(kParent, std::move(dup)));
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().code, ErrorCode::kConflict);
    EXPECT_EQ(UniqueViolationConstraint(failed.error()), "ledger_ref_key");
    EXPECT_EQ(Value("SELECT total FROM totals"), "84");
    EXPECT_EQ(Value("SELECT count(*) FROM ledger WHERE ref = 'c'"), "0");
    ASSERT_EQ(observer->calls.size(), 4u);
    EXPECT_TRUE(observer->calls[0]->ok);
    EXPECT_TRUE(observer->calls[1]->ok);
    EXPECT_EQ(observer->calls[2]->error_type, "23505");
    EXPECT_EQ(observer->calls[3]->error_type, "pipeline_aborted");

    // A check constraint as the guard of a batch; and a statement new to the connection
    // after the failure point is prepared next time all the same.
    constexpr PgStatement kBatchTake{
        "test_batch_take", "UPDATE totals SET total = total - $1 WHERE name = 'all'"};
    PgBatch over;
    over.Add(kBatchInsert, "d", -100).Add(kBatchTake, 100).Add(kBatchTotal);
    auto refused = RunTask(io_, pool.Batch(kParent, std::move(over)));
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().code, ErrorCode::kInternal);
    EXPECT_EQ(Value("SELECT count(*) FROM ledger WHERE ref = 'd'"), "0");
    PgBatch fine;
    fine.Add(kBatchInsert, "d", -80).Add(kBatchTake, 80).Add(kBatchTotal);
    auto taken = RunTask(io_, pool.Batch(kParent, std::move(fine)));
    ASSERT_TRUE(taken.ok()) << taken.error().message;
    EXPECT_EQ((*taken)[2].front().Int64(0), 4);
    // The connection is back out of pipeline mode and reusable for plain queries.
    auto plain = RunTask(io_, pool.Query(kParent, kBatchTotal));
    ASSERT_TRUE(plain.ok()) << plain.error().message;
    EXPECT_EQ(plain->front().Int64(0), 4);
    EXPECT_EQ(pool.Stats().open, 1u);
}

}  // namespace
}  // namespace flowex::storage

namespace flowex::storage {
namespace {

// Its own private PostgreSQL (scripts/test-services), so restarting it cannot disturb the
// tests sharing the fixture's server.
TEST(PgRestart, PgPoolReconnectsAfterServerRestart) {
    (void)testing::RequireTestEnv();
    const std::string script = std::string(FLOWEX_SOURCE_DIR) + "/scripts/test-services";
    const std::string state = ::testing::TempDir() + "/flowex_pg_restart_" + std::to_string(::getpid());
    ASSERT_EQ(std::system((script + " start " + state + " >/dev/null").c_str()), 0);
    struct StopGuard {
        std::string cmd;
        std::string state;
        ~StopGuard() {
            (void)std::system(cmd.c_str());
            std::error_code ec;
            std::filesystem::remove(state, ec);  // the directory `start` made, empty after `stop`
        }
    } guard{script + " stop " + state + " >/dev/null", state};
    std::string url;
    {
        std::ifstream in(state + "/env");
        std::string line;
        while (std::getline(in, line)) {
            if (line.rfind("FLOWEX_TEST_DATABASE_URL=", 0) == 0) {
                url = line.substr(line.find('=') + 1);
            }
        }
    }
    ASSERT_FALSE(url.empty());

    asio::io_context io;
    PgPool pool(io.get_executor(), {.url = url, .size = 2});
    auto before = RunTask(io, pool.QuerySql(kParent, "SELECT pg_backend_pid()"));
    ASSERT_TRUE(before.ok()) << before.error().message;
    EXPECT_EQ(pool.Stats().idle, 1u);

    ASSERT_EQ(std::system((script + " restart-pg " + state + " >/dev/null").c_str()), 0);

    // The idle connection was closed by the shutdown: it is replaced, not handed out.
    auto after = RunTask(io, pool.QuerySql(kParent, "SELECT pg_backend_pid()"));
    ASSERT_TRUE(after.ok()) << after.error().message;
    EXPECT_NE(after->front().Int64(0), before->front().Int64(0));
    EXPECT_EQ(pool.Stats().open, 1u);
}

}  // namespace
}  // namespace flowex::storage
