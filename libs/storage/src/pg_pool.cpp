#include <algorithm>
#include <random>
#include <string>
#include <unordered_map>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "flowex/storage/pg.hpp"
#include "pg_connection.hpp"

namespace flowex::storage {
namespace {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using common::ErrorCode;
using detail::CallKind;
using detail::ExecOutcome;
using detail::PgConnection;
using SteadyClock = std::chrono::steady_clock;

// DescribeSql of a statement, remembered per thread: a service runs the same few dozen
// statements all day, and tokenizing a long CTE for every span's db.operation.name and
// db.collection.name cost ~2 % of a service's CPU. Bounded: past kMaxRemembered distinct
// texts (dynamic SQL), the rest are described afresh each time.
const SqlSummary& Described(std::string_view sql) {
    struct Hash {
        using is_transparent = void;
        std::size_t operator()(std::string_view s) const noexcept {
            return std::hash<std::string_view>{}(s);
        }
    };
    constexpr std::size_t kMaxRemembered = 1024;
    thread_local std::unordered_map<std::string, SqlSummary, Hash, std::equal_to<>> remembered;
    thread_local SqlSummary scratch;
    if (auto it = remembered.find(sql); it != remembered.end()) { return it->second; }
    if (remembered.size() >= kMaxRemembered) {
        scratch = DescribeSql(sql);
        return scratch;
    }
    return remembered.emplace(std::string(sql), DescribeSql(sql)).first->second;
}

struct ConninfoDeleter {
    void operator()(PQconninfoOption* o) const { PQconninfoFree(o); }
};

std::string Conninfo(const PgPoolOptions& o) {
    std::string ci = o.url;
    // Append settings to a URI as query parameters, to key=value strings as pairs.
    const bool uri = ci.rfind("postgresql://", 0) == 0 || ci.rfind("postgres://", 0) == 0;
    auto add = [&](const std::string& key, const std::string& value) {
        if (uri) {
            ci += (ci.find('?') == std::string::npos ? "?" : "&") + key + "=" + value;
        } else {
            ci += " " + key + "='" + value + "'";
        }
    };
    if (ci.find("application_name") == std::string::npos && !o.application_name.empty()) {
        add("application_name", o.application_name);
    }
    if (ci.find("options") == std::string::npos) {
        // A statement abandoned at its deadline is cancelled (PQcancel), but a cancel that
        // overtakes its query is ignored: let the server also notice the closed connection
        // and stop the orphaned query within a second.
        // Generic plans always: every statement of ours is a keyed lookup or write whose plan
        // does not depend on its values, but PostgreSQL kept planning those with an array
        // parameter (`= ANY ($1)`: the settlement's row locks, the marks) again at every call,
        // 4 % of its time at 500 orders/s (docs/benchmarks.md). A statement must therefore not
        // need its values to find its index: a partial index's condition is written out in
        // the statement, not passed as a parameter (order-manager's listings of orders).
        std::string opts =
            "-c client_connection_check_interval=1000 -c plan_cache_mode=force_generic_plan";
        if (!o.synchronous_commit) {
            opts += " -c synchronous_commit=off";
        }
        if (uri) {
            std::string encoded;
            for (char c : opts) {
                encoded += c == ' ' ? std::string("%20") : c == '=' ? std::string("%3D") : std::string(1, c);
            }
            opts = std::move(encoded);
        }
        add("options", opts);
    } else if (!o.synchronous_commit) {
        spdlog::warn("postgresql: the database URL sets options; synchronous_commit=off not added");
    }
    if (ci.find("connect_timeout") == std::string::npos) {
        auto secs = std::max<long long>(2, std::chrono::ceil<std::chrono::seconds>(o.connect_timeout).count());
        add("connect_timeout", std::to_string(secs));
    }
    return ci;
}

const char* IsolationSql(const TxOptions& o) {
    switch (o.isolation) {
        case IsolationLevel::kSerializable:
            return o.read_only ? "BEGIN ISOLATION LEVEL SERIALIZABLE READ ONLY"
                               : "BEGIN ISOLATION LEVEL SERIALIZABLE";
        case IsolationLevel::kRepeatableRead:
            return o.read_only ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
                               : "BEGIN ISOLATION LEVEL REPEATABLE READ";
        case IsolationLevel::kReadCommitted:
            break;
    }
    return o.read_only ? "BEGIN READ ONLY" : "BEGIN";
}

bool Retryable(const std::string& sqlstate) { return sqlstate == "40001" || sqlstate == "40P01"; }

}  // namespace

struct PgPool::Waiter {
    explicit Waiter(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    std::unique_ptr<PgConnection> conn;  // handed over by Return()
    bool woken = false;                  // a slot became free: try again
};

PgPool::PgPool(asio::any_io_executor executor, PgPoolOptions options)
    : executor_(std::move(executor)), options_(std::move(options)) {
    if (options_.size == 0) {
        options_.size = 1;
    }
    conninfo_ = Conninfo(options_);
    char* err = nullptr;
    std::unique_ptr<PQconninfoOption, ConninfoDeleter> parsed(PQconninfoParse(options_.url.c_str(), &err));
    if (err != nullptr) {
        spdlog::error("postgresql: cannot parse the database URL: {}", err);
        PQfreemem(err);
    }
    if (parsed) {
        for (auto* o = parsed.get(); o->keyword != nullptr; ++o) {
            if (o->val == nullptr) {
                continue;
            }
            std::string_view k = o->keyword;
            if (k == "dbname") {
                db_name_ = o->val;
            } else if (k == "host" || (k == "hostaddr" && host_.empty())) {
                host_ = o->val;
            } else if (k == "port") {
                port_ = std::atoi(o->val);
            } else if (k == "user" && db_name_.empty()) {
                db_name_ = o->val;  // libpq's default dbname is the user name
            }
        }
    }
    if (host_.empty()) {
        host_ = "localhost";
    }
    if (port_ == 0) {
        port_ = 5432;
    }
}

PgPool::~PgPool() { idle_.clear(); }

void PgPool::SetObserver(std::shared_ptr<DbObserver> observer) { observer_ = std::move(observer); }

PgPoolStats PgPool::Stats() const { return PgPoolStats{open_, idle_.size(), waiters_.size()}; }

Task<common::Result<PgConn>> PgPool::Acquire(std::optional<std::chrono::milliseconds> timeout) {
    const auto deadline = SteadyClock::now() + timeout.value_or(options_.acquire_timeout);
    for (;;) {
        // Most recently used first: it is the most likely to be warm and alive.
        while (!idle_.empty()) {
            auto conn = std::move(idle_.back());
            idle_.pop_back();
            if (conn->LooksHealthy()) {
                co_return PgConn(this, std::move(conn));
            }
            spdlog::info("postgresql: dropping a connection closed by the server");
            Discard(std::move(conn));
        }
        if (open_ < options_.size) {
            ++open_;
            auto conn = co_await PgConnection::Connect(executor_, conninfo_,
                                                       SteadyClock::now() + options_.connect_timeout);
            if (!conn) {
                --open_;
                // Someone waiting may try (and fail fast) on their own.
                if (!waiters_.empty()) {
                    Waiter* w = waiters_.front();
                    waiters_.pop_front();
                    w->woken = true;
                    w->timer.cancel();
                }
                co_return conn.error();
            }
            co_return PgConn(this, std::move(conn).value());
        }
        if (SteadyClock::now() >= deadline) {
            co_return common::Error::Make(ErrorCode::kUpstreamTimeout,
                                          "database busy (no connection free in time)");
        }
        Waiter waiter(executor_);
        waiter.timer.expires_at(deadline);
        waiters_.push_back(&waiter);
        co_await waiter.timer.async_wait(as_tuple(use_awaitable));
        waiters_.remove(&waiter);
        if (waiter.conn) {
            co_return PgConn(this, std::move(waiter.conn));
        }
        if (!waiter.woken && SteadyClock::now() >= deadline) {
            co_return common::Error::Make(ErrorCode::kUpstreamTimeout,
                                          "database busy (no connection free in time)");
        }
    }
}

namespace {

// Builds the warm-up script: planning a scan of every table of the schema loads the table's and
// its indexes' catalog entries into that server process, which otherwise happens (a few
// milliseconds per table) on each connection's first statements, in the middle of requests.
constexpr std::string_view kWarmScriptSql =
    "SELECT coalesce(string_agg(format('EXPLAIN SELECT * FROM %s', c.oid::regclass), '; '), '') "
    "FROM pg_class c WHERE c.relnamespace = current_schema()::regnamespace "
    "AND c.relkind IN ('r', 'p')";

}  // namespace

Task<common::Status> PgPool::Warm(std::size_t count) {
    const PgParams none;
    std::string script;
    bool scripted = false;
    while (open_ < std::min(count, options_.size)) {
        ++open_;
        const auto deadline = SteadyClock::now() + options_.connect_timeout;
        auto conn = co_await PgConnection::Connect(executor_, conninfo_, deadline);
        if (!conn) {
            --open_;
            co_return conn.error();
        }
        if (!scripted) {
            scripted = true;
            ExecOutcome listed =
                co_await (*conn)->Exec(CallKind::kScript, {}, kWarmScriptSql, none, deadline);
            if (!listed.failed && PQntuples(listed.result) == 1) {
                script = PQgetvalue(listed.result, 0, 0);
            }
            PQclear(listed.result);
        }
        if (!script.empty()) {
            ExecOutcome warmed =
                co_await (*conn)->Exec(CallKind::kScript, {}, script, none, deadline);
            PQclear(warmed.result);
        }
        Return(std::move(conn).value());
    }
    co_return common::Ok();
}

void PgPool::Return(std::unique_ptr<PgConnection> conn) noexcept {
    if (!conn) {
        return;
    }
    if (!conn->ReusableAsIdle()) {
        Discard(std::move(conn));
        return;
    }
    conn->ClearLastError();
    if (!waiters_.empty()) {
        Waiter* w = waiters_.front();
        waiters_.pop_front();
        w->conn = std::move(conn);
        w->timer.cancel();
        return;
    }
    idle_.push_back(std::move(conn));
}

void PgPool::Discard(std::unique_ptr<PgConnection> conn) noexcept {
    conn.reset();
    if (open_ > 0) {
        --open_;
    }
    if (!waiters_.empty()) {
        Waiter* w = waiters_.front();
        waiters_.pop_front();
        w->woken = true;
        w->timer.cancel();
    }
}

Task<common::Result<PgRows>> PgPool::Run(PgConn& lease, const common::TraceContext& parent, int kind,
                                         std::string_view name, std::string_view sql,
                                         std::string_view table, std::string_view operation,
                                         PgParams params,
                                         std::optional<std::chrono::milliseconds> timeout) {
    if (!lease.conn_) {
        co_return common::Error::Make(ErrorCode::kInternal, "database error");
    }
    std::unique_ptr<DbCallScope> scope;
    if (observer_) {
        DbCallInfo info;
        info.system = "postgresql";
        info.operation = operation;
        info.collection = table;
        if (operation.empty() || table.empty()) {
            const SqlSummary& summary = Described(sql);
            if (operation.empty()) { info.operation = summary.operation; }
            if (table.empty()) { info.collection = summary.table; }
        }
        info.query_text = sql;
        info.statement_name = name;
        info.db_name = db_name_;
        info.server_address = host_;
        info.server_port = port_;
        info.parent = &parent;
        scope = observer_->OnStart(info);
    }
    const auto deadline = SteadyClock::now() + timeout.value_or(options_.statement_timeout);
    auto out = co_await lease.conn_->Exec(static_cast<CallKind>(kind), name, sql, params, deadline);
    if (out.failed) {
        if (out.code == ErrorCode::kInternal || out.code == ErrorCode::kUpstreamUnavailable) {
            spdlog::warn("postgresql: {} failed [{}]: {}", name.empty() ? DescribeSql(sql).operation : std::string(name),
                         out.sqlstate, lease.conn_->last_error_detail());
        }
        if (scope) {
            DbOutcome o;
            o.ok = false;
            o.code = out.code;
            o.error_type = out.error_type;
            o.message = out.message;
            scope->End(o);
        }
        co_return common::Error::Make(out.code, std::move(out.message));
    }
    PgRows rows(out.result);
    if (scope) {
        DbOutcome o;
        o.rows = rows.columns() > 0 ? rows.size() : rows.affected();
        scope->End(o);
    }
    co_return rows;
}

Task<common::Result<PgRows>> PgPool::QueryWith(const common::TraceContext& parent, const PgStatement& stmt,
                                               PgParams params,
                                           std::optional<std::chrono::milliseconds> timeout) {
    auto lease = co_await Acquire();
    if (!lease) {
        co_return lease.error();
    }
    co_return co_await lease->QueryWith(parent, stmt, std::move(params), timeout);
}

Task<common::Result<PgRows>> PgPool::QuerySqlWith(const common::TraceContext& parent,
                                                 std::string_view sql, PgParams params,
                                                 std::optional<std::chrono::milliseconds> timeout) {
    auto lease = co_await Acquire();
    if (!lease) {
        co_return lease.error();
    }
    co_return co_await lease->QuerySqlWith(parent, sql, std::move(params), timeout);
}

Task<common::Status> PgPool::ExecScript(const common::TraceContext& parent, std::string_view sql,
                                        std::optional<std::chrono::milliseconds> timeout) {
    auto lease = co_await Acquire();
    if (!lease) {
        co_return lease.error();
    }
    co_return co_await lease->ExecScript(parent, sql, timeout);
}

Task<common::Status> PgPool::Transaction(const common::TraceContext& parent, TxBody body,
                                         TxOptions options) {
    const int attempts = options.max_attempts > 0 ? options.max_attempts : options_.max_transaction_attempts;
    std::minstd_rand jitter(static_cast<unsigned>(SteadyClock::now().time_since_epoch().count()));
    for (int attempt = 1;; ++attempt) {
        auto lease = co_await Acquire();
        if (!lease) {
            co_return lease.error();
        }
        PgConn& conn = *lease;
        auto begun = co_await conn.QuerySql(parent, IsolationSql(options));
        if (!begun) {
            co_return begun.error();
        }
        PgTx tx(conn);
        tx.attempt_ = attempt;
        common::Status status = co_await body(tx);
        bool retry = false;
        if (status.ok()) {
            if (conn.conn_ && conn.conn_->TxStatus() == PQTRANS_INERROR) {
                // The body swallowed a failed statement: COMMIT would silently roll back.
                retry = Retryable(conn.LastSqlState());
                if (!retry) {
                    (void)co_await conn.QuerySql(parent, "ROLLBACK");
                    co_return common::Error::Make(ErrorCode::kInternal, "database error");
                }
            } else {
                auto committed = co_await conn.QuerySql(parent, "COMMIT");
                if (committed) {
                    co_return common::Ok();
                }
                if (!Retryable(conn.LastSqlState())) {
                    co_return committed.error();
                }
                retry = true;
            }
        } else {
            retry = conn.conn_ && Retryable(conn.LastSqlState());
        }
        if (conn.conn_ && !conn.conn_->broken() && conn.conn_->TxStatus() != PQTRANS_IDLE) {
            (void)co_await conn.QuerySql(parent, "ROLLBACK");
        }
        if (!retry) {
            co_return status;
        }
        if (attempt >= attempts) {
            spdlog::warn("postgresql: transaction gave up after {} attempts (sqlstate {})", attempt,
                         conn.LastSqlState());
            co_return common::Error::Make(ErrorCode::kConflict,
                                          "concurrent update conflict (retries exhausted)");
        }
        // Release the connection before backing off, and back off a little, randomly, so the
        // colliding transactions do not meet again in lockstep.
        {
            PgConn released = std::move(lease.value());
        }
        asio::steady_timer backoff(executor_, std::chrono::microseconds(
                                                  200 + jitter() % (1000 * static_cast<unsigned>(attempt))));
        co_await backoff.async_wait(as_tuple(use_awaitable));
    }
}

Task<common::Result<std::vector<PgRows>>> PgPool::Batch(const common::TraceContext& parent,
                                                         PgBatch batch,
                                                         std::optional<std::chrono::milliseconds> timeout) {
    std::vector<PgRows> rows;
    if (batch.items_.empty()) {
        co_return rows;
    }
    std::vector<PgConnection::PipelineCommand> commands;
    commands.reserve(batch.items_.size());
    for (const auto& item : batch.items_) {
        commands.push_back({item.stmt->name, item.stmt->sql, &item.params});
    }
    std::minstd_rand jitter(static_cast<unsigned>(SteadyClock::now().time_since_epoch().count()));
    for (int attempt = 1;; ++attempt) {
        auto lease = co_await Acquire();
        if (!lease) {
            co_return lease.error();
        }
        std::vector<std::unique_ptr<DbCallScope>> scopes(batch.items_.size());
        if (observer_) {
            for (std::size_t i = 0; i < batch.items_.size(); ++i) {
                const PgStatement& stmt = *batch.items_[i].stmt;
                DbCallInfo info;
                info.system = "postgresql";
                info.operation = stmt.operation;
                info.collection = stmt.table;
                if (stmt.operation.empty() || stmt.table.empty()) {
                    const SqlSummary& summary = Described(stmt.sql);
                    if (stmt.operation.empty()) { info.operation = summary.operation; }
                    if (stmt.table.empty()) { info.collection = summary.table; }
                }
                info.query_text = stmt.sql;
                info.statement_name = stmt.name;
                info.db_name = db_name_;
                info.server_address = host_;
                info.server_port = port_;
                const auto& own = batch.items_[i].parent;
                info.parent = own.has_value() ? &*own : &parent;
                scopes[i] = observer_->OnStart(info);
            }
        }
        const auto deadline = SteadyClock::now() + timeout.value_or(options_.statement_timeout);
        auto outs = co_await lease->conn_->ExecPipeline(commands, deadline);
        const detail::ExecOutcome* first = nullptr;
        rows.clear();
        for (std::size_t i = 0; i < outs.size(); ++i) {
            auto& out = outs[i];
            if (out.failed) {
                if (first == nullptr || (first->error_type == "pipeline_aborted" &&
                                         out.error_type != "pipeline_aborted")) {
                    first = &out;
                }
                if (scopes[i]) {
                    DbOutcome o;
                    o.ok = false;
                    o.code = out.code;
                    o.error_type = out.error_type;
                    o.message = out.message;
                    scopes[i]->End(o);
                }
                continue;
            }
            PgRows r(out.result);
            out.result = nullptr;
            if (scopes[i]) {
                DbOutcome o;
                o.rows = r.columns() > 0 ? r.size() : r.affected();
                scopes[i]->End(o);
            }
            rows.push_back(std::move(r));
        }
        if (first == nullptr) {
            co_return std::move(rows);
        }
        if (first->code == ErrorCode::kInternal || first->code == ErrorCode::kUpstreamUnavailable) {
            spdlog::warn("postgresql: batch statement {} failed [{}]: {}",
                         batch.items_[static_cast<std::size_t>(first - outs.data())].stmt->name,
                         first->sqlstate, lease->LastErrorDetail());
        }
        if (!Retryable(first->sqlstate) || attempt >= options_.max_transaction_attempts) {
            if (Retryable(first->sqlstate)) {
                co_return common::Error::Make(ErrorCode::kConflict,
                                              "concurrent update conflict (retries exhausted)");
            }
            co_return common::Error::Make(first->code, first->message);
        }
        {
            PgConn released = std::move(lease.value());
        }
        asio::steady_timer backoff(executor_, std::chrono::microseconds(
                                                  200 + jitter() % (1000 * static_cast<unsigned>(attempt))));
        co_await backoff.async_wait(as_tuple(use_awaitable));
    }
}

// ---- lease ----------------------------------------------------------------------------------

PgConn::PgConn(PgPool* pool, std::unique_ptr<PgConnection> conn) : pool_(pool), conn_(std::move(conn)) {}

PgConn::PgConn(PgConn&& other) noexcept
    : pool_(std::exchange(other.pool_, nullptr)), conn_(std::move(other.conn_)) {}

PgConn& PgConn::operator=(PgConn&& other) noexcept {
    if (this != &other) {
        Release();
        pool_ = std::exchange(other.pool_, nullptr);
        conn_ = std::move(other.conn_);
    }
    return *this;
}

PgConn::~PgConn() { Release(); }

void PgConn::Release() noexcept {
    if (pool_ != nullptr && conn_) {
        pool_->Return(std::move(conn_));
    }
    conn_.reset();
    pool_ = nullptr;
}

Task<common::Result<PgRows>> PgConn::QueryWith(const common::TraceContext& parent, const PgStatement& stmt,
                                               PgParams params,
                                           std::optional<std::chrono::milliseconds> timeout) {
    co_return co_await pool_->Run(*this, parent, static_cast<int>(CallKind::kPrepared), stmt.name,
                                  stmt.sql, stmt.table, stmt.operation, std::move(params), timeout);
}

Task<common::Result<PgRows>> PgConn::QuerySqlWith(const common::TraceContext& parent,
                                                 std::string_view sql, PgParams params,
                                                 std::optional<std::chrono::milliseconds> timeout) {
    co_return co_await pool_->Run(*this, parent, static_cast<int>(CallKind::kParams), {}, sql, {}, {},
                                  std::move(params), timeout);
}

Task<common::Status> PgConn::ExecScript(const common::TraceContext& parent, std::string_view sql,
                                        std::optional<std::chrono::milliseconds> timeout) {
    auto r = co_await pool_->Run(*this, parent, static_cast<int>(CallKind::kScript), {}, sql, {}, {}, {},
                                 timeout);
    if (!r) {
        co_return r.error();
    }
    co_return common::Ok();
}

int PgConn::BackendPid() const { return conn_ ? conn_->BackendPid() : 0; }

const std::string& PgConn::LastErrorDetail() const {
    static const std::string kEmpty;
    return conn_ ? conn_->last_error_detail() : kEmpty;
}

const std::string& PgConn::LastSqlState() const {
    static const std::string kEmpty;
    return conn_ ? conn_->last_sqlstate() : kEmpty;
}

}  // namespace flowex::storage
