// The migration runner against the real PostgreSQL: once, in order, recorded; concurrent
// starters; changed files; failing files. Each test has its own database and temp directory.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>

#include "flowex/storage/migrations.hpp"
#include "flowex/testing/test_env.hpp"
#include "run_util.hpp"

namespace flowex::storage {
namespace {

namespace fs = std::filesystem;
using common::ErrorCode;
using test::Pause;
using test::RunTask;
namespace asio = boost::asio;
using namespace std::chrono_literals;

const common::TraceContext kParent{};

class MigrationsTest : public ::testing::Test {
protected:
    void SetUp() override {
        db_ = std::make_unique<testing::TestDatabase>(testing::TestDatabase::CreateOrThrow("storage_migrations"));
        dir_ = fs::path(::testing::TempDir()) / ("flowex_migrations_" + std::to_string(::getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        Write("0001_create_accounts.sql",
              "CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL);\n"
              "INSERT INTO accounts (name) VALUES ('seed');\n");
        Write("0002_add_balance.sql",
              "ALTER TABLE accounts ADD COLUMN balance bigint NOT NULL DEFAULT 0;\n"
              "CREATE TABLE audit (id serial PRIMARY KEY, what text);\n"
              "INSERT INTO audit (what) VALUES ('0002');\n");
    }
    void TearDown() override {
        fs::remove_all(dir_);
        db_.reset();
    }
    void Write(const std::string& name, const std::string& sql) { std::ofstream(dir_ / name) << sql; }
    std::string Value(const std::string& sql) {
        auto v = db_->QueryValue(sql);
        EXPECT_TRUE(v.ok()) << v.error().message;
        return v.ok() ? *v : std::string("<error>");
    }

    asio::io_context io_;
    std::unique_ptr<testing::TestDatabase> db_;
    fs::path dir_;
};

TEST_F(MigrationsTest, MigrationsAppliedOnceInOrderAndRecorded) {
    PgPool pool(io_.get_executor(), {.url = db_->url()});
    auto first = RunTask(io_, RunMigrations(pool, kParent, dir_));
    ASSERT_TRUE(first.ok()) << first.error().message;
    EXPECT_EQ(first->applied, (std::vector<std::string>{"0001_create_accounts", "0002_add_balance"}));
    EXPECT_TRUE(first->already_applied.empty());

    auto second = RunTask(io_, RunMigrations(pool, kParent, dir_));
    ASSERT_TRUE(second.ok()) << second.error().message;
    EXPECT_TRUE(second->applied.empty());
    EXPECT_EQ(second->already_applied.size(), 2u);

    EXPECT_EQ(Value("SELECT string_agg(version || ':' || name, ',' ORDER BY version) FROM schema_migrations"),
              "1:0001_create_accounts,2:0002_add_balance");
    EXPECT_EQ(Value("SELECT count(*) FROM schema_migrations WHERE length(checksum) = 64 "
                    "AND applied_at IS NOT NULL"),
              "2");
    EXPECT_EQ(Value("SELECT count(*) FROM accounts"), "1");

    // A new file is applied on the next start, alone.
    Write("0003_more.sql", "CREATE INDEX accounts_name_idx ON accounts (name);");
    auto third = RunTask(io_, RunMigrations(pool, kParent, dir_));
    ASSERT_TRUE(third.ok()) << third.error().message;
    EXPECT_EQ(third->applied, std::vector<std::string>{"0003_more"});
}

TEST_F(MigrationsTest, MigrationsAppliedOnceUnderConcurrentStart) {
    // Two "services" starting at the same moment on a fresh database, each with its own pool.
    PgPool a(io_.get_executor(), {.url = db_->url()});
    PgPool b(io_.get_executor(), {.url = db_->url()});
    auto both = [&]() -> Task<std::vector<common::Result<MigrationReport>>> {
        std::vector<std::optional<common::Result<MigrationReport>>> out(2);
        auto ex = co_await asio::this_coro::executor;
        PgPool* pools[] = {&a, &b};
        for (std::size_t i = 0; i < 2; ++i) {
            test::Spawn(ex, RunMigrations(*pools[i], kParent, dir_), &out[i]);
        }
        for (int i = 0; i < 6000 && (!out[0] || !out[1]); ++i) {
            co_await Pause(5ms);
        }
        std::vector<common::Result<MigrationReport>> results;
        for (auto& r : out) {
            if (r) {
                results.push_back(std::move(*r));
            } else {
                results.emplace_back(common::Error::Make(ErrorCode::kInternal, "did not finish"));
            }
        }
        co_return results;
    };
    auto results = RunTask(io_, both());
    ASSERT_TRUE(results[0].ok()) << results[0].error().message;
    ASSERT_TRUE(results[1].ok()) << results[1].error().message;
    // Between them each migration was applied exactly once.
    EXPECT_EQ(results[0]->applied.size() + results[1]->applied.size(), 2u);
    EXPECT_EQ(results[0]->already_applied.size() + results[1]->already_applied.size(), 2u);
    EXPECT_EQ(Value("SELECT count(*) FROM schema_migrations"), "2");
    EXPECT_EQ(Value("SELECT count(*) FROM accounts"), "1");
    EXPECT_EQ(Value("SELECT count(*) FROM audit"), "1");
}

TEST_F(MigrationsTest, MigrationChangedAfterApplyIsAClearError) {
    PgPool pool(io_.get_executor(), {.url = db_->url()});
    ASSERT_TRUE(RunTask(io_, RunMigrations(pool, kParent, dir_)).ok());
    Write("0001_create_accounts.sql", "CREATE TABLE accounts (id bigserial PRIMARY KEY);\n");
    auto r = RunTask(io_, RunMigrations(pool, kParent, dir_));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("0001_create_accounts"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("changed"), std::string::npos) << r.error().message;
    // The lock was released: a later run (after restoring the file) works.
    Write("0001_create_accounts.sql",
          "CREATE TABLE accounts (id bigserial PRIMARY KEY, name text NOT NULL);\n"
          "INSERT INTO accounts (name) VALUES ('seed');\n");
    EXPECT_TRUE(RunTask(io_, RunMigrations(pool, kParent, dir_)).ok());
}

TEST_F(MigrationsTest, MigrationThatFailsIsRolledBackAndNotRecorded) {
    Write("0003_broken.sql", "CREATE TABLE half (id int);\nSELECT * FROM no_such_table;\n");
    PgPool pool(io_.get_executor(), {.url = db_->url()});
    auto r = RunTask(io_, RunMigrations(pool, kParent, dir_));
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("0003_broken"), std::string::npos) << r.error().message;
    EXPECT_NE(r.error().message.find("no_such_table"), std::string::npos) << r.error().message;
    EXPECT_EQ(Value("SELECT count(*) FROM schema_migrations"), "2");
    EXPECT_EQ(Value("SELECT count(*) FROM pg_tables WHERE tablename = 'half'"), "0");
    // The pool is still usable and the advisory lock is free.
    EXPECT_EQ(Value("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"), "0");
}

}  // namespace
}  // namespace flowex::storage
