#pragma once
/// The migration runner: applies `NNNN_name.sql` files from a directory (the services pass
/// db/migrations) each once, in version order, each in its own transaction, recording them in
/// `schema_migrations (version, name, checksum, applied_at)`.
///
/// Safe when several processes start at once: the whole run holds a PostgreSQL advisory lock,
/// so one applies and the others then find everything applied. A file whose content changed
/// after it was applied is an error naming it (fix forward with a new migration instead).
/// A file must not contain BEGIN/COMMIT itself, nor statements that cannot run inside a
/// transaction (CREATE INDEX CONCURRENTLY).
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "flowex/common/result.hpp"
#include "flowex/common/trace_context.hpp"
#include "flowex/storage/pg.hpp"

namespace flowex::storage {

struct MigrationFile {
    int version = 0;
    std::string name;      ///< "0001_init" (file name without .sql)
    std::string sql;
    std::string checksum;  ///< SHA-256 of the content, hex
};

/// Reads and orders the migrations of `dir`. Files not ending in .sql are ignored; a .sql
/// file not named NNNN_name.sql, or two files with one version, is a kInternal error naming
/// the file. Blocking file I/O: call at start-up.
common::Result<std::vector<MigrationFile>> LoadMigrations(const std::filesystem::path& dir);

struct MigrationOptions {
    /// How long to wait for another process's run (advisory lock) before giving up.
    std::chrono::milliseconds lock_timeout{60000};
    /// Deadline of each migration file.
    std::chrono::milliseconds statement_timeout{120000};
};

struct MigrationReport {
    std::vector<std::string> applied;          ///< names applied by this run
    std::vector<std::string> already_applied;  ///< names found recorded
};

/// Loads `dir` and applies what is missing. Errors: kInternal with a message for the operator
/// (which file, what PostgreSQL said), kUpstreamUnavailable / kUpstreamTimeout from the pool.
Task<common::Result<MigrationReport>> RunMigrations(PgPool& pool, const common::TraceContext& parent,
                                                    const std::filesystem::path& dir,
                                                    MigrationOptions options = {});
/// The same with migrations already loaded.
Task<common::Result<MigrationReport>> ApplyMigrations(PgPool& pool, const common::TraceContext& parent,
                                                      std::vector<MigrationFile> migrations,
                                                      MigrationOptions options = {});

}  // namespace flowex::storage
