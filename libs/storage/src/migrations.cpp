#include "flowex/storage/migrations.hpp"

#include <sodium.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include <spdlog/spdlog.h>

namespace flowex::storage {
namespace {

using common::ErrorCode;

// pg_advisory_lock key shared by every flowex process: "flowexmg" as an int64.
constexpr std::int64_t kMigrationLockKey = 0x666c6f7765786d67;

constexpr std::string_view kCreateTable =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version integer PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

std::string Sha256Hex(std::string_view data) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(sizeof digest * 2);
    for (unsigned char b : digest) {
        out += kHex[b >> 4];
        out += kHex[b & 15];
    }
    return out;
}

common::Error Fail(std::string message) {
    spdlog::error("migrations: {}", message);
    return common::Error::Make(ErrorCode::kInternal, std::move(message));
}

}  // namespace

common::Result<std::vector<MigrationFile>> LoadMigrations(const std::filesystem::path& dir) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        return Fail("migration directory " + dir.string() + " does not exist");
    }
    std::vector<MigrationFile> out;
    std::map<int, std::string> seen;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const auto& path = entry.path();
        if (!entry.is_regular_file() || path.extension() != ".sql") {
            continue;
        }
        const std::string stem = path.stem().string();
        bool ok = stem.size() > 5 && stem[4] == '_';
        for (int i = 0; ok && i < 4; ++i) {
            ok = stem[static_cast<std::size_t>(i)] >= '0' && stem[static_cast<std::size_t>(i)] <= '9';
        }
        for (std::size_t i = 5; ok && i < stem.size(); ++i) {
            char c = stem[i];
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                 c == '-';
        }
        if (!ok) {
            return Fail("migration file " + path.filename().string() +
                        " is not named NNNN_name.sql (four digits, underscore, name)");
        }
        MigrationFile m;
        m.version = std::stoi(stem.substr(0, 4));
        m.name = stem;
        if (auto [it, inserted] = seen.emplace(m.version, stem); !inserted) {
            return Fail("migrations " + it->second + " and " + stem + " have the same version");
        }
        std::ifstream in(path, std::ios::binary);
        std::stringstream buf;
        buf << in.rdbuf();
        if (!in.good() && !in.eof()) {
            return Fail("cannot read migration file " + path.string());
        }
        m.sql = buf.str();
        m.checksum = Sha256Hex(m.sql);
        out.push_back(std::move(m));
    }
    if (ec) {
        return Fail("cannot list migration directory " + dir.string() + ": " + ec.message());
    }
    std::sort(out.begin(), out.end(),
              [](const MigrationFile& a, const MigrationFile& b) { return a.version < b.version; });
    return out;
}

Task<common::Result<MigrationReport>> RunMigrations(PgPool& pool, const common::TraceContext& parent,
                                                    const std::filesystem::path& dir,
                                                    MigrationOptions options) {
    auto files = LoadMigrations(dir);
    if (!files) {
        co_return files.error();
    }
    co_return co_await ApplyMigrations(pool, parent, std::move(files).value(), options);
}

Task<common::Result<MigrationReport>> ApplyMigrations(PgPool& pool, const common::TraceContext& parent,
                                                      std::vector<MigrationFile> migrations,
                                                      MigrationOptions options) {
    auto lease = co_await pool.Acquire();
    if (!lease) {
        co_return lease.error();
    }
    PgConn& conn = *lease;
    // Session-level lock for the whole run: concurrent starters queue here. Released below,
    // or by the server when this connection closes.
    PgParams key{kMigrationLockKey};
    auto locked = co_await conn.QuerySqlWith(parent, "SELECT pg_advisory_lock($1)", key, options.lock_timeout);
    if (!locked) {
        co_return locked.error();
    }
    MigrationReport report;
    auto run = [&]() -> Task<common::Status> {
        auto created = co_await conn.ExecScript(parent, kCreateTable);
        if (!created) {
            co_return Fail("cannot create schema_migrations: " + conn.LastErrorDetail());
        }
        auto rows = co_await conn.QuerySql(parent, "SELECT version, name, checksum FROM schema_migrations");
        if (!rows) {
            co_return Fail("cannot read schema_migrations: " + conn.LastErrorDetail());
        }
        std::map<std::int64_t, std::pair<std::string, std::string>> applied;
        for (auto row : *rows) {
            applied[row.Int64(0)] = {row.String(1), row.String(2)};
        }
        for (const auto& m : migrations) {
            if (auto it = applied.find(m.version); it != applied.end()) {
                if (it->second.second != m.checksum) {
                    co_return Fail("migration " + m.name + ".sql was changed after it was applied (recorded as " +
                                   it->second.first + ", checksum " + it->second.second.substr(0, 12) +
                                   ", now " + m.checksum.substr(0, 12) +
                                   "); restore it and add a new migration instead");
                }
                report.already_applied.push_back(m.name);
                continue;
            }
            auto begun = co_await conn.ExecScript(parent, "BEGIN");
            if (!begun) {
                co_return begun.error();
            }
            auto done = co_await conn.ExecScript(parent, m.sql, options.statement_timeout);
            if (!done) {
                std::string detail = conn.LastErrorDetail();
                (void)co_await conn.ExecScript(parent, "ROLLBACK");
                co_return Fail("migration " + m.name + ".sql failed: " + detail);
            }
            PgParams record{m.version, m.name, m.checksum};
            auto recorded = co_await conn.QuerySqlWith(
                parent, "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                std::move(record));
            if (!recorded) {
                std::string detail = conn.LastErrorDetail();
                (void)co_await conn.ExecScript(parent, "ROLLBACK");
                co_return Fail("cannot record migration " + m.name + ": " + detail);
            }
            auto committed = co_await conn.ExecScript(parent, "COMMIT");
            if (!committed) {
                co_return Fail("migration " + m.name + ".sql failed at COMMIT: " + conn.LastErrorDetail());
            }
            spdlog::info("migrations: applied {}", m.name);
            report.applied.push_back(m.name);
        }
        co_return common::Ok();
    };
    auto status = co_await run();
    // Unlock even after a failure (a failed unlock means the connection is gone, which also
    // releases the lock).
    (void)co_await conn.QuerySqlWith(parent, "SELECT pg_advisory_unlock($1)", key);
    if (!status) {
        co_return std::move(status).error();
    }
    co_return report;
}

}  // namespace flowex::storage
