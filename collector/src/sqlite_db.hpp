#pragma once
// A thin RAII wrapper over one SQLite connection with a prepared-statement cache.
// Not thread-safe: one thread uses a Db at a time.
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "flowex/common/result.hpp"

namespace flowex::collector {

class Stmt;

class Db {
public:
    enum class Mode { kReadWrite, kReader };
    static common::Result<std::unique_ptr<Db>> Open(const std::string& path, Mode mode);
    ~Db();
    Db(const Db&) = delete;
    Db& operator=(const Db&) = delete;

    common::Status Exec(const char* sql);
    /// A cached statement, reset and with its bindings cleared. Aborts never; a bad SQL is a
    /// programming error reported as kInternal.
    common::Result<Stmt> Prepare(std::string_view sql);
    /// Prepare for a string literal (cached by address: no hashing or copying of the text).
    common::Result<Stmt> PrepareStatic(const char* literal);
    sqlite3* raw() const noexcept { return db_; }
    std::string ErrorText() const { return sqlite3_errmsg(db_); }

private:
    explicit Db(sqlite3* db) : db_(db) {}
    sqlite3* db_;
    std::unordered_map<std::string, sqlite3_stmt*> cache_;
    std::unordered_map<const void*, sqlite3_stmt*> static_cache_;
};

/// A borrowed cached statement; resets on destruction.
class Stmt {
public:
    explicit Stmt(sqlite3_stmt* s) : s_(s) {}
    Stmt(Stmt&& o) noexcept : s_(o.s_) { o.s_ = nullptr; }
    Stmt& operator=(Stmt&&) = delete;
    ~Stmt() {
        if (s_ != nullptr) {
            sqlite3_reset(s_);
            sqlite3_clear_bindings(s_);
        }
    }
    Stmt& Bind(int i, std::int64_t v) {
        sqlite3_bind_int64(s_, i, v);
        return *this;
    }
    Stmt& BindText(int i, std::string_view v) {
        sqlite3_bind_text(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    Stmt& BindNull(int i) {
        sqlite3_bind_null(s_, i);
        return *this;
    }
    Stmt& BindBlob(int i, std::string_view v) {
        sqlite3_bind_blob(s_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
        return *this;
    }
    /// SQLITE_ROW → true, SQLITE_DONE → false, error → false with *rc set.
    bool Step(int* rc = nullptr) {
        int r = sqlite3_step(s_);
        if (rc != nullptr) {
            *rc = r;
        }
        return r == SQLITE_ROW;
    }
    int Run() {
        int r = sqlite3_step(s_);
        sqlite3_reset(s_);
        return r;
    }
    std::int64_t Int(int col) const { return sqlite3_column_int64(s_, col); }
    std::string_view Text(int col) const {
        const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s_, col));
        return p == nullptr ? std::string_view() : std::string_view(p, sqlite3_column_bytes(s_, col));
    }
    std::string_view Blob(int col) const {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, col));
        return p == nullptr ? std::string_view() : std::string_view(p, sqlite3_column_bytes(s_, col));
    }
    bool IsNull(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
    /// The statement, for a manual sqlite3_reset between rebinds.
    sqlite3_stmt* raw() const noexcept { return s_; }

private:
    sqlite3_stmt* s_;
};

}  // namespace flowex::collector
