#include "sqlite_db.hpp"

namespace flowex::collector {

using common::Error;
using common::ErrorCode;

common::Result<std::unique_ptr<Db>> Db::Open(const std::string& path, Mode mode) {
    sqlite3* raw = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (mode == Mode::kReadWrite) {
        flags |= SQLITE_OPEN_CREATE;
    }
    int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
    if (rc != SQLITE_OK) {
        std::string msg = raw != nullptr ? sqlite3_errmsg(raw) : "out of memory";
        sqlite3_close(raw);
        return Error{ErrorCode::kInternal, "sqlite open " + path + ": " + msg};
    }
    sqlite3_busy_timeout(raw, 5000);
    return std::unique_ptr<Db>(new Db(raw));
}

Db::~Db() {
    for (auto& [sql, stmt] : cache_) {
        sqlite3_finalize(stmt);
    }
    sqlite3_close_v2(db_);
}

common::Status Db::Exec(const char* sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err != nullptr ? err : "unknown";
        sqlite3_free(err);
        return Error{ErrorCode::kInternal, "sqlite: " + msg};
    }
    return {};
}

common::Result<Stmt> Db::PrepareStatic(const char* literal) {
    auto it = static_cache_.find(literal);
    if (it != static_cache_.end()) {
        return Stmt(it->second);
    }
    auto s = Prepare(literal);
    if (s) {
        static_cache_.emplace(literal, cache_.at(literal));
    }
    return s;
}

common::Result<Stmt> Db::Prepare(std::string_view sql) {
    auto it = cache_.find(std::string(sql));
    if (it != cache_.end()) {
        return Stmt(it->second);
    }
    sqlite3_stmt* s = nullptr;
    if (sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()),
                           SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK) {
        return Error{ErrorCode::kInternal, "sqlite prepare: " + ErrorText()};
    }
    cache_.emplace(std::string(sql), s);
    return Stmt(s);
}

}  // namespace flowex::collector
