#include "flowex/testing/test_env.hpp"

#include <libpq-fe.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

namespace flowex::testing {
namespace {

using common::ErrorCode;

constexpr std::string_view kHowToStart =
    "start them with `scripts/test-services start <build>/test-state` or run the tests through "
    "ctest (the `dbs` fixture does it)";

struct PgConnDeleter {
    void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultDeleter {
    void operator()(PGresult* r) const { PQclear(r); }
};
using ConnPtr = std::unique_ptr<PGconn, PgConnDeleter>;
using ResultPtr = std::unique_ptr<PGresult, PgResultDeleter>;

common::Result<ConnPtr> Connect(const std::string& url) {
    ConnPtr conn(PQconnectdb(url.c_str()));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
        return common::Error::Make(
            ErrorCode::kUpstreamUnavailable,
            "cannot connect to " + url + ": " + (conn ? PQerrorMessage(conn.get()) : "out of memory"));
    }
    return conn;
}

common::Result<ResultPtr> Run(const std::string& url, std::string_view sql) {
    auto conn = Connect(url);
    if (!conn) {
        return conn.error();
    }
    ResultPtr res(PQexec(conn->get(), std::string(sql).c_str()));
    auto st = PQresultStatus(res.get());
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        return common::Error::Make(ErrorCode::kInternal,
                                   std::string(sql.substr(0, 200)) + ": " +
                                       PQresultErrorMessage(res.get()));
    }
    return res;
}

std::string QuoteIdent(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') {
            out += '"';
        }
        out += c;
    }
    out += '"';
    return out;
}

int PortOf(std::string_view url) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed || !parsed->has_port()) {
        return 0;
    }
    return static_cast<int>(parsed->port_number());
}

}  // namespace

common::Result<TestEnvironment> TestEnv() {
    const char* file = std::getenv("FLOWEX_TEST_ENV_FILE");
    if (file == nullptr || *file == '\0') {
        return common::Error::Make(
            ErrorCode::kInternal,
            "FLOWEX_TEST_ENV_FILE is not set: this test needs the private PostgreSQL and Redis; " +
                std::string(kHowToStart));
    }
    std::ifstream in(file);
    if (!in) {
        return common::Error::Make(ErrorCode::kInternal,
                                   std::string("test environment file ") + file +
                                       " is missing (the databases are not running); " +
                                       std::string(kHowToStart));
    }
    TestEnvironment env;
    std::string line;
    while (std::getline(in, line)) {
        auto eq = line.find('=');
        if (line.empty() || line[0] == '#' || eq == std::string::npos) {
            continue;
        }
        env.values[line.substr(0, eq)] = line.substr(eq + 1);
    }
    env.database_url = env.values["FLOWEX_TEST_DATABASE_URL"];
    env.redis_url = env.values["FLOWEX_TEST_REDIS_URL"];
    if (env.database_url.empty() || env.redis_url.empty()) {
        return common::Error::Make(ErrorCode::kInternal,
                                   std::string("test environment file ") + file +
                                       " lacks FLOWEX_TEST_DATABASE_URL or FLOWEX_TEST_REDIS_URL");
    }
    env.pg_port = PortOf(env.database_url);
    env.redis_port = PortOf(env.redis_url);
    return env;
}

TestEnvironment RequireTestEnv() {
    auto env = TestEnv();
    if (!env) {
        throw std::runtime_error(env.error().message);
    }
    return std::move(env).value();
}

std::string WithDatabase(std::string_view url, std::string_view database) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed) {
        return std::string(url);
    }
    boost::urls::url u(*parsed);
    u.set_path("/" + std::string(database));
    return std::string(u.buffer());
}

common::Status ExecSql(const std::string& url, std::string_view sql) {
    auto r = Run(url, sql);
    if (!r) {
        return r.error();
    }
    return common::Ok();
}

common::Result<std::string> QueryValue(const std::string& url, std::string_view sql) {
    auto r = Run(url, sql);
    if (!r) {
        return r.error();
    }
    PGresult* res = r->get();
    if (PQntuples(res) < 1 || PQnfields(res) < 1 || PQgetisnull(res, 0, 0) != 0) {
        return std::string();
    }
    return std::string(PQgetvalue(res, 0, 0));
}

TestDatabase::TestDatabase(std::string admin_url, std::string name, std::string url)
    : admin_url_(std::move(admin_url)), name_(std::move(name)), url_(std::move(url)) {}

common::Result<TestDatabase> TestDatabase::Create(std::string_view prefix) {
    auto env = TestEnv();
    if (!env) {
        return env.error();
    }
    static std::atomic<int> counter{0};
    std::string name = "t_";
    for (char c : prefix) {
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') {
            name += c;
        } else if (c >= 'A' && c <= 'Z') {
            name += static_cast<char>(c - 'A' + 'a');
        } else {
            name += '_';
        }
        if (name.size() > 30) {
            break;
        }
    }
    std::random_device rd;
    name += "_" + std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_" +
            std::to_string(rd() % 100000);
    auto status = ExecSql(env->database_url, "CREATE DATABASE " + QuoteIdent(name));
    if (!status) {
        return status.error();
    }
    std::string url = WithDatabase(env->database_url, name);
    return TestDatabase(env->database_url, name, url);
}

TestDatabase TestDatabase::CreateOrThrow(std::string_view prefix) {
    auto db = Create(prefix);
    if (!db) {
        throw std::runtime_error(db.error().message);
    }
    return std::move(db).value();
}

TestDatabase::TestDatabase(TestDatabase&& other) noexcept
    : admin_url_(std::move(other.admin_url_)),
      name_(std::move(other.name_)),
      url_(std::move(other.url_)) {
    other.name_.clear();
}

TestDatabase& TestDatabase::operator=(TestDatabase&& other) noexcept {
    if (this != &other) {
        Drop();
        admin_url_ = std::move(other.admin_url_);
        name_ = std::move(other.name_);
        url_ = std::move(other.url_);
        other.name_.clear();
    }
    return *this;
}

TestDatabase::~TestDatabase() { Drop(); }

void TestDatabase::Drop() noexcept {
    if (name_.empty()) {
        return;
    }
    // Best effort: the fixture removes the whole server anyway.
    (void)ExecSql(admin_url_, "DROP DATABASE IF EXISTS " + QuoteIdent(name_) + " WITH (FORCE)");
    name_.clear();
}

common::Status TestDatabase::Exec(std::string_view sql) const { return ExecSql(url_, sql); }

common::Result<std::string> TestDatabase::QueryValue(std::string_view sql) const {
    return testing::QueryValue(url_, sql);
}

}  // namespace flowex::testing
