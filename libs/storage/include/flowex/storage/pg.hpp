#pragma once
/// PostgreSQL for flowex: a connection pool over libpq's asynchronous API driven by Asio,
/// prepared statements with parameters only, typed results, and transactions that retry on
/// serialization failures and deadlocks. Errors are `common::Error` values (no exceptions):
///
///   23505 unique violation            → kConflict (UniqueViolationConstraint() names the constraint)
///   40001 / 40P01 after the last retry → kConflict
///   connection refused / lost, 57P0x  → kUpstreamUnavailable (the connection is replaced)
///   statement deadline, 57014         → kUpstreamTimeout (the connection is replaced)
///   pool exhausted until acquire_timeout → kUpstreamTimeout
///   anything else                     → kInternal (details logged, not in the message)
///
/// Threading: a pool and everything it hands out belong to one executor (an io_context run
/// by one thread, or a strand). Call them only from coroutines running on that executor. The
/// pool must outlive its leases and the coroutines using it.
///
///     constexpr storage::PgStatement kDebit{
///         "wallet_debit", "UPDATE wallets SET balance = balance - $2 WHERE user_id = $1"};
///     storage::PgPool pool(io.get_executor(), {.url = cfg.database_url, .size = 8});
///     auto rows = co_await pool.Query(parent, kDebit, user_id, amount_cents);
///     auto st = co_await pool.Transaction(parent, [&](storage::PgTx& tx) -> Task<Status> {
///         auto r = co_await tx.Query(parent, kDebit, user_id, amount_cents);
///         if (!r) { co_return r.error(); }
///         co_return common::Ok();
///     });
///
/// Parameters are passed as arguments, not as a braced list: GCC 12 miscompiles (rejects) a
/// braced initializer list inside a co_await expression ("array used as initializer"). Build a
/// PgParams vector in its own statement when you need one (QueryWith / QuerySqlWith).
#include <libpq-fe.h>

#include <chrono>
#include <concepts>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include "flowex/common/result.hpp"
#include "flowex/common/trace_context.hpp"
#include "flowex/storage/observer.hpp"
#include "flowex/storage/task.hpp"

namespace flowex::storage {

namespace detail {
class PgConnection;
}  // namespace detail

// ---- statements and parameters ------------------------------------------------------------

/// A named SQL statement, prepared once per connection on first use. Declare as constants:
/// `constexpr PgStatement kFindUser{"find_user", "SELECT id FROM users WHERE username = $1"};`
/// `table` and `operation` override what is parsed from the SQL for the observer
/// (db.collection.name, db.operation.name and so the span name): a data-modifying WITH whose
/// point is "UPDATE wallets" is named so, not after its final INSERT.
struct PgStatement {
    std::string_view name;
    std::string_view sql;
    std::string_view table = {};
    std::string_view operation = {};
};

/// Operation and main table of a SQL text, for span names: "SELECT ... FROM orders o JOIN ..."
/// → {"SELECT", "orders"}; "INSERT INTO trades" → {"INSERT", "trades"}; "UPDATE wallets";
/// "DELETE FROM x". Unknown parts are "". Leading comments and whitespace are skipped; for
/// WITH the first DML keyword after the CTEs is used.
struct SqlSummary {
    std::string operation;
    std::string table;
};
SqlSummary DescribeSql(std::string_view sql);

/// One query parameter in text format (PostgreSQL casts it to the column type), or NULL.
class PgParam {
public:
    PgParam(std::nullopt_t) : null_(true) {}  // NOLINT(google-explicit-constructor)
    template <class T>
        requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
    PgParam(T v) : text_(std::to_string(v)) {}  // NOLINT(google-explicit-constructor)
    PgParam(bool v) : text_(v ? "true" : "false") {}  // NOLINT(google-explicit-constructor)
    PgParam(double v);                                 // NOLINT(google-explicit-constructor)
    PgParam(std::string v) : text_(std::move(v)) {}    // NOLINT(google-explicit-constructor)
    PgParam(std::string_view v) : text_(v) {}          // NOLINT(google-explicit-constructor)
    PgParam(const char* v) : null_(v == nullptr), text_(v != nullptr ? v : "") {}  // NOLINT
    template <class T>
    PgParam(const std::optional<T>& v)  // NOLINT(google-explicit-constructor)
        : PgParam(v ? PgParam(*v) : PgParam(std::nullopt)) {}

    bool is_null() const { return null_; }
    const std::string& text() const { return text_; }

private:
    bool null_ = false;
    std::string text_;
};

using PgParams = std::vector<PgParam>;

// ---- results ------------------------------------------------------------------------------

/// One row of a PgRows (a view: valid while the PgRows lives). Columns by index or name.
/// Typed accessors parse the text format; a NULL or unparsable value gives the fallback of
/// the plain accessor and nullopt from the Opt* accessor.
class PgRow {
public:
    PgRow(const PGresult* res, int row) : res_(res), row_(row) {}

    bool IsNull(int col) const;
    std::string_view Text(int col) const;  ///< "" for NULL
    std::string String(int col) const { return std::string(Text(col)); }
    std::optional<std::string> OptString(int col) const;
    std::int64_t Int64(int col) const { return OptInt64(col).value_or(0); }
    std::optional<std::int64_t> OptInt64(int col) const;
    bool Bool(int col) const { return OptBool(col).value_or(false); }
    std::optional<bool> OptBool(int col) const;
    double Double(int col) const { return OptDouble(col).value_or(0.0); }
    std::optional<double> OptDouble(int col) const;

    /// Column index by name, -1 when absent (accessors given -1 behave as for NULL).
    int Column(std::string_view name) const;
    bool IsNull(std::string_view name) const { return IsNull(Column(name)); }
    std::string_view Text(std::string_view name) const { return Text(Column(name)); }
    std::string String(std::string_view name) const { return String(Column(name)); }
    std::optional<std::string> OptString(std::string_view name) const { return OptString(Column(name)); }
    std::int64_t Int64(std::string_view name) const { return Int64(Column(name)); }
    std::optional<std::int64_t> OptInt64(std::string_view name) const { return OptInt64(Column(name)); }
    bool Bool(std::string_view name) const { return Bool(Column(name)); }
    std::optional<bool> OptBool(std::string_view name) const { return OptBool(Column(name)); }
    double Double(std::string_view name) const { return Double(Column(name)); }

private:
    const PGresult* res_;
    int row_;
};

/// The rows of a successful query (owns the libpq result). Move-only.
class PgRows {
public:
    PgRows() = default;
    explicit PgRows(PGresult* res) : res_(res) {}

    int size() const;
    bool empty() const { return size() == 0; }
    int columns() const;
    /// Rows affected by INSERT/UPDATE/DELETE (or returned by SELECT); 0 when not applicable.
    std::int64_t affected() const;
    /// The command tag, e.g. "UPDATE 1".
    std::string_view command() const;
    PgRow operator[](int row) const { return PgRow(res_.get(), row); }
    PgRow front() const { return (*this)[0]; }

    class Iterator {
    public:
        Iterator(const PGresult* res, int row) : res_(res), row_(row) {}
        PgRow operator*() const { return PgRow(res_, row_); }
        Iterator& operator++() {
            ++row_;
            return *this;
        }
        bool operator==(const Iterator& o) const { return row_ == o.row_; }

    private:
        const PGresult* res_;
        int row_;
    };
    Iterator begin() const { return Iterator(res_.get(), 0); }
    Iterator end() const { return Iterator(res_.get(), size()); }

private:
    struct Deleter {
        void operator()(PGresult* r) const { PQclear(r); }
    };
    std::unique_ptr<PGresult, Deleter> res_;
};

/// For a kConflict from a unique violation: the constraint's name (e.g. "users_username_key"),
/// so a repository can turn it into a domain error such as username_taken. nullopt otherwise.
std::optional<std::string> UniqueViolationConstraint(const common::Error& error);

// ---- pool ---------------------------------------------------------------------------------

struct PgPoolOptions {
    /// libpq connection URI or key=value string (FLOWEX_DATABASE_URL).
    std::string url;
    /// Maximum connections; they are opened lazily, on demand.
    std::size_t size = 8;
    /// How long Acquire waits for a free connection before kUpstreamTimeout.
    std::chrono::milliseconds acquire_timeout{2000};
    /// Deadline of the non-blocking connect (kUpstreamUnavailable after it).
    std::chrono::milliseconds connect_timeout{5000};
    /// Default deadline of each statement; a statement over it gives kUpstreamTimeout and its
    /// connection is closed (the server cancels the work when it notices).
    std::chrono::milliseconds statement_timeout{10000};
    /// Attempts of a Transaction that keeps hitting 40001/40P01 (first try included).
    int max_transaction_attempts = 5;
    /// Sent as application_name (visible in pg_stat_activity).
    std::string application_name = "flowex";
    /// false: this pool's commits do not wait for their WAL flush (synchronous_commit=off),
    /// so a crash may lose the last few. Only for writes that are safe to lose — bookkeeping
    /// a sweeper re-derives (an event marked published, a trade marked settled); never money.
    bool synchronous_commit = true;
};

enum class IsolationLevel { kReadCommitted, kRepeatableRead, kSerializable };

struct TxOptions {
    IsolationLevel isolation = IsolationLevel::kReadCommitted;
    bool read_only = false;
    /// 0 = the pool's max_transaction_attempts.
    int max_attempts = 0;
};

struct PgPoolStats {
    std::size_t open = 0;     ///< connections open or being opened
    std::size_t idle = 0;     ///< open and in the pool
    std::size_t waiting = 0;  ///< Acquire calls waiting for a connection
};

class PgPool;

/// Statements for PgPool::Batch, in order: `batch.Add(kInsertTrade, id, price, qty)`.
/// The statements are referenced, not copied: pass constants (`constexpr PgStatement`).
class PgBatch {
public:
    template <class... Args>
    PgBatch& Add(const PgStatement& stmt, Args&&... args) {
        return AddWith(stmt, PgParams{PgParam(std::forward<Args>(args))...});
    }
    PgBatch& AddWith(const PgStatement& stmt, PgParams params) {
        items_.push_back(Item{&stmt, std::move(params), std::nullopt});
        return *this;
    }
    /// The same with the statement's span under `parent` instead of the batch's parent (a
    /// batch that does the work of several business spans, one statement each).
    PgBatch& AddUnder(const common::TraceContext& parent, const PgStatement& stmt,
                      PgParams params) {
        items_.push_back(Item{&stmt, std::move(params), parent});
        return *this;
    }
    std::size_t size() const { return items_.size(); }
    bool empty() const { return items_.empty(); }

private:
    friend class PgPool;
    struct Item {
        const PgStatement* stmt;
        PgParams params;
        std::optional<common::TraceContext> parent;
    };
    std::vector<Item> items_;
};

/// A connection leased from the pool; returned on destruction (closed instead when it broke
/// or was left inside a transaction). Move-only.
class PgConn {
public:
    PgConn() = default;
    PgConn(PgConn&& other) noexcept;
    PgConn& operator=(PgConn&& other) noexcept;
    PgConn(const PgConn&) = delete;
    PgConn& operator=(const PgConn&) = delete;
    ~PgConn();

    /// Executes a prepared statement (prepared on this connection on first use) with the
    /// given parameters: `co_await conn.Query(parent, kStmt, user_id, amount)`.
    template <class... Args>
    Task<common::Result<PgRows>> Query(const common::TraceContext& parent, const PgStatement& stmt,
                                       Args&&... args) {
        return QueryWith(parent, stmt, PgParams{PgParam(std::forward<Args>(args))...});
    }
    /// The same with a parameter vector; `timeout` overrides the pool's statement_timeout.
    Task<common::Result<PgRows>> QueryWith(const common::TraceContext& parent, const PgStatement& stmt,
                                           PgParams params,
                                           std::optional<std::chrono::milliseconds> timeout = {});
    /// One ad-hoc statement with $n parameters (unnamed statement; parsed on each call).
    template <class... Args>
    Task<common::Result<PgRows>> QuerySql(const common::TraceContext& parent, std::string_view sql,
                                          Args&&... args) {
        return QuerySqlWith(parent, sql, PgParams{PgParam(std::forward<Args>(args))...});
    }
    Task<common::Result<PgRows>> QuerySqlWith(const common::TraceContext& parent, std::string_view sql,
                                              PgParams params,
                                              std::optional<std::chrono::milliseconds> timeout = {});
    /// A trusted SQL script, possibly several statements, no parameters (migrations, DDL).
    Task<common::Status> ExecScript(const common::TraceContext& parent, std::string_view sql,
                                    std::optional<std::chrono::milliseconds> timeout = {});

    /// Server process id of this connection (pg_backend_pid()).
    int BackendPid() const;
    /// PostgreSQL's text of the last failure on this connection, for logs; never show it to
    /// a client.
    const std::string& LastErrorDetail() const;
    /// SQLSTATE of the last failure on this connection ("" if none).
    const std::string& LastSqlState() const;
    bool valid() const { return conn_ != nullptr; }

private:
    friend class PgPool;
    PgConn(PgPool* pool, std::unique_ptr<detail::PgConnection> conn);
    void Release() noexcept;

    PgPool* pool_ = nullptr;
    std::unique_ptr<detail::PgConnection> conn_;
};

/// The connection of a running Transaction(). Queries inside it run in the transaction; a
/// failed query aborts the transaction (return its error from the body).
class PgTx {
public:
    explicit PgTx(PgConn& conn) : conn_(conn) {}
    template <class... Args>
    Task<common::Result<PgRows>> Query(const common::TraceContext& parent, const PgStatement& stmt,
                                       Args&&... args) {
        return conn_.Query(parent, stmt, std::forward<Args>(args)...);
    }
    Task<common::Result<PgRows>> QueryWith(const common::TraceContext& parent, const PgStatement& stmt,
                                           PgParams params,
                                           std::optional<std::chrono::milliseconds> timeout = {}) {
        return conn_.QueryWith(parent, stmt, std::move(params), timeout);
    }
    template <class... Args>
    Task<common::Result<PgRows>> QuerySql(const common::TraceContext& parent, std::string_view sql,
                                          Args&&... args) {
        return conn_.QuerySql(parent, sql, std::forward<Args>(args)...);
    }
    Task<common::Result<PgRows>> QuerySqlWith(const common::TraceContext& parent, std::string_view sql,
                                              PgParams params,
                                              std::optional<std::chrono::milliseconds> timeout = {}) {
        return conn_.QuerySqlWith(parent, sql, std::move(params), timeout);
    }
    Task<common::Status> ExecScript(const common::TraceContext& parent, std::string_view sql) {
        return conn_.ExecScript(parent, sql);
    }
    /// 1 on the first run of the body, 2 on the first retry, ...
    int attempt() const { return attempt_; }
    PgConn& connection() { return conn_; }

private:
    friend class PgPool;
    PgConn& conn_;
    int attempt_ = 1;
};

/// The body of a transaction. It may run several times (retries): keep side effects outside
/// the database idempotent, and reset captured outputs at its start.
using TxBody = std::function<Task<common::Status>(PgTx&)>;

class PgPool {
public:
    PgPool(boost::asio::any_io_executor executor, PgPoolOptions options);
    /// Closes idle connections. No lease or Acquire may be outstanding.
    ~PgPool();
    PgPool(const PgPool&) = delete;
    PgPool& operator=(const PgPool&) = delete;

    /// Sets the observer told about every query (BEGIN/COMMIT included). Call once, before use.
    void SetObserver(std::shared_ptr<DbObserver> observer);

    /// A connection: an idle healthy one, a new one while under `size`, or the next one
    /// released, waiting at most acquire_timeout (then kUpstreamTimeout, never a hang).
    /// `timeout` overrides acquire_timeout. Connect failures are kUpstreamUnavailable.
    Task<common::Result<PgConn>> Acquire(std::optional<std::chrono::milliseconds> timeout = {});

    /// Opens connections until `count` are open (never more than `size`) and leaves them idle,
    /// each having planned a scan of every table of the schema, so the first requests after a
    /// start neither wait for a new server process nor pay for loading its catalog caches
    /// (measured: a first INSERT on a fresh connection 8-13 ms, after this 4 ms, then 0.6 ms).
    /// Stops at the first connect failure and returns it; the pool stays usable either way.
    Task<common::Status> Warm(std::size_t count);

    /// Acquire + PgConn::Query (+ release): `co_await pool.Query(parent, kStmt, a, b)`.
    template <class... Args>
    Task<common::Result<PgRows>> Query(const common::TraceContext& parent, const PgStatement& stmt,
                                       Args&&... args) {
        return QueryWith(parent, stmt, PgParams{PgParam(std::forward<Args>(args))...});
    }
    Task<common::Result<PgRows>> QueryWith(const common::TraceContext& parent, const PgStatement& stmt,
                                           PgParams params,
                                           std::optional<std::chrono::milliseconds> timeout = {});
    template <class... Args>
    Task<common::Result<PgRows>> QuerySql(const common::TraceContext& parent, std::string_view sql,
                                          Args&&... args) {
        return QuerySqlWith(parent, sql, PgParams{PgParam(std::forward<Args>(args))...});
    }
    Task<common::Result<PgRows>> QuerySqlWith(const common::TraceContext& parent, std::string_view sql,
                                              PgParams params,
                                              std::optional<std::chrono::milliseconds> timeout = {});
    Task<common::Status> ExecScript(const common::TraceContext& parent, std::string_view sql,
                                    std::optional<std::chrono::milliseconds> timeout = {});

    /// BEGIN (with the isolation level) → body → COMMIT, or ROLLBACK when the body returns an
    /// error. A serialization failure (40001) or deadlock (40P01), in the body or at COMMIT,
    /// rolls back and runs the body again on a fresh transaction, up to max_attempts; after
    /// the last it returns kConflict. The body's own error is returned as is.
    Task<common::Status> Transaction(const common::TraceContext& parent, TxBody body,
                                     TxOptions options = {});

    /// The batch's statements as one transaction in one round trip (libpq pipeline mode):
    /// sent together with a single Sync, committed together, or — when one fails — none of
    /// them (the later ones are not run). For work whose statements do not need an earlier
    /// one's result as a parameter; guard conditions belong in the SQL (WHERE EXISTS ...).
    /// Results in statement order. The error is the first failing statement's; serialization
    /// failures and deadlocks are retried as in Transaction. Each statement is observed (a
    /// span each), the skipped ones as failed with error_type "pipeline_aborted".
    Task<common::Result<std::vector<PgRows>>> Batch(
        const common::TraceContext& parent, PgBatch batch,
        std::optional<std::chrono::milliseconds> timeout = {});

    PgPoolStats Stats() const;
    const PgPoolOptions& options() const { return options_; }
    /// Database name, host and port from the URL (for the observer and logs).
    const std::string& db_name() const { return db_name_; }
    const std::string& host() const { return host_; }
    int port() const { return port_; }
    boost::asio::any_io_executor executor() const { return executor_; }

private:
    friend class PgConn;
    struct Waiter;
    void Return(std::unique_ptr<detail::PgConnection> conn) noexcept;
    void Discard(std::unique_ptr<detail::PgConnection> conn) noexcept;
    Task<common::Result<PgRows>> Run(PgConn& conn, const common::TraceContext& parent, int kind,
                                     std::string_view name, std::string_view sql,
                                     std::string_view table, std::string_view operation,
                                     PgParams params,
                                     std::optional<std::chrono::milliseconds> timeout);

    boost::asio::any_io_executor executor_;
    PgPoolOptions options_;
    std::string conninfo_;
    std::string db_name_;
    std::string host_;
    int port_ = 0;
    std::shared_ptr<DbObserver> observer_;
    std::vector<std::unique_ptr<detail::PgConnection>> idle_;
    std::list<Waiter*> waiters_;
    std::size_t open_ = 0;
};

}  // namespace flowex::storage
