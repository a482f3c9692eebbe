#pragma once
/// The real-database test environment: the private PostgreSQL and Redis that
/// `scripts/test-services` starts for the CTest fixture `dbs` (tests/CMakeLists.txt).
///
/// Integration tests (flowex_add_test(... INTEGRATION)) find the env file through
/// FLOWEX_TEST_ENV_FILE, which every test gets from CTest. A test that needs the databases
/// must *fail* when they are missing, never skip: use RequireTestEnv().
///
///     const auto& env = flowex::testing::RequireTestEnv();
///     auto db = flowex::testing::TestDatabase::CreateOrThrow("storage_pg");
///     PgPool pool(io.get_executor(), {.url = db.url()});
#include <map>
#include <string>
#include <string_view>

#include "flowex/common/result.hpp"

namespace flowex::testing {

struct TestEnvironment {
    std::string database_url;  ///< postgresql://postgres@127.0.0.1:PORT/stockexchange
    std::string redis_url;     ///< redis://127.0.0.1:PORT
    std::string pg_host = "127.0.0.1";
    int pg_port = 0;
    std::string redis_host = "127.0.0.1";
    int redis_port = 0;
    /// Every KEY=VALUE of the env file (pids, data directories, ...).
    std::map<std::string, std::string> values;
};

/// Reads the env file named by FLOWEX_TEST_ENV_FILE. kInternal with a message that says what
/// is missing and how to start the services by hand. Thread-safe; re-reads the file each call.
common::Result<TestEnvironment> TestEnv();

/// TestEnv() or, when the environment is missing, throws std::runtime_error with the message
/// (GoogleTest reports it as a failure of the running test; for test code only).
TestEnvironment RequireTestEnv();

/// `url` with its database name (the URL path) replaced by `database`.
std::string WithDatabase(std::string_view url, std::string_view database);

/// A fresh, uniquely named database on the test PostgreSQL (e.g. "t_storage_pg_4711_1"), so
/// suites and parallel test processes never see each other's tables. Dropped (WITH FORCE) on
/// destruction. Move-only. Blocking libpq calls: for test set-up only.
class TestDatabase {
public:
    /// `prefix` is folded to [a-z0-9_]; the name adds the pid, a counter and a random suffix.
    static common::Result<TestDatabase> Create(std::string_view prefix);
    /// Create() or throws std::runtime_error (for gtest fixtures).
    static TestDatabase CreateOrThrow(std::string_view prefix);

    TestDatabase(TestDatabase&& other) noexcept;
    TestDatabase& operator=(TestDatabase&& other) noexcept;
    TestDatabase(const TestDatabase&) = delete;
    TestDatabase& operator=(const TestDatabase&) = delete;
    ~TestDatabase();

    const std::string& name() const { return name_; }
    /// postgresql://postgres@127.0.0.1:PORT/<name>
    const std::string& url() const { return url_; }
    /// Runs SQL on this database with a blocking connection (set-up/inspection in tests).
    common::Status Exec(std::string_view sql) const;
    /// First column of the first row of `sql` as text ("" for NULL / no rows).
    common::Result<std::string> QueryValue(std::string_view sql) const;

private:
    TestDatabase(std::string admin_url, std::string name, std::string url);
    void Drop() noexcept;

    std::string admin_url_;
    std::string name_;
    std::string url_;
};

/// Runs SQL on any database URL with a blocking libpq connection (tests only).
common::Status ExecSql(const std::string& url, std::string_view sql);
common::Result<std::string> QueryValue(const std::string& url, std::string_view sql);

}  // namespace flowex::testing
