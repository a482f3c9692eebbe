#include "pg_connection.hpp"

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cstring>
#include <thread>
#include <utility>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

namespace flowex::storage::detail {
namespace {

namespace asio = boost::asio;
using asio::as_tuple;
using asio::use_awaitable;
using asio::posix::stream_descriptor;
using common::ErrorCode;

std::string Field(const PGresult* res, int field) {
    const char* v = res != nullptr ? PQresultErrorField(res, field) : nullptr;
    return v != nullptr ? std::string(v) : std::string();
}

std::string Trim(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) {
        s.pop_back();
    }
    return s;
}

}  // namespace

ExecOutcome ClassifyFailure(const PGresult* res, PGconn* conn) {
    ExecOutcome out;
    out.failed = true;
    out.sqlstate = Field(res, PG_DIAG_SQLSTATE);
    const std::string& s = out.sqlstate;
    out.error_type = s;
    if (s.empty()) {
        // A client-side failure: the connection is gone or unusable.
        out.code = ErrorCode::kUpstreamUnavailable;
        out.message = "database unavailable";
        out.error_type = "connection";
    } else if (s == "23505") {
        out.code = ErrorCode::kConflict;
        out.constraint = Field(res, PG_DIAG_CONSTRAINT_NAME);
        out.message = "duplicate value violates unique constraint \"" + out.constraint + "\"";
    } else if (s == "40001" || s == "40P01") {
        out.code = ErrorCode::kConflict;
        out.message = "concurrent update conflict";
    } else if (s.rfind("08", 0) == 0 || s == "57P01" || s == "57P02" || s == "57P03" ||
               s == "53300") {
        out.code = ErrorCode::kUpstreamUnavailable;
        out.message = "database unavailable";
    } else if (s == "57014" || s == "55P03") {
        out.code = ErrorCode::kUpstreamTimeout;
        out.message = "database timeout";
    } else {
        out.code = ErrorCode::kInternal;
        out.message = "database error";
    }
    (void)conn;
    return out;
}

PgConnection::PgConnection(asio::any_io_executor executor, PGconn* conn)
    : executor_(std::move(executor)), conn_(conn), socket_(executor_) {}

PgConnection::~PgConnection() {
    boost::system::error_code ignored;
    socket_.close(ignored);  // our dup; libpq closes its own fd in PQfinish
    PQfinish(conn_);
}

void PgConnection::MarkBroken() noexcept { broken_ = true; }

bool PgConnection::SyncSocket() {
    int fd = PQsocket(conn_);
    if (fd < 0) {
        return false;
    }
    if (fd == libpq_fd_ && socket_.is_open()) {
        return true;
    }
    boost::system::error_code ec;
    socket_.close(ec);
    int copy = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (copy < 0) {
        return false;
    }
    socket_.assign(copy, ec);
    if (ec) {
        ::close(copy);
        return false;
    }
    libpq_fd_ = fd;
    return true;
}

Task<PgConnection::WaitResult> PgConnection::Wait(stream_descriptor::wait_type type,
                                                  SteadyTime deadline) {
    using namespace asio::experimental::awaitable_operators;
    if (std::chrono::steady_clock::now() >= deadline) {
        co_return WaitResult::kTimeout;
    }
    asio::steady_timer timer(executor_, deadline);
    auto r = co_await (socket_.async_wait(type, as_tuple(use_awaitable)) ||
                       timer.async_wait(as_tuple(use_awaitable)));
    if (r.index() == 1) {
        co_return WaitResult::kTimeout;
    }
    auto [ec] = std::get<0>(r);
    co_return ec ? WaitResult::kError : WaitResult::kReady;
}

Task<common::Result<std::unique_ptr<PgConnection>>> PgConnection::Connect(
    asio::any_io_executor executor, const std::string& conninfo, SteadyTime deadline) {
    PGconn* raw = PQconnectStart(conninfo.c_str());
    if (raw == nullptr) {
        co_return common::Error::Make(ErrorCode::kUpstreamUnavailable, "database unavailable");
    }
    std::unique_ptr<PgConnection> conn(new PgConnection(executor, raw));
    if (PQstatus(raw) == CONNECTION_BAD) {
        spdlog::warn("postgresql: cannot connect: {}", Trim(PQerrorMessage(raw)));
        co_return common::Error::Make(ErrorCode::kUpstreamUnavailable, "database unavailable");
    }
    // Start as if PQconnectPoll had returned PGRES_POLLING_WRITING (libpq's documented loop).
    PostgresPollingStatusType poll = PGRES_POLLING_WRITING;
    for (;;) {
        if (poll == PGRES_POLLING_OK) {
            break;
        }
        if (poll == PGRES_POLLING_FAILED) {
            spdlog::warn("postgresql: cannot connect: {}", Trim(PQerrorMessage(raw)));
            co_return common::Error::Make(ErrorCode::kUpstreamUnavailable, "database unavailable");
        }
        if (!conn->SyncSocket()) {
            spdlog::warn("postgresql: cannot connect: no socket ({})", Trim(PQerrorMessage(raw)));
            co_return common::Error::Make(ErrorCode::kUpstreamUnavailable, "database unavailable");
        }
        auto w = co_await conn->Wait(
            poll == PGRES_POLLING_READING ? stream_descriptor::wait_read : stream_descriptor::wait_write,
            deadline);
        if (w == WaitResult::kTimeout) {
            spdlog::warn("postgresql: connect timed out");
            co_return common::Error::Make(ErrorCode::kUpstreamUnavailable,
                                          "database unavailable (connect timeout)");
        }
        poll = PQconnectPoll(raw);
    }
    if (PQsetnonblocking(raw, 1) != 0 || !conn->SyncSocket()) {
        spdlog::warn("postgresql: cannot switch to non-blocking mode: {}", Trim(PQerrorMessage(raw)));
        co_return common::Error::Make(ErrorCode::kUpstreamUnavailable, "database unavailable");
    }
    co_return conn;
}

ExecOutcome PgConnection::ConnectionFailure(std::string_view what) {
    broken_ = true;
    last_error_detail_ = std::string(what) + ": " + Trim(PQerrorMessage(conn_));
    last_sqlstate_.clear();
    spdlog::warn("postgresql: {}", last_error_detail_);
    ExecOutcome out;
    out.failed = true;
    out.code = ErrorCode::kUpstreamUnavailable;
    out.message = "database unavailable";
    out.error_type = "connection";
    return out;
}

ExecOutcome PgConnection::Timeout() {
    // The command may still run on the server: ask the server to cancel it (PQcancel opens a
    // short connection of its own and blocks, so it runs off the io thread), and drop this
    // connection, whose protocol state is now unknown.
    if (!broken_ && PQtransactionStatus(conn_) == PQTRANS_ACTIVE) {
        if (PGcancel* cancel = PQgetCancel(conn_)) {
            std::thread([cancel] {
                char err[256];
                (void)PQcancel(cancel, err, sizeof err);
                PQfreeCancel(cancel);
            }).detach();
        }
    }
    broken_ = true;
    last_error_detail_ = "statement deadline exceeded";
    last_sqlstate_.clear();
    ExecOutcome out;
    out.failed = true;
    out.code = ErrorCode::kUpstreamTimeout;
    out.message = "database timeout";
    out.error_type = "timeout";
    return out;
}

Task<ExecOutcome> PgConnection::Flush(SteadyTime deadline) {
    for (;;) {
        int r = PQflush(conn_);
        if (r == 0) {
            co_return ExecOutcome{};
        }
        if (r < 0) {
            co_return ConnectionFailure("send failed");
        }
        auto w = co_await Wait(stream_descriptor::wait_write, deadline);
        if (w == WaitResult::kTimeout) {
            co_return Timeout();
        }
        if (w == WaitResult::kError) {
            co_return ConnectionFailure("socket wait failed");
        }
    }
}

Task<ExecOutcome> PgConnection::Collect(SteadyTime deadline) {
    PGresult* keep = nullptr;
    PGresult* error = nullptr;
    // Buffered results first; read only once the socket is readable (see NextResult).
    for (;;) {
        bool done = false;
        while (PQisBusy(conn_) == 0) {
            PGresult* res = PQgetResult(conn_);
            if (res == nullptr) {
                done = true;
                break;
            }
            auto st = PQresultStatus(res);
            if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE || st == PGRES_NONFATAL_ERROR) {
                if (error == nullptr && st != PGRES_NONFATAL_ERROR) {
                    error = res;
                } else {
                    PQclear(res);
                }
            } else if (st == PGRES_COPY_IN || st == PGRES_COPY_OUT || st == PGRES_COPY_BOTH) {
                // COPY is not supported through this API: end it and fail.
                PQclear(res);
                PQclear(keep);
                PQclear(error);
                co_return ConnectionFailure("COPY is not supported");
            } else {
                PQclear(keep);
                keep = res;
            }
        }
        if (done) {
            break;
        }
        auto w = co_await Wait(stream_descriptor::wait_read, deadline);
        if (w != WaitResult::kReady) {
            PQclear(keep);
            PQclear(error);
            co_return w == WaitResult::kTimeout ? Timeout() : ConnectionFailure("socket wait failed");
        }
        if (PQconsumeInput(conn_) == 0) {
            PQclear(keep);
            PQclear(error);
            co_return ConnectionFailure("receive failed");
        }
    }
    if (error != nullptr) {
        PQclear(keep);
        ExecOutcome out = ClassifyFailure(error, conn_);
        last_sqlstate_ = out.sqlstate;
        last_error_detail_ = Trim(PQresultErrorMessage(error));
        PQclear(error);
        if (out.code == ErrorCode::kUpstreamUnavailable || PQstatus(conn_) != CONNECTION_OK) {
            broken_ = true;
            out.code = ErrorCode::kUpstreamUnavailable;
            out.message = "database unavailable";
        }
        co_return out;
    }
    if (PQstatus(conn_) != CONNECTION_OK) {
        PQclear(keep);
        co_return ConnectionFailure("connection lost");
    }
    ExecOutcome out;
    out.result = keep != nullptr ? keep : PQmakeEmptyPGresult(conn_, PGRES_COMMAND_OK);
    co_return out;
}

Task<ExecOutcome> PgConnection::Exec(CallKind kind, std::string_view name, std::string_view sql,
                                     const PgParams& params, SteadyTime deadline) {
    if (broken_ || PQstatus(conn_) != CONNECTION_OK) {
        co_return ConnectionFailure("connection is broken");
    }
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) {
        values.push_back(p.is_null() ? nullptr : p.text().c_str());
    }
    const int n = static_cast<int>(values.size());
    std::string name_z(name);
    std::string sql_z(sql);

    if (kind == CallKind::kPrepared && prepared_.find(name) == prepared_.end()) {
        if (PQsendPrepare(conn_, name_z.c_str(), sql_z.c_str(), n, nullptr) == 0) {
            co_return ConnectionFailure("prepare failed");
        }
        auto f = co_await Flush(deadline);
        if (f.failed) {
            co_return f;
        }
        auto prep = co_await Collect(deadline);
        if (prep.failed) {
            co_return prep;
        }
        PQclear(prep.result);
        prepared_.insert(name_z);
    }

    int sent = 0;
    switch (kind) {
        case CallKind::kPrepared:
            sent = PQsendQueryPrepared(conn_, name_z.c_str(), n, values.data(), nullptr, nullptr, 0);
            break;
        case CallKind::kParams:
            sent = PQsendQueryParams(conn_, sql_z.c_str(), n, nullptr, values.data(), nullptr,
                                     nullptr, 0);
            break;
        case CallKind::kScript:
            sent = PQsendQuery(conn_, sql_z.c_str());
            break;
    }
    if (sent == 0) {
        co_return ConnectionFailure("send failed");
    }
    auto f = co_await Flush(deadline);
    if (f.failed) {
        co_return f;
    }
    co_return co_await Collect(deadline);
}

Task<PGresult*> PgConnection::NextResult(SteadyTime deadline, ExecOutcome& failure) {
    // What libpq has buffered first, then wait for the socket before reading: reading
    // before the answer can have arrived only costs a recv that fails with EAGAIN.
    for (;;) {
        if (PQisBusy(conn_) == 0) {
            co_return PQgetResult(conn_);
        }
        auto w = co_await Wait(stream_descriptor::wait_read, deadline);
        if (w != WaitResult::kReady) {
            failure = w == WaitResult::kTimeout ? Timeout() : ConnectionFailure("socket wait failed");
            co_return nullptr;
        }
        if (PQconsumeInput(conn_) == 0) {
            failure = ConnectionFailure("receive failed");
            co_return nullptr;
        }
    }
}

Task<std::vector<ExecOutcome>> PgConnection::ExecPipeline(const std::vector<PipelineCommand>& commands,
                                                          SteadyTime deadline) {
    std::vector<ExecOutcome> outs(commands.size());
    auto fail_all = [&outs](const ExecOutcome& o) {
        for (auto& x : outs) {
            PQclear(x.result);
            x = o;
        }
        return std::move(outs);
    };
    if (broken_ || PQstatus(conn_) != CONNECTION_OK) {
        co_return fail_all(ConnectionFailure("connection is broken"));
    }
    if (PQenterPipelineMode(conn_) == 0) {
        co_return fail_all(ConnectionFailure("cannot enter pipeline mode"));
    }
    // Send: a Parse for each statement new to this connection (once per name), then its
    // Bind/Execute; then one Sync. libpq copies everything into its output buffer.
    std::vector<int> prepares;  // command index per Parse sent, in order
    std::set<std::string, std::less<>> preparing;
    std::vector<const char*> values;
    for (std::size_t i = 0; i < commands.size(); ++i) {
        const PipelineCommand& c = commands[i];
        const std::string name_z(c.name);
        values.clear();
        for (const auto& p : *c.params) {
            values.push_back(p.is_null() ? nullptr : p.text().c_str());
        }
        const int n = static_cast<int>(values.size());
        bool ok = true;
        if (prepared_.find(c.name) == prepared_.end() && preparing.find(c.name) == preparing.end()) {
            const std::string sql_z(c.sql);
            ok = PQsendPrepare(conn_, name_z.c_str(), sql_z.c_str(), n, nullptr) != 0;
            preparing.insert(name_z);
            prepares.push_back(static_cast<int>(i));
        }
        ok = ok && PQsendQueryPrepared(conn_, name_z.c_str(), n, values.data(), nullptr, nullptr, 0) != 0;
        if (!ok) {
            co_return fail_all(ConnectionFailure("send failed"));
        }
    }
    if (PQpipelineSync(conn_) == 0) {
        co_return fail_all(ConnectionFailure("send failed"));
    }
    if (auto f = co_await Flush(deadline); f.failed) {
        co_return fail_all(f);
    }

    // Collect, in the order sent: each Parse's and each statement's results end with a null;
    // the Sync's result ends the pipeline.
    ExecOutcome failure;
    std::size_t next_prepare = 0;
    bool first_error_seen = false;
    auto absorb = [&](PGresult* res, ExecOutcome& out) {
        const auto st = PQresultStatus(res);
        if (st == PGRES_FATAL_ERROR || st == PGRES_BAD_RESPONSE) {
            if (!out.failed) {
                ExecOutcome e = ClassifyFailure(res, conn_);
                if (!first_error_seen) {
                    last_sqlstate_ = e.sqlstate;
                    last_error_detail_ = Trim(PQresultErrorMessage(res));
                    first_error_seen = true;
                }
                PQclear(out.result);
                out = std::move(e);
            }
            PQclear(res);
        } else if (st == PGRES_PIPELINE_ABORTED) {
            if (!out.failed) {
                PQclear(out.result);
                out = ExecOutcome{};
                out.failed = true;
                out.code = ErrorCode::kInternal;
                out.message = "not run: an earlier statement of the batch failed";
                out.error_type = "pipeline_aborted";
            }
            PQclear(res);
        } else if (!out.failed) {
            PQclear(out.result);
            out.result = res;
        } else {
            PQclear(res);
        }
    };
    for (std::size_t i = 0; i < commands.size(); ++i) {
        for (int pass = 0; pass < 2; ++pass) {
            const bool parse = pass == 0;
            if (parse && (next_prepare >= prepares.size() || prepares[next_prepare] != static_cast<int>(i))) {
                continue;
            }
            ExecOutcome parsed;
            ExecOutcome& out = parse ? parsed : outs[i];
            for (;;) {
                PGresult* res = co_await NextResult(deadline, failure);
                if (failure.failed) {
                    PQclear(parsed.result);
                    co_return fail_all(failure);
                }
                if (res == nullptr) {
                    break;
                }
                absorb(res, out);
            }
            if (parse) {
                ++next_prepare;
                if (parsed.failed) {
                    outs[i] = std::move(parsed);  // the statement itself reports the failure
                } else {
                    PQclear(parsed.result);
                    prepared_.insert(std::string(commands[i].name));
                }
            }
        }
    }
    for (int stray_nulls = 0;;) {
        PGresult* res = co_await NextResult(deadline, failure);
        if (failure.failed) {
            co_return fail_all(failure);
        }
        if (res == nullptr) {
            if (++stray_nulls > 2) {
                co_return fail_all(ConnectionFailure("pipeline out of step"));
            }
            continue;
        }
        const bool sync = PQresultStatus(res) == PGRES_PIPELINE_SYNC;
        PQclear(res);
        if (sync) {
            break;
        }
    }
    if (PQexitPipelineMode(conn_) == 0) {
        broken_ = true;  // not reusable; the outcomes are still right
    }
    for (auto& o : outs) {
        if (!o.failed && o.result == nullptr) {
            o.result = PQmakeEmptyPGresult(conn_, PGRES_COMMAND_OK);
        }
    }
    co_return outs;
}

bool PgConnection::ReusableAsIdle() const {
    return !broken_ && PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) == PQTRANS_IDLE;
}

bool PgConnection::LooksHealthy() {
    if (!ReusableAsIdle()) {
        return false;
    }
    pollfd p{PQsocket(conn_), POLLIN, 0};
    int n = ::poll(&p, 1, 0);
    if (n == 0) {
        return true;
    }
    // Nothing is expected on an idle connection (we never LISTEN): the server sent its FATAL
    // goodbye (restart, pg_terminate_backend) or closed the socket.
    broken_ = true;
    return false;
}

}  // namespace flowex::storage::detail
